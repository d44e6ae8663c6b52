"""The metrics an evaluation can report: their keys, labels, direction and decimals."""

from __future__ import annotations

import math

from ..errors import EvaluationError

METRICS: tuple[str, ...] = ("psnr", "ssim", "l1", "hole_psnr", "lpips", "fid")
PIXEL_METRICS: tuple[str, ...] = ("psnr", "ssim", "l1", "hole_psnr")
METRIC_LABELS: dict[str, str] = {
    "psnr": "PSNR", "ssim": "SSIM", "l1": "L1 (%)", "hole_psnr": "hole PSNR", "lpips": "LPIPS", "fid": "FID",
}
HIGHER_IS_BETTER: dict[str, bool] = {
    "psnr": True, "ssim": True, "l1": False, "hole_psnr": True, "lpips": False, "fid": False,
}
DECIMALS: dict[str, int] = {"psnr": 2, "ssim": 4, "l1": 2, "hole_psnr": 2, "lpips": 4, "fid": 2}


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"psnr,ssim,lpips"`` -> the metric keys, in the canonical order; ``all`` for every one."""
    names = [part.strip().lower().replace("-", "_") for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return METRICS
    aliases = {"l1_percent": "l1", "hole": "hole_psnr"}
    names = [aliases.get(name, name) for name in names]
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise EvaluationError(f"unknown metric {unknown[0] if unknown else text!r}; choose from "
                              f"{', '.join(m.replace('_', '-') for m in METRICS)} or all")
    return tuple(metric for metric in METRICS if metric in names)


def format_value(metric: str, value: float | None) -> str:
    """A metric value as tables show it; ``n/a`` for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{DECIMALS.get(metric, 3)}f}"
