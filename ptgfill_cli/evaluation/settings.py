"""What an evaluation runs on and where it writes (the ``ptgfill evaluate`` options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .metric_info import METRICS

FITS: tuple[str, ...] = ("crop", "resize")  # how an image is brought to the evaluation size


@dataclass(frozen=True)
class EvaluationSettings:
    """What to evaluate and where to write it (the ``ptgfill evaluate`` options)."""

    dataset: str
    output: Path
    data_root: Path | None = None
    masks: str = "irregular"
    mask_seed: int = 0
    buckets: tuple[tuple[float, float], ...] | None = None
    by_border: bool = False
    size: int = 256
    fit: str | None = None  # None: the dataset's own
    pair_stride: int = 1
    pair_offset: int = 0
    pair_seed: int | None = None
    pairs_file: Path | None = None
    limit: int | None = None
    metrics: tuple[str, ...] = METRICS
    lpips_weights: tuple[Path, ...] = ()
    fid_weights: Path | None = None
    batch_size: int = 8
    save_images: bool = False
    grid_cases: int = 3
    overwrite: bool = False
