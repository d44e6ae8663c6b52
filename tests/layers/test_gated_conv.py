"""The distinctive-gated convolution's inference forms against its training form."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptgfill_cli.layers.gated_conv import DistinctiveGatedConv2d


def _layer(in_channels: int, out_channels: int, plain: bool, seed: int, **kwargs) -> DistinctiveGatedConv2d:
    torch.manual_seed(seed)
    layer = DistinctiveGatedConv2d(in_channels, out_channels, plain=plain, **kwargs)
    with torch.no_grad():  # biases and norm weights away from their zero/one defaults
        for parameter in layer.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return layer.eval()


def _inputs(channels: int, height: int, width: int, channels_last: bool, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, height, width, generator=g)
    known = (torch.rand(2, 1, height, width, generator=g) > 0.4).float()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, known


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape", [(6, 6, True), (6, 6, False), (8, 5, False)])  # identity / conv residual
def test_upsampled_form_equals_gating_the_upsampled_input(channels_last: bool, shape):
    in_channels, out_channels, plain = shape
    layer = _layer(in_channels, out_channels, plain, seed=1)
    low, _ = _inputs(in_channels, 6, 10, channels_last, seed=2)
    _, known = _inputs(1, 12, 20, False, seed=3)
    with torch.inference_mode():
        expected = layer(F.interpolate(low, scale_factor=2.0), known)  # unfused: three convolutions
        layer.fuse()
        assert layer.fused_phases is not None
        got = layer.forward_upsampled(low, known)
        fused = layer(F.interpolate(low, scale_factor=2.0), known)
    assert got.shape == expected.shape == (2, out_channels, 12, 20)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert (got - expected).abs().max().item() < 1e-5
    assert (fused - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize("stride,dilation", [(2, 1), (1, 2)])
def test_fused_form_with_stride_or_dilation_has_no_subpixel_path(stride: int, dilation: int):
    layer = _layer(5, 7, plain=False, seed=4, stride=stride, dilation=dilation)
    x, known = _inputs(5, 12, 16, True, seed=5)
    with torch.inference_mode():
        expected = layer(x, known)
        layer.fuse()
        got = layer(x, known)
    assert layer.fused_phases is None
    assert (got - expected).abs().max().item() < 1e-5


def test_upsampled_form_while_training_upsamples_and_keeps_gradients():
    layer = _layer(4, 4, plain=False, seed=6).train()
    low, _ = _inputs(4, 4, 4, False, seed=7)
    _, known = _inputs(1, 8, 8, False, seed=8)
    low.requires_grad_(True)
    layer.forward_upsampled(low, known).sum().backward()
    assert low.grad is not None and layer.valid_conv2d.weight.grad is not None


@pytest.mark.parametrize("shape", [(6, 6, True), (8, 5, False)])
def test_upsampled_form_under_torch_compile_gives_the_eager_result(shape):
    """The traced branch interleaves the phases densely; aot_eager traces it as inductor
    would (``torch.compiler.is_compiling()`` is true) without compiling C++."""
    in_channels, out_channels, plain = shape
    layer = _layer(in_channels, out_channels, plain, seed=9)
    layer.fuse()
    low, _ = _inputs(in_channels, 6, 10, True, seed=10)
    _, known = _inputs(1, 12, 20, False, seed=11)
    traced = torch.compile(layer.forward_upsampled, backend="aot_eager", fullgraph=True)
    with torch.inference_mode():
        expected = layer.forward_upsampled(low, known)
        got = traced(low, known)
    assert (got - expected).abs().max().item() < 1e-5
