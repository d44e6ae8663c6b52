"""Distinctive-gated convolution of the PTG-Fill refine network."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .inference_form import InferenceForm
from .layout import memory_format_of
from .norm import instance_norm
from .subpixel import (
    as_phases, interleaved, phase_kernels, traced, upsample2x, upsampled_conv_phases, upsampled_times,
)


class DistinctiveGatedConv2d(InferenceForm, nn.Module):
    """``act(norm(conv(x) * sigmoid(hole_conv(x*(1-m)) + valid_conv(x*m)))) + residual(x)``.

    ``m`` is the one-channel known mask (1 = known) at the input's size. The
    residual is the identity when the shape is kept, else a kernel = stride
    convolution. ``plain=True`` drops the norm and activation (the last layer).

    For inference, :meth:`fuse` rewrites the gate's two convolutions as
    ``hole_conv(x) + (valid_conv - hole_conv)(x*m)`` and stacks ``hole_conv`` onto
    ``conv``: two convolutions instead of three, the same arithmetic, and no
    ``x*(1-m)`` pass. On a nearest 2x upsampling, :meth:`forward_upsampled` also runs
    the stacked convolution at the low resolution (``subpixel``: 4 multiply-adds per
    output instead of 9) and never builds the upsampled input.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1,
        plain: bool = False,
    ) -> None:
        super().__init__()
        conv = dict(kernel_size=3, stride=stride, padding=dilation, dilation=dilation)
        self.conv2d = nn.Conv2d(in_channels, out_channels, **conv)
        self.hole_conv2d = nn.Conv2d(in_channels, out_channels, **conv)
        self.valid_conv2d = nn.Conv2d(in_channels, out_channels, **conv)
        self.norm = None if plain else nn.InstanceNorm2d(out_channels, affine=True)
        if in_channels != out_channels or stride != 1:
            self.residual: nn.Module = nn.Conv2d(in_channels, out_channels, stride, stride)
        else:
            self.residual = nn.Identity()
        # literal=True activates as the published code does, x * sigmoid(x) (benchmarks).
        self.literal = False
        # Set by fuse(); not part of the state dict, dropped on load or train().
        self.register_buffer("fused_weight", None, persistent=False)
        self.register_buffer("fused_bias", None, persistent=False)
        self.register_buffer("known_weight", None, persistent=False)
        self.register_buffer("fused_phases", None, persistent=False)

    def fuse(self) -> None:
        """Precompute the two-convolution form used in eval mode. Call again after
        changing the weights or the memory format."""
        with torch.no_grad():
            layout = memory_format_of(self.conv2d.weight)
            self.fused_weight = torch.cat([self.conv2d.weight, self.hole_conv2d.weight]).contiguous(
                memory_format=layout
            )
            self.fused_bias = torch.cat(
                [self.conv2d.bias, self.hole_conv2d.bias + self.valid_conv2d.bias]
            )
            self.known_weight = (self.valid_conv2d.weight - self.hole_conv2d.weight).contiguous(
                memory_format=layout
            )
            if self.conv2d.stride == (1, 1) and self.conv2d.dilation == (1, 1):
                self.fused_phases = phase_kernels(self.fused_weight).contiguous(memory_format=layout)

    def drop_inference_form(self) -> None:
        self.fused_weight = self.fused_bias = self.known_weight = self.fused_phases = None

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        if self.fused_weight is not None and not self.training:
            c = self.conv2d
            both = F.conv2d(x, self.fused_weight, self.fused_bias, c.stride, c.padding, c.dilation)
            gate = F.conv2d(x * known, self.known_weight, None, c.stride, c.padding, c.dilation)
            out = self._gated(gate, both)
        else:
            gate = torch.sigmoid(self.hole_conv2d(x * (1 - known)) + self.valid_conv2d(x * known))
            out = self.conv2d(x) * gate
        return self._activate(out) + self.residual(x)

    def forward_upsampled(self, low: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """``forward(interpolate(low, scale_factor=2), known)``, ``known`` at the upsampled size."""
        if self.fused_phases is None or self.training:
            return self(upsample2x(low), known)
        c = self.conv2d
        gate = F.conv2d(upsampled_times(low, known), self.known_weight, None, 1, c.padding)
        both = upsampled_conv_phases(low, self.fused_phases, self.fused_bias)
        if traced():
            out = self._activate(self._gated(gate, interleaved(both)))
            return out + upsample2x(self.residual(low))
        self._gated(as_phases(gate), both)
        out = self._activate(gate)
        # A 1x1 stride-1 residual commutes with the upsampling: run it at the low size.
        as_phases(out).add_(self.residual(low)[:, :, :, None, :, None])
        return out

    def _gated(self, gate: torch.Tensor, both: torch.Tensor) -> torch.Tensor:
        """``x * sigmoid(hole + valid)`` in place on ``gate`` (the known-pixel term), with
        ``both`` the stacked convolution: ``x`` then the hole term and both biases. In place
        on the dense tensor: a product with the strided channel slices would come out in
        whatever layout TensorIterator picks for it."""
        channels = self.conv2d.out_channels
        torch.sigmoid_(gate.add_(both[:, channels:]))
        return gate.mul_(both[:, :channels])

    def _activate(self, out: torch.Tensor) -> torch.Tensor:
        if self.norm is None:
            return out
        out = instance_norm(out, self.norm)
        return out * torch.sigmoid(out) if self.literal else F.silu(out, inplace=not out.requires_grad)
