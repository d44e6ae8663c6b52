"""Stable partial convolution with the smooth mask update of PTG-Fill.

Masks here are 1 = known, 0 = hole, soft after the first layer.

A partial convolution's mask has as many channels as its input features, but
those channels are never independent: every layer's mask update is the same
for all output channels, and a concatenation of two feature maps concatenates
two such constant-across-channels masks. So a mask is stored *compactly*: one
channel per concatenated part, with the part widths carried alongside
(:class:`PartMask`). The window sum that the published code computes with a
full-width all-ones convolution becomes a one-output-channel convolution of the
compact mask weighted by each part's width. ``mask_path="full"`` keeps the
published full-width computation, for reference and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .inference_form import InferenceForm
from .layout import memory_format_of
from .norm import instance_norm
from .subpixel import as_phases, interleaved, phase_kernels, traced, upsample2x, upsampled_conv_phases

_EPS = 1e-8


@dataclass(frozen=True)
class PartMask:
    """A mask of shape (B, P, H, W): channel p stands for ``widths[p]`` identical channels."""

    values: torch.Tensor
    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.values.shape[1] != len(self.widths):
            raise ValueError(
                f"mask has {self.values.shape[1]} channels for {len(self.widths)} parts"
            )

    @property
    def channels(self) -> int:
        return sum(self.widths)

    @classmethod
    def single(cls, values: torch.Tensor, width: int) -> "PartMask":
        return cls(values, (width,))

    def cat(self, other: "PartMask") -> "PartMask":
        return PartMask(torch.cat([self.values, other.values], 1), self.widths + other.widths)

    def resize(self, size: tuple[int, int]) -> "PartMask":
        return PartMask(F.interpolate(self.values, size=size), self.widths)

    @property
    def full_width(self) -> bool:
        """One part per channel: the materialised mask of the published code."""
        return len(self.widths) == self.values.shape[1] and all(w == 1 for w in self.widths)

    @classmethod
    def materialised(cls, values: torch.Tensor, width: int) -> PartMask:
        """A one-channel mask repeated to ``width`` real channels, as the published code has it."""
        return cls(values.expand(-1, width, -1, -1).contiguous(), (1,) * width)

    def expand(self) -> torch.Tensor:
        """The full-width mask the published code carries."""
        if self.full_width:
            return self.values
        if len(self.widths) == 1:
            return self.values.expand(-1, self.widths[0], -1, -1)
        return torch.cat(
            [self.values[:, p : p + 1].expand(-1, w, -1, -1) for p, w in enumerate(self.widths)],
            1,
        )

    def apply(self, features: torch.Tensor) -> torch.Tensor:
        """features * mask, broadcasting each part's channel over its width."""
        if len(self.widths) == 1 or self.full_width:
            return features * self.values
        parts = torch.split(features, list(self.widths), dim=1)
        return torch.cat([f * self.values[:, p : p + 1] for p, f in enumerate(parts)], 1)

    def channel_mean(self) -> torch.Tensor:
        if len(self.widths) == 1:
            return self.values
        if self.full_width:
            return self.values.mean(1, keepdim=True)
        weights = self.values.new_tensor(self.widths).view(1, -1, 1, 1)
        return (self.values * weights).sum(1, keepdim=True) / self.channels


