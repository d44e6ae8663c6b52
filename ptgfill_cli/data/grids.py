"""Image grids for sample sheets and comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..atomic import replace_atomically

# Holes in pictures of masked inputs: magenta, which shows on snow, sky and shadow alike
# (white holes vanished on bright photos). Mask pictures themselves stay white = hole.
HOLE_DISPLAY_RGB = (1.0, 0.0, 1.0)


def with_holes_shown(images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) images with their holes (``known`` 0) painted HOLE_DISPLAY_RGB."""
    colour = torch.tensor(HOLE_DISPLAY_RGB, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return images * known + colour * (1 - known)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) floats in [0, 1] -> (B, H, W, 3) uint8."""
    images = images.detach().float().clamp(0, 1).cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return (images.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def save_grid(
    columns: Sequence[torch.Tensor], path: str | Path, titles: Sequence[str] | None = None,
    gap: int = 2,
) -> Path:
    """One row per image, one column per tensor; an optional title strip on top. Atomic write."""
    arrays = [to_uint8(c) for c in columns]
    rows, height, width = arrays[0].shape[:3]
    header = 14 if titles else 0
    sheet = Image.new("RGB", (len(arrays) * (width + gap) - gap, header + rows * (height + gap) - gap), "white")
    draw = ImageDraw.Draw(sheet)
    for col, array in enumerate(arrays):
        x = col * (width + gap)
        if titles:
            draw.text((x + 2, 1), titles[col], fill="black")
        for row in range(rows):
            sheet.paste(Image.fromarray(array[row]), (x, header + row * (height + gap)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return replace_atomically(path, lambda temporary: sheet.save(temporary, format="PNG"))
