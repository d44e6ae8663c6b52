"""The channels-last instance norm against torch's."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ptgfill_cli.layers.norm import instance_norm


def _norm(channels: int) -> nn.InstanceNorm2d:
    torch.manual_seed(0)
    norm = nn.InstanceNorm2d(channels, affine=True)
    nn.init.normal_(norm.weight, 1.0, 0.3)
    nn.init.normal_(norm.bias)
    return norm


@pytest.mark.parametrize("batch", [1, 3])
def test_channels_last_input_gives_torch_values_in_channels_last(batch: int):
    norm = _norm(8)
    x = torch.randn(batch, 8, 20, 36) * 4 + 3
    with torch.inference_mode():
        ours = instance_norm(x.contiguous(memory_format=torch.channels_last), norm)
        theirs = norm(x)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    assert (ours - theirs).abs().max().item() < 1e-5
    # each image normalised with its own statistics, not the batch's
    assert ours.mean(dim=(2, 3)).sub(norm.bias).abs().max().item() < 1e-4


def test_gradients_flow_through_the_torch_path():
    norm = _norm(4)
    x = torch.randn(2, 4, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_()
    instance_norm(x, norm).square().sum().backward()
    assert x.grad is not None and norm.weight.grad is not None