class StablePartialConv2d(InferenceForm, nn.Conv2d):
    """Partial convolution with PTG-Fill's smooth ("stable") mask update.

    ``forward(x, mask)`` takes features (B, C_in, H, W) and a :class:`PartMask`
    whose widths add up to C_in, and returns the output features and the next
    layer's mask (one part of width C_out).
    """

    def __init__(self, *args, mask_path: str = "compact", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if mask_path not in ("compact", "full"):
            raise ValueError(f"mask_path must be 'compact' or 'full', not {mask_path!r}")
        self.mask_path = mask_path
        self.window_size = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        # Set by prepare_upsampled_input(); not in the state dict, dropped on load or train().
        self.register_buffer("upsampled_phases", None, persistent=False)
        self.register_buffer("skip_weight", None, persistent=False)

    def prepare_upsampled_input(self, upsampled_channels: int) -> None:
        """For :meth:`forward_upsampled` in eval mode: split the kernel into the part that
        sees the upsampled input (as subpixel phase kernels) and the part that sees the
        skip connection. Call again after changing the weights or the memory format."""
        if self.bias is not None or self.kernel_size != (3, 3) or self.stride != (1, 1) or self.dilation != (1, 1):
            raise ValueError("the low-resolution path needs a 3x3, stride 1, undilated conv without bias")
        weight = self.weight.detach()
        layout = memory_format_of(weight)
        self.upsampled_phases = phase_kernels(weight[:, :upsampled_channels]).contiguous(memory_format=layout)
        self.skip_weight = weight[:, upsampled_channels:].contiguous(memory_format=layout)

    def drop_inference_form(self) -> None:
        self.upsampled_phases = self.skip_weight = None

    def _window_sum(self, mask: PartMask) -> torch.Tensor:
        """Sum of the full-width mask over each output window, as (B, 1, H', W')."""
        kh, kw = self.kernel_size
        weights = mask.values.new_tensor(mask.widths).view(1, -1, 1, 1).expand(1, -1, kh, kw)
        return F.conv2d(
            mask.values, weights.contiguous(), None, self.stride, self.padding, self.dilation
        )

    def _mask_terms(self, mask: PartMask) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(valid, ratio, next mask values) of the published mask update; all (B, 1, H', W'),
        or (B, C_out, H', W') on the full-width path, which computes them as the published
        code does: for every output channel, from a mask with a real channel per input."""
        if mask.channels != self.in_channels:
            raise ValueError(f"mask covers {mask.channels} channels, layer has {self.in_channels}")
        if self.mask_path == "full":
            return self._published_mask_terms(mask.expand())
        with torch.no_grad():
            update = self._window_sum(mask)
            valid = update.clamp(0, 1)
            ratio = self.window_size / (update + _EPS) * valid
            known_everywhere = (mask.channel_mean() == 1).to(update.dtype)
            known_everywhere = F.interpolate(known_everywhere, size=update.shape[-2:])
            next_mask = (known_everywhere + update / self.window_size).clamp(0, 1)
        return valid, ratio, next_mask

    def _published_mask_terms(self, full_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        known_everywhere = (full_mask.mean(1, keepdim=True) == 1).to(full_mask.dtype)
        with torch.no_grad():
            ones = full_mask.new_ones(self.out_channels, self.in_channels, *self.kernel_size)
            update = F.conv2d(full_mask, ones, None, self.stride, self.padding, self.dilation)
            ratio = self.window_size / (update + _EPS)
            valid = torch.clamp(update, 0, 1)
            ratio = torch.mul(ratio, valid)
        known_everywhere = F.interpolate(known_everywhere, size=update.shape[-2:])
        return valid, ratio, torch.clamp(known_everywhere + update / self.window_size, 0, 1)

    def forward_upsampled(
        self, low: torch.Tensor, low_mask: PartMask, skip: torch.Tensor, skip_mask: PartMask
    ) -> tuple[torch.Tensor, PartMask]:
        """``forward(cat([up(low), skip]), up(low_mask).cat(skip_mask))`` with ``up`` the
        nearest 2x upsampling. Once prepared (:meth:`prepare_upsampled_input`), in eval
        mode, the upsampled part is convolved at the low resolution: since
        ``up(low) * up(m) == up(low * m)``, nothing is upsampled or concatenated."""
        mask = PartMask(upsample2x(low_mask.values), low_mask.widths).cat(skip_mask)
        if self.upsampled_phases is None or self.training or self.mask_path == "full":
            return self.forward(torch.cat([upsample2x(low), skip], 1), mask)
        _, ratio, next_mask = self._mask_terms(mask)
        raw = F.conv2d(skip_mask.apply(skip), self.skip_weight, None, 1, self.padding)
        upsampled = upsampled_conv_phases(low_mask.apply(low), self.upsampled_phases)
        if traced():
            raw = raw + interleaved(upsampled)
        else:
            as_phases(raw).add_(upsampled)
        return raw.mul_(ratio), PartMask.single(next_mask, self.out_channels)

    def forward(self, x: torch.Tensor, mask: PartMask) -> tuple[torch.Tensor, PartMask]:  # type: ignore[override]
        valid, ratio, next_mask = self._mask_terms(mask)
        masked = x * mask.expand() if self.mask_path == "full" else mask.apply(x)
        raw = super().forward(masked)
        if self.bias is not None:
            bias = self.bias.view(1, -1, 1, 1)
            out = ((raw - bias) * ratio + bias) * valid
        else:
            out = raw * ratio
        if self.mask_path == "full":
            return out, PartMask(next_mask, (1,) * self.out_channels)
        return out, PartMask.single(next_mask, self.out_channels)


class PConvNormActiv(nn.Module):
    """n x (partial conv k3 -> InstanceNorm(affine) -> swish); the first conv has the stride.

    Parameters are named ``conv{i}`` / ``norm{i}`` as in the authors' checkpoints.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, n: int = 1,
        mask_path: str = "compact",
    ) -> None:
        super().__init__()
        self.n = n
        for i in range(n):
            self.add_module(
                f"conv{i}",
                StablePartialConv2d(
                    in_channels if i == 0 else out_channels, out_channels, 3,
                    stride=stride if i == 0 else 1, padding=1, bias=False, mask_path=mask_path,
                ),
            )
            self.add_module(f"norm{i}", nn.InstanceNorm2d(out_channels, affine=True))
        # The published code's swish is x * sigmoid(x): kept on its (full-width) path.
        self.literal_swish = mask_path == "full"

    def forward(self, x: torch.Tensor, mask: PartMask) -> tuple[torch.Tensor, PartMask]:
        return self._after_first_conv(*self.conv0(x, mask))

    def forward_upsampled(
        self, low: torch.Tensor, low_mask: PartMask, skip: torch.Tensor, skip_mask: PartMask
    ) -> tuple[torch.Tensor, PartMask]:
        """The block on ``cat([up(low), skip])``; see ``StablePartialConv2d.forward_upsampled``."""
        return self._after_first_conv(*self.conv0.forward_upsampled(low, low_mask, skip, skip_mask))

    def _after_first_conv(self, x: torch.Tensor, mask: PartMask) -> tuple[torch.Tensor, PartMask]:
        """Norm and activation of conv0's output, then the following convs."""
        for i in range(self.n):
            if i > 0:
                x, mask = getattr(self, f"conv{i}")(x, mask)
            x = instance_norm(x, getattr(self, f"norm{i}"))
            x = x * torch.sigmoid(x) if self.literal_swish else F.silu(x, inplace=not x.requires_grad)
        return x, mask
