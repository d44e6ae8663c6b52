"""The PTG-Fill generator: coarse partial-conv U-Net, transformer bridger, gated refine net."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PTGFillConfig
from ..layers.bridger import TransformerBridger
from ..layers.gated_conv import DistinctiveGatedConv2d
from ..layers.partial_conv import PartMask, PConvNormActiv, StablePartialConv2d
from ..layers.subpixel import upsample2x


@dataclass
class GeneratorOutput:
    """Both outputs are full-size images in [0, 1]. The delivered result is the
    composite ``known * image + (1 - known) * refined``."""

    refined: torch.Tensor
    coarse: torch.Tensor


class PTGFillGenerator(nn.Module):
    """``forward(image, known)``: image (B, 3, H, W) in [0, 1], known (B, 1, H, W)
    with 1 = known pixel, 0 = hole; H and W multiples of ``config.size_multiple``.
    Hole pixels of ``image`` are ignored (the input is multiplied by the mask)."""

    def __init__(self, config: PTGFillConfig, mask_path: str = "compact") -> None:
        super().__init__()
        self.config = config
        self.channels_last = False  # set by prepare_for_inference
        self.mask_path = mask_path
        b = config.base_channels
        enc = (b, 2 * b, 4 * b, 8 * b, 8 * b)
        block = lambda i, o, s, n: PConvNormActiv(i, o, s, n, mask_path=mask_path)  # noqa: E731
        self.encoder1 = block(3, enc[0], 1, 1)
        self.encoder2 = block(enc[0], enc[1], 2, 2)
        self.encoder3 = block(enc[1], enc[2], 2, 2)
        self.encoder4 = block(enc[2], enc[3], 2, 2)
        self.encoder5 = block(enc[3], enc[4], 2, config.encoder5_convs)
        self.decoder5 = block(enc[4] + enc[3], enc[3], 1, 2)
        self.decoder4 = block(enc[3] + enc[2], enc[2], 1, 2)
        self.decoder3 = block(enc[2] + enc[1], enc[1], 1, 2)
        self.decoder2 = block(enc[1] + enc[0], enc[0], 1, 2)
        self.decoder1 = nn.Module()
        self.decoder1.conv0 = StablePartialConv2d(
            enc[0] + 3, 3, 3, padding=1, bias=True, mask_path=mask_path
        )

        self.pc2ftransformer = TransformerBridger(
            channels=(enc[0], enc[1], enc[2], enc[3]),
            patch_size=config.patch_size,
            patch_channels=config.patch_channels,
            layers=config.bridger_layers,
            heads=config.bridger_heads,
            ff_dim=config.bridger_ff_mult * config.token_dim,
            dropout=config.bridger_dropout,
            per_token=config.attention == "per-token",
        )

        r = config.refine_channels
        refine_in = 3 + self.pc2ftransformer.out_channels
        gated = DistinctiveGatedConv2d
        self.gatedconv1 = gated(refine_in, r, stride=2)
        self.gatedconv2 = gated(r, r)
        self.gatedconv3 = gated(r, r)
        self.gatedconv4 = gated(r, 2 * r, stride=2)
        self.gatedconv5 = gated(2 * r, 2 * r, dilation=2)
        self.gatedconv6 = gated(2 * r, 2 * r, dilation=2)
        self.gatedconv7 = gated(2 * r, 2 * r, dilation=2)
        self.gatedconv8 = gated(2 * r, 2 * r, dilation=2)
        self.gatedconv9 = gated(2 * r, r)
        self.gatedconv10 = gated(r, r)
        self.gatedconv11 = gated(r, r)
        self.gatedconv12 = gated(r, r, plain=True)
        self.to_rgb = nn.Module()
        self.to_rgb.conv1x1 = nn.Conv2d(r, 3, 3, padding=1)

    def prepare_for_inference(self, channels_last: bool = False) -> "PTGFillGenerator":
        """Eval mode, with the inference-only rewrites that leave the output as it is
        (to float rounding): each gated convolution's two-convolution form; the
        convolutions after a nearest 2x upsampling (decoders' first, refine layers 9 and
        12) run at the low resolution; with per-token attention the value and output
        projections folded into one matrix (the query/key projections are never
        computed) and the first layer's attention folded into the token projections.
        ``channels_last`` also moves the weights, and every forward's input, to the
        channels-last layout. Call again after changing the weights."""
        self.eval()
        self.channels_last = channels_last
        self.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        for module in self.modules():
            if isinstance(module, DistinctiveGatedConv2d):
                module.fuse()
        # Each decoder's upsampled input is the output of the block before it.
        for before, decoder in zip(
            (self.encoder5, self.decoder5, self.decoder4, self.decoder3),
            (self.decoder5, self.decoder4, self.decoder3, self.decoder2),
        ):
            decoder.conv0.prepare_upsampled_input(getattr(before, f"conv{before.n - 1}").out_channels)
        self.pc2ftransformer.fold_for_inference()
        return self

    def coarse_net(self, image: torch.Tensor, known: torch.Tensor):
        mask0 = F.interpolate(known, scale_factor=0.5)
        # The published code multiplies by a real 3-channel mask; "compact" keeps one channel.
        mask0 = PartMask.materialised(mask0, 3) if self.mask_path == "full" else PartMask.single(mask0, 3)
        e0 = F.interpolate(image, scale_factor=0.5)
        e1, m1 = self.encoder1(e0, mask0)
        e2, m2 = self.encoder2(e1, m1)
        e3, m3 = self.encoder3(e2, m2)
        e4, m4 = self.encoder4(e3, m3)
        e5, m5 = self.encoder5(e4, m4)
        # Each decoder sees cat([up(previous), skip]) with the masks alike.
        d4, n4 = self.decoder5.forward_upsampled(e5, m5, e4, m4)
        d3, n3 = self.decoder4.forward_upsampled(d4, n4, e3, m3)
        d2, n2 = self.decoder3.forward_upsampled(d3, n3, e2, m2)
        d1, n1 = self.decoder2.forward_upsampled(d2, n2, e1, m1)
        d0, _ = self.decoder1.conv0(torch.cat([d1, e0], 1), n1.cat(mask0))
        coarse = torch.sigmoid(upsample2x(d0))
        return coarse, [d1, d2, d3, d4]

    def refine_net(self, features: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        def known_at(size: tuple[int, int]) -> torch.Tensor:
            return known if tuple(known.shape[-2:]) == size else F.interpolate(known, size=size)

        x = features
        for i in range(1, 13):
            layer = getattr(self, f"gatedconv{i}")
            height, width = x.shape[-2:]
            if i in (9, 12):  # their input is the previous output upsampled 2x
                x = layer.forward_upsampled(x, known_at((2 * height, 2 * width)))
            else:
                x = layer(x, known_at((height, width)))
        return torch.sigmoid(self.to_rgb.conv1x1(x))

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> GeneratorOutput:
        multiple = self.config.size_multiple
        if image.shape[-2] % multiple or image.shape[-1] % multiple:
            raise ValueError(
                f"height and width must be multiples of {multiple}, got {tuple(image.shape[-2:])}"
            )
        if known.shape[1] != 1:
            known = known[:, :1]
        if self.channels_last and not self.training:
            image = image.contiguous(memory_format=torch.channels_last)
        image = image * known
        coarse, decoded = self.coarse_net(image, known)
        coarse_comp = image * known + coarse * (1 - known)
        bridged = self.pc2ftransformer(decoded)
        # The authors' refine input puts the bridger's channels first.
        refined = self.refine_net(torch.cat([bridged, coarse_comp], 1), known)
        return GeneratorOutput(refined=refined, coarse=coarse)
