"""A 3x3 convolution of a nearest-neighbour 2x upsampled image, done at the low resolution.

After a 2x nearest upsampling every 3x3 window covers only 2x2 distinct source
pixels, so each of the four output phases (row parity a, column parity b) is a
2x2 convolution of the low-resolution input with summed taps: 4 multiply-adds
per output where the plain convolution does 9. The four phase kernels are
stacked into one convolution with 4x the output channels (one large, efficient
call), whose outputs are then interleaved into the full-resolution result.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .layout import memory_format_of

# Which of a 3x3 kernel's rows (or columns) land on each of the two source rows
# (or columns) for an output of parity 0 and 1.
_TAPS = (((0,), (1, 2)), ((0, 1), (2,)))


def phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) -> (4*O, I, 2, 2): phase-major (a, b) = (0,0), (0,1), (1,0), (1,1)."""
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"expected a 3x3 kernel, got {tuple(weight.shape[-2:])}")
    phases = []
    for rows in _TAPS:
        for cols in _TAPS:
            kernel = torch.stack(
                [
                    torch.stack([weight[:, :, list(r)][:, :, :, list(c)].sum((2, 3)) for c in cols], -1)
                    for r in rows
                ],
                -2,
            )
            phases.append(kernel)
    return torch.cat(phases)


def conv3x3_of_upsampled(
    low: torch.Tensor, phases: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``conv2d(interpolate(low, scale_factor=2), weight, bias, padding=1)`` from
    ``phases = phase_kernels(weight)``, in ``low``'s memory format."""
    batch, _, height, width = low.shape
    out_channels = phases.shape[0] // 4
    stacked = F.conv2d(F.pad(low, (1, 1, 1, 1)), phases, None if bias is None else bias.repeat(4))
    if memory_format_of(low) == torch.channels_last:
        # Index in memory order (B, H, W, C): TensorIterator then copies whole pixels'
        # channel runs, 2.5x faster than through the (B, C, H, W) view.
        nhwc = torch.empty(batch, 2 * height, 2 * width, out_channels, dtype=stacked.dtype, device=low.device)
        grid = nhwc.view(batch, height, 2, width, 2, out_channels)
        source = stacked.permute(0, 2, 3, 1)
        for a in (0, 1):
            for b in (0, 1):
                k = 2 * a + b
                grid[:, :, a, :, b] = source[:, a : a + height, b : b + width, k * out_channels : (k + 1) * out_channels]
        return nhwc.permute(0, 3, 1, 2)
    out = torch.empty(batch, out_channels, 2 * height, 2 * width, dtype=stacked.dtype, device=low.device)
    # (B, C, 2H, 2W) seen as (B, C, H, 2, W, 2): phase (a, b) is [..., :, a, :, b].
    grid = out.unflatten(3, (width, 2)).unflatten(2, (height, 2))
    for a in (0, 1):
        for b in (0, 1):
            k = 2 * a + b
            grid[:, :, :, a, :, b] = stacked[
                :, k * out_channels : (k + 1) * out_channels, a : a + height, b : b + width
            ]
    return out
