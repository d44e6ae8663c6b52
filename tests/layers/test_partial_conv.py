"""The decoders' partial convolution of cat([up(low), skip]), done at the low resolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptgfill_cli.layers.partial_conv import PartMask, PConvNormActiv, StablePartialConv2d


def _soft_mask(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    values = torch.rand(shape, generator=generator)
    return torch.where(values > 0.6, torch.ones_like(values), values * (values > 0.3))


@pytest.mark.parametrize("channels_last", [False, True])
def test_forward_upsampled_equals_upsampling_and_concatenating(channels_last: bool):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    block = PConvNormActiv(6 + 4, 5, n=2).eval()
    low, skip = torch.randn(2, 6, 5, 7, generator=g), torch.randn(2, 4, 10, 14, generator=g)
    low_mask = PartMask.single(_soft_mask((2, 1, 5, 7), g), 6)
    skip_mask = PartMask(_soft_mask((2, 2, 10, 14), g), (1, 3))  # a concatenated mask
    with torch.inference_mode():
        expected, expected_mask = block(
            torch.cat([F.interpolate(low, scale_factor=2.0), skip], 1),
            PartMask(F.interpolate(low_mask.values, scale_factor=2.0), (6,)).cat(skip_mask),
        )
        if channels_last:
            block.to(memory_format=torch.channels_last)
            low, skip = (t.contiguous(memory_format=torch.channels_last) for t in (low, skip))
        block.conv0.prepare_upsampled_input(6)
        got, got_mask = block.forward_upsampled(low, low_mask, skip, skip_mask)
    assert block.conv0.upsampled_phases is not None
    assert (got - expected).abs().max().item() < 1e-5
    assert torch.equal(got_mask.values, expected_mask.values)


def test_the_low_resolution_path_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="without bias"):
        StablePartialConv2d(8, 3, 3, padding=1, bias=True).prepare_upsampled_input(4)
    with pytest.raises(ValueError, match="stride 1"):
        StablePartialConv2d(8, 3, 3, stride=2, padding=1, bias=False).prepare_upsampled_input(4)


def test_forward_upsampled_under_torch_compile_gives_the_eager_result():
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    block = PConvNormActiv(6 + 4, 5, n=2).eval().to(memory_format=torch.channels_last)
    block.conv0.prepare_upsampled_input(6)
    low = torch.randn(1, 6, 5, 7, generator=g).contiguous(memory_format=torch.channels_last)
    skip = torch.randn(1, 4, 10, 14, generator=g).contiguous(memory_format=torch.channels_last)
    low_mask = PartMask.single(_soft_mask((1, 1, 5, 7), g), 6)
    skip_mask = PartMask.single(_soft_mask((1, 1, 10, 14), g), 4)
    traced = torch.compile(block.forward_upsampled, backend="aot_eager", fullgraph=True)
    with torch.inference_mode():
        expected, expected_mask = block.forward_upsampled(low, low_mask, skip, skip_mask)
        got, got_mask = traced(low, low_mask, skip, skip_mask)
    assert (got - expected).abs().max().item() < 1e-5
    assert torch.equal(got_mask.values, expected_mask.values)
