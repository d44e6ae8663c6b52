"""The perceptual metrics' networks (LPIPS, FID's Inception): loaded where their weights are
found, otherwise the metric is ``n/a`` with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..hub.download import sha256_of_file



@dataclass
class PerceptualNetworks:
    """LPIPS and FID networks where their weights were found; otherwise the reason in ``notes``."""

    lpips: torch.nn.Module | None = None
    fid: torch.nn.Module | None = None
    notes: dict[str, str] = field(default_factory=dict)
    weights: dict[str, list[str]] = field(default_factory=dict)


def load_perceptual_networks(
    metrics: Sequence[str], lpips_files: Sequence[Path], fid_file: Path | None, device: torch.device
) -> PerceptualNetworks:
    """Load what ``metrics`` needs. Files given explicitly must load (WeightsError if not);
    without them the usual cache places are searched, and a metric whose weights are not
    there gets ``n/a`` with the reason."""
    networks = PerceptualNetworks()
    if "lpips" in metrics:
        _load_lpips(networks, lpips_files, device)
    if "fid" in metrics:
        _load_fid(networks, fid_file, device)
    return networks


def _load_lpips(networks: PerceptualNetworks, files: Sequence[Path], device: torch.device) -> None:
    from . import lpips

    parts = [lpips.read_weight_parts(path) for path in files]
    chosen = [Path(path) for path in files]
    backbone = next((part.path for part in parts if part.backbone), None)
    if backbone is None:
        backbone = lpips.cached_backbone_file()
        chosen += [backbone] if backbone is not None else []
    if not any(part.heads for part in parts):
        heads = lpips.bundled_heads_file()
        chosen += [heads] if heads is not None else []
    else:
        heads = next(part.path for part in parts if part.heads)
    if backbone is None:
        networks.notes["lpips"] = (
            f"n/a: no AlexNet weights ({lpips.BACKBONE_FILENAME}, torchvision's ImageNet AlexNet) were "
            "given or found in the torch hub cache; pass --lpips-weights FILE"
        )
        return
    if heads is None:
        networks.notes["lpips"] = (
            f"n/a: no LPIPS v0.1 linear heads ({lpips.HEADS_FILENAME} of the lpips package) were given "
            "or found; pass --lpips-weights FILE"
        )
        return
    networks.lpips = lpips.load_lpips(chosen, device)
    networks.weights["lpips"] = [str(path) for path in chosen]
    if not sha256_of_file(backbone).startswith(lpips.BACKBONE_SHA256_PREFIX):
        networks.notes["lpips"] = (
            f"trunk weights {backbone} are not torchvision's published {lpips.BACKBONE_FILENAME} "
            "(sha256 differs): values are not comparable with papers"
        )


def _load_fid(networks: PerceptualNetworks, file: Path | None, device: torch.device) -> None:
    from . import inception

    path = file if file is not None else inception.cached_weights_file()
    if path is None:
        networks.notes["fid"] = (
            f"n/a: no FID Inception weights ({inception.WEIGHTS_FILENAME}, released by pytorch-fid) were "
            "given or found in the torch hub cache; pass --fid-weights FILE"
        )
        return
    networks.fid = inception.load_fid_inception(path, device)
    networks.weights["fid"] = [str(path)]
    if not sha256_of_file(path).startswith(inception.WEIGHTS_SHA256_PREFIX):
        networks.notes["fid"] = (
            f"weights {path} are not the published {inception.WEIGHTS_FILENAME} (sha256 differs): "
            "values are not comparable with papers"
        )


def fid_features(network: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """(B, 2048) float64 pool3 features of images (B, 3, H, W) in [0, 1]."""
    device = next(network.parameters()).device
    with torch.inference_mode():
        return network(images.float().to(device)).double().cpu().numpy()
