"""The working image: which part of a picture the network sees, and at what size.

Every strategy is the same three steps: take a region of the image, scale it so its
longer side fits ``max_side``, pad it (mirrored) to a multiple of the network's size
multiple. They differ only in the region and whether it may be scaled:

- ``original``: the whole image at full size, only padded.
- ``resize``: the whole image, scaled down when its longer side exceeds ``max_side``.
- ``crop``: a box around each cluster of holes with a margin of context, scaled down
  when still too large. Holes whose boxes overlap share one box. Past ``MAX_CROPS``
  boxes, one box around all the holes, so the work stays bounded however the holes
  are spread.
- ``auto``: ``original`` when the longer side is at most ``max_side``, else ``crop``.

Scaling the known mask down keeps a working pixel known only when every source pixel
under it is known, so no hole content leaks into the network's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STRATEGIES: tuple[str, ...] = ("auto", "original", "resize", "crop")
DEFAULT_MAX_SIDE = 1024
DEFAULT_CROP_MARGIN = 128
MAX_CROPS = 8


@dataclass(frozen=True)
class Box:
    """A pixel rectangle: rows ``top:bottom``, columns ``left:right``."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


@dataclass(frozen=True)
class WorkingPlan:
    """How one piece of an image maps onto a network input."""

    strategy: str  # the strategy that made it: original, resize or crop (never auto)
    region: Box  # the part of the source image the network sees
    scaled_size: tuple[int, int]  # (height, width) the region is scaled to
    padded_size: tuple[int, int]  # (height, width) of the network input

    @property
    def is_scaled(self) -> bool:
        return self.scaled_size != (self.region.height, self.region.width)


def plan_working(
    hole_mask: np.ndarray,
    strategy: str = "auto",
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    crop_margin: int = DEFAULT_CROP_MARGIN,
    multiple: int = 32,
    min_side: int = 64,
) -> list[WorkingPlan]:
    """The pieces the network sees for an image with this (H, W) hole mask (True =
    hole, at least one): one for original and resize, one per box for crop. Their
    regions are disjoint and together hold every hole. Network input sides are
    multiples of ``multiple`` and at least ``min_side``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if max_side < multiple:
        raise ValueError(f"max_side must be at least {multiple}, not {max_side}")
    height, width = hole_mask.shape
    if strategy == "auto":
        strategy = "original" if max(height, width) <= max_side else "crop"
    regions = crop_boxes(hole_mask, crop_margin) if strategy == "crop" else [Box(0, 0, height, width)]
    plans = []
    for region in regions:
        if strategy == "original":
            scaled_size = (region.height, region.width)
        else:
            scaled_size = _fit(region.height, region.width, max_side)
        padded_size = (
            max(min_side, _round_up(scaled_size[0], multiple)),
            max(min_side, _round_up(scaled_size[1], multiple)),
        )
        plans.append(WorkingPlan(strategy, region, scaled_size, padded_size))
    return plans


def crop_boxes(hole_mask: np.ndarray, margin: int, max_crops: int = MAX_CROPS) -> list[Box]:
    """Disjoint boxes that hold every hole with context around it: each cluster of
    holes grown by ``grow_box``, boxes that overlap merged; one box around them all
    when more than ``max_crops`` would remain."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(hole_mask.astype(np.uint8), connectivity=8)
    boxes = [
        grow_box(Box(int(y), int(x), int(y + h), int(x + w)), margin, hole_mask.shape)
        for x, y, w, h, _ in stats[1:]
    ]
    if len(boxes) <= 8 * max_crops:  # speckled masks are not worth merging box by box
        boxes = _merge_overlapping(boxes)
    if len(boxes) > max_crops:
        boxes = [
            Box(
                min(box.top for box in boxes),
                min(box.left for box in boxes),
                max(box.bottom for box in boxes),
                max(box.right for box in boxes),
            )
        ]
    return sorted(boxes, key=lambda box: (box.top, box.left))


def grow_box(holes: Box, margin: int, shape: tuple[int, int]) -> Box:
    """``holes`` grown by ``margin`` pixels, or by half its longer side when that is
    more (large holes need more context), clipped to an image of ``shape``."""
    grow = max(margin, max(holes.height, holes.width) // 2)
    return Box(
        max(0, holes.top - grow),
        max(0, holes.left - grow),
        min(shape[0], holes.bottom + grow),
        min(shape[1], holes.right + grow),
    )


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a.top < b.bottom and b.top < a.bottom and a.left < b.right and b.left < a.right:
                    merged[i] = Box(min(a.top, b.top), min(a.left, b.left),
                                    max(a.bottom, b.bottom), max(a.right, b.right))
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def to_working(
    pixels: np.ndarray, known: np.ndarray, plan: WorkingPlan, max_value: float
) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for one image: (3, H, W) float32 pixels in [0, 1] and
    (1, H, W) float32 known mask (1 = known), H and W = ``plan.padded_size``.

    ``pixels`` is the whole (H, W, 3) image, ``max_value`` its full intensity,
    ``known`` its boolean (H, W) known mask.
    """
    rows, cols = plan.region.slices
    region_pixels = pixels[rows, cols].astype(np.float32) / np.float32(max_value)
    known_region = known[rows, cols].astype(np.float32)
    if plan.is_scaled:
        size = (plan.scaled_size[1], plan.scaled_size[0])  # OpenCV wants (width, height)
        region_pixels = cv2.resize(region_pixels, size, interpolation=cv2.INTER_AREA)
        known_region = cv2.resize(known_region, size, interpolation=cv2.INTER_AREA)
        known_region = (known_region >= 1.0 - 1e-6).astype(np.float32)
    pad_rows = plan.padded_size[0] - plan.scaled_size[0]
    pad_cols = plan.padded_size[1] - plan.scaled_size[1]
    # Mirrored padding for the mask too: a hole at the border stays a hole in its
    # reflection instead of showing the network the pixels it is meant to replace.
    region_pixels = np.pad(region_pixels, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="symmetric")
    known_region = np.pad(known_region, ((0, pad_rows), (0, pad_cols)), mode="symmetric")
    return (
        np.ascontiguousarray(region_pixels.transpose(2, 0, 1), dtype=np.float32),
        known_region[None].astype(np.float32),
    )


def from_working(working_rgb: np.ndarray, plan: WorkingPlan) -> np.ndarray:
    """The network's (3, H, W) output brought back to the region: padding removed,
    scaled to the region's size; (h, w, 3) float32 in [0, 1]."""
    height, width = plan.scaled_size
    pixels = np.ascontiguousarray(working_rgb[:, :height, :width].transpose(1, 2, 0))
    if plan.is_scaled:
        size = (plan.region.width, plan.region.height)
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32)


def _fit(height: int, width: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
