"""Distinctive-gated convolution of the PTG-Fill refine network."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DistinctiveGatedConv2d(nn.Module):
    """``act(norm(conv(x) * sigmoid(hole_conv(x*(1-m)) + valid_conv(x*m)))) + residual(x)``.

    ``m`` is the one-channel known mask (1 = known) at the input's size. The
    residual is the identity when the shape is kept, else a kernel = stride
    convolution. ``plain=True`` drops the norm and activation (the last layer).
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

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.hole_conv2d(x * (1 - known)) + self.valid_conv2d(x * known))
        out = self.conv2d(x) * gate
        if self.norm is not None:
            out = F.silu(self.norm(out))
        return out + self.residual(x)
