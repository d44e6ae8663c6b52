"""A 3x3 convolution of a nearest-upsampled image, computed at the low resolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptgfill_cli.layers.subpixel import as_phases, phase_kernels, upsampled_conv_phases, upsampled_times


def _low(channels_last: bool, channels: int = 5) -> torch.Tensor:
    low = torch.randn(2, channels, 7, 9, generator=torch.Generator().manual_seed(0))
    return low.contiguous(memory_format=torch.channels_last) if channels_last else low


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_phases_equal_upsampling_then_convolving(channels_last: bool, bias: bool):
    g = torch.Generator().manual_seed(1)
    low = _low(channels_last)
    weight = torch.randn(6, 5, 3, 3, generator=g)
    b = torch.randn(6, generator=g) if bias else None
    expected = F.conv2d(F.interpolate(low, scale_factor=2.0), weight, b, padding=1)
    got = upsampled_conv_phases(low, phase_kernels(weight), b)
    assert got.shape == (2, 6, 7, 2, 9, 2) and expected.shape == (2, 6, 14, 18)
    assert (got - as_phases(expected)).abs().max().item() < 1e-5
    # read through a dense tensor: the phases land on the right pixels
    dense = torch.zeros_like(expected)
    as_phases(dense).add_(got)
    assert (dense - expected).abs().max().item() < 1e-5


def test_as_phases_indexes_pixel_2y_plus_a_2x_plus_b():
    full = torch.arange(2 * 3 * 4 * 6.0).view(2, 3, 4, 6)
    phased = as_phases(full)
    assert phased.shape == (2, 3, 2, 2, 3, 2)
    assert phased[1, 2, 1, 0, 2, 1].item() == full[1, 2, 2, 5].item()
    assert phased.data_ptr() == full.data_ptr()  # a view, nothing copied


@pytest.mark.parametrize("channels_last", [False, True])
def test_upsampled_times_a_full_size_mask_keeps_the_layout(channels_last: bool):
    low = _low(channels_last)
    mask = (torch.rand(2, 1, 14, 18, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    got = upsampled_times(low, mask)
    assert torch.equal(got, F.interpolate(low, scale_factor=2.0) * mask)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_phase_kernels_sum_the_taps_that_meet_one_source_pixel():
    weight = torch.arange(9.0).view(1, 1, 3, 3)  # rows 0,1,2 = [0 1 2], [3 4 5], [6 7 8]
    phases = phase_kernels(weight)
    # phase (0, 0): source rows i-1 <- kernel row 0; i <- rows 1+2; same for columns
    assert phases[0, 0].tolist() == [[0.0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]]
    assert phases.shape == (4, 1, 2, 2) and phases.sum((1, 2, 3)).tolist() == [36.0] * 4
    with pytest.raises(ValueError, match="3x3"):
        phase_kernels(torch.zeros(1, 1, 5, 5))
