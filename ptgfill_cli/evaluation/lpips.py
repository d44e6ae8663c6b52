"""LPIPS (Zhang et al., CVPR 2018), version 0.1 with the AlexNet trunk: the network, and
reading the published weight files without torchvision.

The distance between images ``x`` and ``y`` in [0, 1]: both go to [-1, 1], through the
v0.1 scaling layer and AlexNet's five ReLU outputs (``features[0:2]``, ``[2:5]``,
``[5:8]``, ``[8:10]``, ``[10:12]``); each feature map is unit-normalised over channels,
the squared difference is weighted per channel by a learned 1x1 convolution ("linear
head"), averaged over space, and the five layers are summed.

Two published files hold the weights, and this module reads them as they are:

- the trunk: torchvision's ImageNet AlexNet, ``alexnet-owt-7be5be79.pth`` (keys
  ``features.N.weight`` / ``features.N.bias``; the classifier is ignored);
- the linear heads: the LPIPS package's ``weights/v0.1/alex.pth`` (keys
  ``linK.model.1.weight``), also shipped inside torchmetrics as ``lpips_models/alex.pth``.

A whole LPIPS state dict as the ``lpips`` package saves it (``net.sliceK.N.*`` and
``linK.model.1.weight``) is read as well. Module names here equal the ``lpips``
package's, so such a file loads with ``strict=True``.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..errors import WeightsError, first_line
from ..weights.torch_files import read_torch_file
from ..hub.cache import torch_hub_checkpoint

BACKBONE_FILENAME = "alexnet-owt-7be5be79.pth"
BACKBONE_SHA256_PREFIX = "7be5be79"
HEADS_FILENAME = "alex.pth"
CHANNELS: tuple[int, ...] = (64, 192, 384, 256, 256)
# AlexNet ``features`` indices in each LPIPS slice (the ReLU closing each is its output).
SLICES: tuple[tuple[int, ...], ...] = ((0, 1), (2, 3, 4), (5, 6, 7), (8, 9), (10, 11))
# The published shapes of torchvision's AlexNet ``features`` convolutions.
BACKBONE_SHAPES: dict[int, tuple[int, int, int, int]] = {
    0: (64, 3, 11, 11), 3: (192, 64, 5, 5), 6: (384, 192, 3, 3), 8: (256, 384, 3, 3), 10: (256, 256, 3, 3),
}
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_NORM_EPS = 1e-10
_FEATURE_KEY = re.compile(r"(?:module\.)?features\.(\d+)\.(weight|bias)$")
_SLICE_KEY = re.compile(r"(?:module\.)?net\.slice(\d)\.(\d+)\.(weight|bias)$")
_HEAD_KEY = re.compile(r"(?:module\.)?lin(\d)\.model\.1\.weight$")


def _alexnet_layer(index: int) -> nn.Module:
    """Layer ``index`` of torchvision's ``alexnet().features`` (up to the last ReLU)."""
    layers = {
        0: lambda: nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        2: lambda: nn.MaxPool2d(kernel_size=3, stride=2),
        3: lambda: nn.Conv2d(64, 192, kernel_size=5, padding=2),
        5: lambda: nn.MaxPool2d(kernel_size=3, stride=2),
        6: lambda: nn.Conv2d(192, 384, kernel_size=3, padding=1),
        8: lambda: nn.Conv2d(384, 256, kernel_size=3, padding=1),
        10: lambda: nn.Conv2d(256, 256, kernel_size=3, padding=1),
    }
    return layers.get(index, lambda: nn.ReLU(inplace=False))()


class AlexNetSlices(nn.Module):
    """AlexNet's convolutional trunk cut after each ReLU, as LPIPS uses it."""

    def __init__(self) -> None:
        super().__init__()
        for number, indices in enumerate(SLICES, start=1):
            block = nn.Sequential()
            for index in indices:
                block.add_module(str(index), _alexnet_layer(index))
            self.add_module(f"slice{number}", block)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for number in range(1, len(SLICES) + 1):
            x = getattr(self, f"slice{number}")(x)
            outputs.append(x)
        return outputs


