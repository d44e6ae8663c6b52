"""Which memory layout a tensor is in, so that derived tensors can follow it."""

from __future__ import annotations

import torch


def memory_format_of(tensor: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a channels-last 4-D tensor, else ``torch.contiguous_format``
    (a tensor that is both, e.g. with one channel, counts as contiguous)."""
    if tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last) and not tensor.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format
