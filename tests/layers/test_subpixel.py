"""A 3x3 convolution of a nearest-upsampled image, computed at the low resolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptgfill_cli.layers.subpixel import conv3x3_of_upsampled, phase_kernels


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_equals_upsampling_then_convolving(channels_last: bool, bias: bool):
    g = torch.Generator().manual_seed(0)
    low = torch.randn(2, 5, 7, 9, generator=g)
    weight = torch.randn(6, 5, 3, 3, generator=g)
    b = torch.randn(6, generator=g) if bias else None
    if channels_last:
        low = low.contiguous(memory_format=torch.channels_last)
    expected = F.conv2d(F.interpolate(low, scale_factor=2.0), weight, b, padding=1)
    got = conv3x3_of_upsampled(low, phase_kernels(weight), b)
    assert got.shape == expected.shape == (2, 6, 14, 18)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert (got - expected).abs().max().item() < 1e-5


def test_phase_kernels_sum_the_taps_that_meet_one_source_pixel():
    weight = torch.arange(9.0).view(1, 1, 3, 3)  # rows 0,1,2 = [0 1 2], [3 4 5], [6 7 8]
    phases = phase_kernels(weight)
    # phase (0, 0): source rows i-1 <- kernel row 0; i <- rows 1+2; same for columns
    assert phases[0, 0].tolist() == [[0.0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]]
    assert phases.shape == (4, 1, 2, 2) and phases.sum((1, 2, 3)).tolist() == [36.0] * 4
    with pytest.raises(ValueError, match="3x3"):
        phase_kernels(torch.zeros(1, 1, 5, 5))