class LinearHead(nn.Module):
    """A 1x1 convolution to one channel, behind a dropout (``model.1`` is the convolution)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPSAlex(nn.Module):
    """LPIPS v0.1 with the AlexNet trunk; ``forward(x, y)`` gives one distance per image."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.net = AlexNetSlices()
        for number, channels in enumerate(CHANNELS):
            self.add_module(f"lin{number}", LinearHead(channels))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distances between images ``x`` and ``y`` (B, 3, H, W) in [0, 1]: a (B,) tensor."""
        features_x = self.net((2 * x - 1 - self.shift) / self.scale)
        features_y = self.net((2 * y - 1 - self.shift) / self.scale)
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for number, (fx, fy) in enumerate(zip(features_x, features_y)):
            difference = (_unit_normalise(fx) - _unit_normalise(fy)) ** 2
            total = total + getattr(self, f"lin{number}")(difference).mean(dim=(1, 2, 3))
        return total


def _unit_normalise(features: torch.Tensor) -> torch.Tensor:
    norm = torch.sqrt(torch.sum(features**2, dim=1, keepdim=True))
    return features / (norm + _NORM_EPS)


# ---------------------------------------------------------------------------
# Weight files


@dataclass(frozen=True)
class LPIPSWeightParts:
    """What one weights file provides, already under this module's key names."""

    path: Path
    backbone: dict[str, torch.Tensor]
    heads: dict[str, torch.Tensor]


def read_weight_parts(path: str | Path) -> LPIPSWeightParts:
    """Read a trunk file, a heads file or a whole LPIPS state dict (``.pth`` or ``.safetensors``)
    and rename its keys to this module's. Raises WeightsError for a file that holds neither."""
    path = Path(path)
    state = _read_state_dict(path)
    backbone: dict[str, torch.Tensor] = {}
    heads: dict[str, torch.Tensor] = {}
    slice_of = {index: number for number, indices in enumerate(SLICES, start=1) for index in indices}
    for key, value in state.items():
        if match := _FEATURE_KEY.fullmatch(key):
            index = int(match.group(1))
            if index in slice_of:
                backbone[f"net.slice{slice_of[index]}.{index}.{match.group(2)}"] = value
        elif match := _SLICE_KEY.fullmatch(key):
            backbone[f"net.slice{match.group(1)}.{match.group(2)}.{match.group(3)}"] = value
        elif match := _HEAD_KEY.fullmatch(key):
            heads[f"lin{match.group(1)}.model.1.weight"] = value
    if not backbone and not heads:
        sample = ", ".join(list(state)[:3]) or "no tensors"
        raise WeightsError(
            f"{path}: neither AlexNet trunk weights (features.N.*) nor LPIPS heads (linK.model.1.weight); "
            f"its keys start {sample}"
        )
    return LPIPSWeightParts(path, backbone, heads)


def load_lpips(files: Sequence[str | Path], device: str | torch.device = "cpu") -> LPIPSAlex:
    """An LPIPSAlex with every weight taken from ``files`` (trunk and heads, in any number of
    files). Raises WeightsError when a weight is missing or has the wrong shape."""
    parts = [read_weight_parts(path) for path in files]
    state: dict[str, torch.Tensor] = {}
    for part in parts:
        state.update(part.backbone)
        state.update(part.heads)
    model = LPIPSAlex()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        names = ", ".join(str(part.path) for part in parts)
        raise WeightsError(f"LPIPS weights from {names} lack {len(missing)} tensors, e.g. {missing[0]}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"LPIPS weight {key}: shape {tuple(state[key].shape)} in the file, {tuple(tensor.shape)} expected"
            )
    model.load_state_dict({key: state[key].float() for key in expected}, strict=True)
    return model.to(torch.device(device))


def bundled_heads_file() -> Path | None:
    """The published v0.1 AlexNet heads as installed by the ``lpips`` or ``torchmetrics``
    packages, found without importing them (both would import torchvision)."""
    for package, relative in (("lpips", ("weights", "v0.1", HEADS_FILENAME)),
                              ("torchmetrics", ("functional", "image", "lpips_models", HEADS_FILENAME))):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            candidate = Path(location).joinpath(*relative)
            if candidate.is_file():
                return candidate
    return None


def cached_backbone_file() -> Path | None:
    """torchvision's AlexNet file where ``torch.hub`` caches downloads, if it is there."""
    candidate = torch_hub_checkpoint(BACKBONE_FILENAME)
    return candidate if candidate.is_file() else None


def _read_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    if path.suffix == ".safetensors" and path.is_file():
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as error:  # safetensors raises its own error types for a bad header
            raise WeightsError(f"{path}: cannot read weights ({first_line(error)})") from None
    state = read_torch_file(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    return state
