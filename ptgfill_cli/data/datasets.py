"""Training and validation images: folders, path lists, deterministic held-out splits."""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from .image_io import IMAGE_SUFFIXES, load_rgb8

log = logging.getLogger(__name__)


def list_images(source: str | Path) -> list[Path]:
    """Image files under a folder (recursive, sorted), or the paths listed in a text file."""
    source = Path(source)
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if source.is_file() and source.suffix.lower() == ".txt":
        base = source.parent
        lines = [line.strip() for line in source.read_text().splitlines()]
        return [(base / line) if not Path(line).is_absolute() else Path(line)
                for line in lines if line and not line.startswith("#")]
    raise FileNotFoundError(f"{source}: not a folder of images or a .txt list of paths")


def held_out_split(paths: list[Path], fraction: float, salt: str = "ptgfill") -> tuple[list[Path], list[Path]]:
    """Split by a hash of each file name, so the split does not depend on order or count."""
    def score(path: Path) -> float:
        digest = hashlib.sha1(f"{salt}:{path.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    train = [p for p in paths if score(p) >= fraction]
    held = [p for p in paths if score(p) < fraction]
    return train, held


def read_rgb(path: Path) -> np.ndarray | None:
    """An RGB uint8 array (``image_io.load_rgb8``), or None with a warning for a file that
    cannot be decoded: a bad file among thousands skips, it does not stop a run."""
    try:
        return load_rgb8(path)
    except InputError as error:
        log.warning("skipping unreadable image: %s", error)
        return None


def resize_shorter_side(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = size / min(h, w)
    if scale == 1:
        return image
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, new, interpolation=interpolation)


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return image[top : top + size, left : left + size]


# A random resized crop is never enlarged more than this: upscaled crops teach blur.
MAX_CROP_UPSCALE = 1.25


def random_resized_crop(
    image: np.ndarray, size: int, scale: tuple[float, float], rng: np.random.Generator,
) -> np.ndarray:
    """A ``size`` x ``size`` crop of a random part of the photo, resized.

    The part covers a fraction of the photo's area drawn log-uniformly from ``scale`` (so
    both native-resolution patches and whole downscaled photos are common), with an aspect
    ratio in [3/4, 4/3]; its sides are clipped to the photo and kept at least
    ``size / MAX_CROP_UPSCALE``, so a small photo is shown whole rather than blown up.
    """
    import cv2

    h, w = image.shape[:2]
    area = h * w * math.exp(rng.uniform(math.log(scale[0]), math.log(scale[1])))
    aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    smallest = math.ceil(size / MAX_CROP_UPSCALE)
    crop_h = min(h, max(smallest, round(math.sqrt(area * aspect))))
    crop_w = min(w, max(smallest, round(math.sqrt(area / aspect))))
    top = int(rng.integers(0, h - crop_h + 1))
    left = int(rng.integers(0, w - crop_w + 1))
    crop = image[top : top + crop_h, left : left + crop_w]
    interpolation = cv2.INTER_AREA if crop_h * crop_w > size * size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top : top + size, left : left + size]
