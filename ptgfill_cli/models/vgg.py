"""VGG16 feature slices (pool1, pool2, pool3) for the perceptual and style losses.

The network is defined here, with torchvision's layer indices, so that the
published ImageNet weights file (``vgg16-397923af.pth``) loads without
importing torchvision. Inputs are images in [0, 1] with no normalisation, as
the authors train.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from torch import nn

from ..errors import WeightsError, first_line
from ..weights.torch_files import read_torch_file

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
# torch.hub's check_hash compares the file's sha256 with this prefix of its name.
VGG16_SHA256_PREFIX = "397923af"
_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M")
SLICES = ((0, 5), (5, 10), (10, 17))
_FEATURE_KEY = re.compile(r"features\.\d+\.(weight|bias)")


class VGG16Features(nn.Module):
    """``forward(x)`` returns the pool1, pool2 and pool3 activations."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
                channels = item
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for start, stop in SLICES:
            for index in range(start, stop):
                x = self.features[index](x)
            outputs.append(x)
        return outputs


def load_vgg16_features(weights: str | Path | None = None, download: bool = True) -> VGG16Features:
    """VGG16 with ImageNet weights from a local file, or torch.hub's cache/download (hash checked).

    Raises :class:`WeightsError` saying where it looked when the weights cannot be had.
    """
    from ..hub.cache import torch_hub_checkpoint
    from ..hub.download import hub_offline

    model = VGG16Features()
    if weights is not None:
        state = read_torch_file(weights, "VGG16 weights")
    else:
        cached = torch_hub_checkpoint(Path(VGG16_URL).name)
        if not cached.is_file() and (not download or hub_offline()):
            raise WeightsError(f"VGG16 ImageNet weights not found at {cached} (offline)")
        try:
            state = torch.hub.load_state_dict_from_url(
                VGG16_URL, map_location="cpu", check_hash=True, weights_only=True, progress=False
            )
        except (OSError, RuntimeError, pickle.UnpicklingError) as error:
            raise WeightsError(
                f"cannot get VGG16 ImageNet weights from {VGG16_URL} ({first_line(error)}); "
                f"put vgg16-397923af.pth at {cached}, pass --vgg-weights FILE, or train with --perceptual none"
            ) from error
    source = weights if weights is not None else VGG16_URL
    if not isinstance(state, dict):
        raise WeightsError(f"{source}: not a VGG16 state dict (found {type(state).__name__})")
    features = {key: value for key, value in state.items()
                if isinstance(key, str) and _FEATURE_KEY.fullmatch(key) and int(key.split(".")[1]) < 17}
    try:
        missing, _ = model.load_state_dict(features, strict=False)
    except RuntimeError as error:
        raise WeightsError(f"{source}: not VGG16 ImageNet weights ({first_line(error)})") from None
    if missing:
        raise WeightsError(f"{source}: VGG16 weights lack {', '.join(missing[:4])}")
    return model.eval().requires_grad_(False)
