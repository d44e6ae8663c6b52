"""SN-PatchGAN discriminator as PTG-Fill uses it."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from ..config import PTGFillConfig


class SNPatchGANDiscriminator(nn.Module):
    """Six spectral-normalised k5 convolutions (LeakyReLU 0.2 then InstanceNorm after
    each), a spectral-normalised 1x1 convolution to one channel and a sigmoid.

    Input: the image and its known mask (1 = known), concatenated to 4 channels.
    Layer indices match the authors' ``layers.N`` keys.
    """

    def __init__(self, config: PTGFillConfig) -> None:
        super().__init__()
        c = config.disc_channels
        widths = (c, 2 * c, 4 * c, 4 * c, 4 * c, 4 * c)
        layers: list[nn.Module] = []
        in_channels = 4
        for i, width in enumerate(widths):
            conv = nn.Conv2d(in_channels, width, 5, stride=1 if i == 0 else 2, padding=2)
            layers += [spectral_norm(conv), nn.LeakyReLU(0.2), nn.InstanceNorm2d(width, affine=True)]
            in_channels = width
        layers += [spectral_norm(nn.Conv2d(in_channels, 1, 1)), nn.Sigmoid()]
        self.layers = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([image, known[:, :1]], 1))
