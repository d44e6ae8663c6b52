"""How inference runs: autocast precision and compilation."""

from __future__ import annotations

import torch
from torch import nn

from .choices import PRECISIONS

AUTOCAST_DTYPES: dict[str, torch.dtype | None] = dict(zip(PRECISIONS, (None, torch.bfloat16, torch.float16)))


def compiled_for_inference(model: nn.Module) -> nn.Module:
    """``torch.compile`` with inductor's freezing: weights become constants it can fold
    and prepack. Each new input shape compiles again (tens of seconds on a CPU), so
    this pays off for many images of one working size."""
    return torch.compile(model, dynamic=False, options={"freezing": True})
