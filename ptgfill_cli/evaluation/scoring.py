"""One batch of cases: the method's fill composited over the known pixels, rounded to 8 bits
as a saved image is, and scored against the originals."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .. import metrics as pixel_metrics
from ..data import masks
from .baselines import InpaintingMethod



def composite_of(method: InpaintingMethod, truth: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The method's fill with the known pixels put back, rounded to 8 bits (float64)."""
    filled = method.fill(truth.float(), known.float()).double()
    return pixel_metrics.quantize(masks.composite(known, truth, filled))


def score_batch(
    composite: torch.Tensor, truth: torch.Tensor, known: torch.Tensor, metrics: Sequence[str],
    lpips_network: torch.nn.Module | None = None,
) -> dict[str, np.ndarray]:
    """Per-image metrics of 8-bit-rounded composites against 8-bit originals (B, 3, H, W)."""
    scores: dict[str, np.ndarray] = {}
    if "psnr" in metrics:
        scores["psnr"] = pixel_metrics.psnr(composite, truth).numpy()
    if "ssim" in metrics:
        scores["ssim"] = pixel_metrics.ssim(composite, truth).numpy()
    if "l1" in metrics:
        scores["l1"] = pixel_metrics.l1_percent(composite, truth).numpy()
    if "hole_psnr" in metrics:
        scores["hole_psnr"] = pixel_metrics.hole_psnr(composite, truth, known).numpy()
    if "lpips" in metrics and lpips_network is not None:
        device = next(lpips_network.parameters()).device
        with torch.inference_mode():
            distances = lpips_network(composite.float().to(device), truth.float().to(device))
        scores["lpips"] = distances.double().cpu().numpy()
    return scores
