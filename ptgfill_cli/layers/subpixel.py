"""A 3x3 convolution of a nearest-neighbour 2x upsampled image, done at the low resolution.

After a 2x nearest upsampling every 3x3 window covers only 2x2 distinct source
pixels, so each of the four output phases (row parity a, column parity b) is a
2x2 convolution of the low-resolution input with summed taps: 4 multiply-adds
per output where the plain convolution does 9. The four phase kernels are
stacked into one convolution with 4x the output channels (one large, efficient
call). Its output is read as the full-resolution result through a strided view
(``as_phases`` on both sides), so the operation that consumes it does the
interleaving on the way: an interleaving copy of a 128-channel 512x512 tensor cost
as much as the convolution's own memory traffic.
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


def traced() -> bool:
    """Whether the forward is being traced (``torch.compile`` or an ONNX export) rather than
    run eagerly: tracers cannot follow ``out=`` writes into strided views, so the layers
    take their plain, fusable form then."""
    return torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling, the published network's only kind."""
    return F.interpolate(x, scale_factor=2.0)


def as_phases(full: torch.Tensor) -> torch.Tensor:
    """View (B, C, 2H, 2W) as (B, C, H, 2, W, 2): [..., y, a, x, b] is pixel (2y+a, 2x+b)."""
    batch, channels, height, width = full.shape
    return full.unflatten(3, (width // 2, 2)).unflatten(2, (height // 2, 2))


def interleaved(phased: torch.Tensor) -> torch.Tensor:
    """The (B, C, 2H, 2W) image of a (B, C, H, 2, W, 2) phase view (:func:`as_phases`).

    For ``torch.compile`` only: there the reshape is index arithmetic that inductor fuses
    into the consuming kernel, whereas in-place updates through a 6-D view make it
    materialise a 6-D buffer in its own layout and transpose it back (the last refine
    layer's kernel at 512x512 took 46 ms that way, 18 ms this way). In eager mode it is a
    copy: read the view instead."""
    batch, channels, height, _, width, _ = phased.shape
    return phased.reshape(batch, channels, 2 * height, 2 * width)


def upsampled_conv_phases(
    low: torch.Tensor, phases: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``as_phases(conv2d(interpolate(low, scale_factor=2), weight, bias, padding=1))`` from
    ``phases = phase_kernels(weight)``, as a strided view of the stacked low-resolution
    convolution: nothing is interleaved until an operation reads it."""
    batch, _, height, width = low.shape
    out_channels = phases.shape[0] // 4
    # padding 1 around a 2x2 kernel: (H+1) x (W+1) outputs, one per pair of source rows/columns
    stacked = F.conv2d(low, phases, None if bias is None else bias.repeat(4), padding=1)
    if torch.onnx.is_in_onnx_export():  # ONNX has no strided views: gather the phases by slicing
        shifted = ((stacked[:, :, :-1, :-1], stacked[:, :, :-1, 1:]), (stacked[:, :, 1:, :-1], stacked[:, :, 1:, 1:]))
        rows = [
            torch.stack([shifted[a][b][:, (2 * a + b) * out_channels : (2 * a + b + 1) * out_channels] for b in (0, 1)], -1)
            for a in (0, 1)
        ]
        return torch.stack(rows, 3)
    # Phase (a, b) of output pixel (y, x) is channel block 2a+b of stacked pixel (y+a, x+b):
    # an address linear in a and b, so all four phases are one strided view.
    sb, sc, sy, sx = stacked.stride()
    return stacked.as_strided(
        (batch, out_channels, height, 2, width, 2),
        (sb, sc, sy, 2 * out_channels * sc + sy, sx, out_channels * sc + sx),
    )


def upsampled_times(low: torch.Tensor, full: torch.Tensor) -> torch.Tensor:
    """``interpolate(low, scale_factor=2) * full`` without the upsampled tensor: ``full``
    (one channel or ``low``'s) at twice ``low``'s size, the result in ``low``'s layout."""
    if traced():
        # Tracers cannot follow out= into a strided view; inductor fuses these two anyway.
        return upsample2x(low).mul_(full)
    batch, channels, height, width = low.shape
    out = torch.empty(
        batch, channels, 2 * height, 2 * width, dtype=low.dtype, device=low.device,
        memory_format=memory_format_of(low),
    )
    torch.mul(low[:, :, :, None, :, None], as_phases(full), out=as_phases(out))
    return out
