"""Hole-mask generators for training and evaluating inpainting models.

A mask is a ``uint8`` array of shape ``(height, width)``: 255 marks a hole, 0 a known
pixel (in files: white = hole). Its hole ratio is the fraction of pixels equal to 255,
always measured on the whole image, border included.

Kinds of mask (``MASK_KINDS``):

* ``irregular`` - random walks of thick lines, ellipses and chains of small blocks, in the
  manner of the partial-convolution paper's irregular masks (Liu et al., 2018);
* ``strokes`` - free-form brush strokes as drawn by DeepFill v2's generator (Yu et al.,
  2019): zig-zag polylines of random vertices, angles and brush widths, joints rounded
  with circles;
* ``box`` - one or a few random axis-aligned rectangles;
* ``center`` - one centred rectangle shaped like the image, whose area gives the ratio;
* ``object`` - one filled, object-shaped hole as people draw around a thing to remove it:
  a smooth random blob, or a silhouette (a standing figure, a four-legged animal, a
  vehicle-like box with wheels), loosely outlined, sometimes cut by the frame's edge;
* ``mix`` - each mask drawn by one of irregular, strokes, box and center, picked by the
  mask's own RNG (``object`` is not in the mix, so mix sets keep their bytes).

Every mask is drawn for a hole-ratio bucket ``[lo, hi)``: a target ratio is drawn inside
the bucket, parts are added until the target is reached, and a part that overshoots the
bucket is taken back and redrawn smaller. Masks are reproducible: mask ``index`` of bucket
``[lo, hi)`` comes from its own generator seeded with ``(seed, lo, hi, index)``, so it does
not depend on how many masks or buckets are asked for.

Mask sets on disk (``write_mask_set``)::

    OUT_DIR/
        manifest.json        # settings and one record per mask
        manifest.csv         # the same records, one row per mask
        001-010/00000.png    # bucket folder "<lo %>-<hi %>", then the index in the bucket
        001-010/00001.png
        010-020/00000.png
        ...

PNG files are 1-bit greyscale, like the NVIDIA test set; they read back as 0/255.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from ..atomic import write_bytes_atomically
from ..errors import PTGFillError, SettingError
from .mask_spec import BASE_KINDS, DEFAULT_BUCKETS, MASK_KINDS, MAX_SIDE, MIN_SIDE, check_border, percent_text

HOLE = 255
MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
MANIFEST_FORMAT = "ptgfill-masks/1"


_MAX_RESTARTS = 20
_MAX_PARTS = 4000
_MAX_SHRINKS = 10
_MAX_STALLS = 50
_PNG_OPTIONS = [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9]


class MaskGenerationError(PTGFillError):
    """No mask in the asked-for hole-ratio bucket could be drawn within the allowed tries."""


@dataclass(frozen=True)
class MaskRecord:
    """One written mask, as listed in the manifest."""

    file: str
    kind: str
    bucket_lo: float
    bucket_hi: float
    hole_ratio: float
    seed: int
    index: int
    height: int
    width: int
    border: int


# ---------------------------------------------------------------------------
# Parsing user input


def composite(known, original, fill):
    """Known pixels from ``original``, holes from ``fill``: ``known * original + (1 - known) * fill``.

    ``known`` is 1 outside the holes (the network's convention), 0 in them, broadcast over
    channels; works on numpy arrays and torch tensors alike (no import of either here).
    """
    return known * original + (1 - known) * fill


def dilate_holes(hole_mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a boolean hole mask by ``pixels`` in every direction (a disc, so corners round
    off as a brush would): object outlines drawn tight leave the object's edge and shadow
    to the fill otherwise."""
    if pixels < 0:
        raise ValueError(f"dilation must be 0 or more pixels, not {pixels}")
    if pixels == 0 or not hole_mask.any():
        return hole_mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(hole_mask.astype(np.uint8), disc, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


# ---------------------------------------------------------------------------
# Measuring


def hole_ratio(mask: np.ndarray) -> float:
    """The fraction of the mask's pixels that are holes (== 255)."""
    return np.count_nonzero(mask == HOLE) / mask.size


def _hole_count_bounds(ratio_range: tuple[float, float], total: int) -> tuple[int, int]:
    """The hole counts ``[first, stop)`` whose ratio ``count / total`` lies in ``[lo, hi)``."""
    lo, hi = ratio_range
    return _first_count_at_least(lo, total), _first_count_at_least(hi, total)


def _first_count_at_least(ratio: float, total: int) -> int:
    # Computed in the same float arithmetic as hole_ratio, so the bounds agree with it exactly.
    count = max(0, math.ceil(ratio * total) - 1)
    while count / total < ratio:
        count += 1
    return count


# ---------------------------------------------------------------------------
# Drawing parts of masks


@dataclass
class _Canvas:
    """Where holes may go (the image inside its border) and the scale of drawn shapes."""

    pixels: np.ndarray
    unit: float  # shape sizes are given for 512 px images and multiplied by this
    boldness: float = 1.0  # irregular shapes thicken with the target ratio, as the real masks do

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    def random_point(self, rng: np.random.Generator) -> tuple[int, int]:
        return int(rng.integers(0, self.width)), int(rng.integers(0, self.height))


def _px(length: float, canvas: _Canvas, scale: float = 1.0) -> int:
    return max(1, round(length * canvas.unit * scale))


def _draw_random_walk(canvas: _Canvas, rng: np.random.Generator, scale: float) -> None:
    """A thick line wandering from a random point with a drifting heading."""
    x, y = canvas.random_point(rng)
    heading = rng.uniform(0, 2 * math.pi)
    thickness = _px(rng.uniform(6, 28) * canvas.boldness, canvas, scale)
    for _ in range(int(rng.integers(3, 12))):
        heading += rng.normal(0, 0.7)
        step = rng.uniform(15, 70) * canvas.unit * scale
        # Not clipped to the canvas: a walk may leave and come back, as occlusion edges do.
        x_next, y_next = round(x + step * math.cos(heading)), round(y + step * math.sin(heading))
        cv2.line(canvas.pixels, (x, y), (x_next, y_next), HOLE, thickness, cv2.LINE_8)
        x, y = x_next, y_next


def _draw_ellipse(canvas: _Canvas, rng: np.random.Generator, scale: float) -> None:
    """A filled ellipse or a thick elliptic arc."""
    axes = tuple(_px(rng.uniform(8, 70) * canvas.boldness, canvas, scale) for _ in range(2))
    start = rng.uniform(0, 360)
    is_filled = rng.random() < 0.5
    arc = 360.0 if is_filled else rng.uniform(90, 360)
    thickness = -1 if is_filled else _px(rng.uniform(5, 20) * canvas.boldness, canvas, scale)
    cv2.ellipse(
        canvas.pixels, canvas.random_point(rng), axes, rng.uniform(0, 180),
        start, start + arc, HOLE, thickness, cv2.LINE_8,
    )


def _draw_block_chain(canvas: _Canvas, rng: np.random.Generator, scale: float) -> None:
    """A dotted trail of small blocks and dots, like torn pieces of an occlusion edge."""
    x, y = canvas.random_point(rng)
    heading = rng.uniform(0, 2 * math.pi)
    side = rng.uniform(6, 22) * canvas.boldness
    for _ in range(int(rng.integers(3, 14))):
        heading += rng.normal(0, 0.3)
        gap = rng.uniform(1.2, 2.5) * side * canvas.unit * scale
        x, y = round(x + gap * math.cos(heading)), round(y + gap * math.sin(heading))
        half_w = _px(side * rng.uniform(0.4, 0.9), canvas, scale)
        half_h = _px(side * rng.uniform(0.3, 0.7), canvas, scale)
        if rng.random() < 0.25:
            cv2.circle(canvas.pixels, (x, y), half_h, HOLE, -1, cv2.LINE_8)
        else:
            cv2.rectangle(canvas.pixels, (x - half_w, y - half_h), (x + half_w, y + half_h), HOLE, -1)


_IRREGULAR_PARTS = (_draw_random_walk, _draw_ellipse, _draw_block_chain)
_IRREGULAR_WEIGHTS = (0.5, 0.2, 0.3)


def _draw_irregular_part(canvas: _Canvas, rng: np.random.Generator, scale: float, need: int) -> None:
    part = _IRREGULAR_PARTS[rng.choice(len(_IRREGULAR_PARTS), p=_IRREGULAR_WEIGHTS)]
    part(canvas, rng, scale)


def _draw_brush_stroke(canvas: _Canvas, rng: np.random.Generator, scale: float, need: int) -> None:
    """One DeepFill v2 free-form stroke: a zig-zag polyline with round joints."""
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    angle_min = mean_angle - rng.uniform(0, angle_range)
    angle_max = mean_angle + rng.uniform(0, angle_range)
    # DeepFill v2 draws 12-40 px brushes at 256 px with radius = diagonal / 8; sizes here are per 512 px.
    average_radius = math.hypot(canvas.height, canvas.width) / 8 * math.sqrt(scale)
    width = _px(rng.uniform(12, 40), canvas, scale)
    # DeepFill flips whole masks; flipping each stroke keeps zig-zags from all drifting to one side.
    x_sign, y_sign = rng.choice((-1, 1), size=2)
    vertices = [canvas.random_point(rng)]
    for i in range(int(rng.integers(4, 12))):
        angle = rng.uniform(angle_min, angle_max)
        if i % 2 == 0:
            angle = 2 * math.pi - angle
        radius = np.clip(rng.normal(average_radius, average_radius / 2), 0, 2 * average_radius)
        x, y = vertices[-1]
        vertices.append((
            int(np.clip(x + x_sign * radius * math.cos(angle), 0, canvas.width - 1)),
            int(np.clip(y + y_sign * radius * math.sin(angle), 0, canvas.height - 1)),
        ))
    for start, end in zip(vertices, vertices[1:]):
        cv2.line(canvas.pixels, start, end, HOLE, width, cv2.LINE_8)
    for vertex in vertices:
        cv2.circle(canvas.pixels, vertex, width // 2, HOLE, -1, cv2.LINE_8)


def _draw_box(canvas: _Canvas, rng: np.random.Generator, scale: float, need: int) -> None:
    """One rectangle of about ``need`` pixels (all of it, or a share so a few boxes make the mask)."""
    area = need * scale * (1.0 if rng.random() < 0.4 else rng.uniform(0.3, 0.7))
    aspect = math.exp(rng.uniform(-1.0, 1.0))  # height / width
    height = min(canvas.height, max(1, math.ceil(math.sqrt(area * aspect))))
    width = min(canvas.width, max(1, math.ceil(area / height)))
    height = min(canvas.height, max(1, math.ceil(area / width)))
    top, left = _least_covered_place(canvas, height, width, rng)
    canvas.pixels[top:top + height, left:left + width] = HOLE


def _least_covered_place(
    canvas: _Canvas, height: int, width: int, rng: np.random.Generator, tries: int = 8
) -> tuple[int, int]:
    """A random top-left corner for a box, chosen among a few to overlap existing holes least."""
    best, best_overlap = (0, 0), None
    for _ in range(tries):
        top = int(rng.integers(0, canvas.height - height + 1))
        left = int(rng.integers(0, canvas.width - width + 1))
        overlap = np.count_nonzero(canvas.pixels[top:top + height, left:left + width])
        if best_overlap is None or overlap < best_overlap:
            best, best_overlap = (top, left), overlap
        if overlap == 0:
            break
    return best


_PART_DRAWERS: dict[str, Callable[[_Canvas, np.random.Generator, float, int], None]] = {
    "irregular": _draw_irregular_part,
    "strokes": _draw_brush_stroke,
    "box": _draw_box,
}


# ---------------------------------------------------------------------------
# Drawing whole masks


def choose_kind(kind: str, rng: np.random.Generator) -> str:
    """The kind that will draw the mask: ``kind`` itself, or for ``mix`` one drawn from ``rng``."""
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
    if kind == "mix":
        return BASE_KINDS[int(rng.integers(0, len(BASE_KINDS)))]
    return kind


def generate_mask(
    kind: str,
    height: int,
    width: int,
    ratio_range: tuple[float, float],
    rng: np.random.Generator,
    border: int = 0,
) -> np.ndarray:
    """Draw one mask whose hole ratio lies in ``[lo, hi)``, with no holes within ``border`` px of the edge.

    Raises ``ValueError`` for a bucket that no mask of this size and border can hit, and
    ``MaskGenerationError`` when drawing fails to hit it within the allowed tries.
    """
    kind = choose_kind(kind, rng)
    check_reachable(ratio_range, height, width, border)
    first, stop = _hole_count_bounds(ratio_range, height * width)
    inner = (height - 2 * border, width - 2 * border)
    if kind == "center":
        holes = _centred_box(inner, first, stop, rng)
    elif kind == "object":
        holes = _object_hole(inner, first, stop, rng)
    else:
        holes = _grow_to_count(_PART_DRAWERS[kind], inner, min(height, width) / 512, first, stop, rng)
    mask = np.zeros((height, width), np.uint8)
    mask[border:height - border, border:width - border] = holes
    return mask


def check_reachable(ratio_range: tuple[float, float], height: int, width: int, border: int = 0) -> None:
    """Raise ``ValueError`` if no mask of this size and border has a hole ratio in ``ratio_range``."""
    check_border(border, height, width)
    first, stop = _hole_count_bounds(ratio_range, height * width)
    room = (height - 2 * border) * (width - 2 * border)
    if first >= stop or first > room or stop <= 1:
        lo, hi = ratio_range
        raise ValueError(
            f"no {height}x{width} mask with a {border} px border has a hole ratio in "
            f"[{percent_text(lo)} %, {percent_text(hi)} %)"
        )


def _grow_to_count(
    draw_part: Callable[[_Canvas, np.random.Generator, float, int], None],
    shape: tuple[int, int],
    unit: float,
    first: int,
    stop: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Add drawn parts until the hole count reaches a target in ``[first, stop)``.

    A part that pushes the count to ``stop`` or beyond is taken back and the parts drawn
    after it are made smaller; after too many such misses the mask starts over.
    """
    for _ in range(_MAX_RESTARTS):
        target = int(rng.integers(max(first, 1), stop))
        canvas = _Canvas(np.zeros(shape, np.uint8), unit, boldness=1 + 3 * target / (shape[0] * shape[1]))
        count, scale, misses, stalls = 0, 1.0, 0, 0
        for _ in range(_MAX_PARTS):
            trial = _Canvas(canvas.pixels.copy(), unit, canvas.boldness)
            draw_part(trial, rng, scale, target - count)
            trial_count = np.count_nonzero(trial.pixels)
            if trial_count >= stop:
                scale, misses = scale / 2, misses + 1
                if misses > _MAX_SHRINKS:
                    break
                continue
            stalls = stalls + 1 if trial_count == count else 0
            if stalls > _MAX_STALLS:
                break
            canvas, count = trial, trial_count
            if count >= target:
                return canvas.pixels
    raise MaskGenerationError(
        f"could not draw {first}-{stop - 1} hole pixels inside a {shape[0]}x{shape[1]} area "
        f"in {_MAX_RESTARTS} tries; try a wider bucket or a larger size"
    )


def _centred_box(shape: tuple[int, int], first: int, stop: int, rng: np.random.Generator) -> np.ndarray:
    """A centred rectangle about as shaped as ``shape``, of about a random area in ``[first, stop)``."""
    max_height, max_width = shape
    target = int(rng.integers(max(first, 1), stop))
    ideal_height = math.sqrt(target * max_height / max_width)
    for box_height in sorted(range(1, max_height + 1), key=lambda h: abs(h - ideal_height)):
        # The area just above the target, else just below the bucket's top: not every count is h * w.
        for box_width in (math.ceil(target / box_height), (stop - 1) // box_height):
            if box_width <= max_width and first <= box_height * box_width < stop:
                top, left = (max_height - box_height) // 2, (max_width - box_width) // 2
                holes = np.zeros(shape, np.uint8)
                holes[top:top + box_height, left:left + box_width] = HOLE
                return holes
    raise MaskGenerationError(f"no centred box in {max_height}x{max_width} has {first}-{stop - 1} pixels")


# An object shape is a list of primitives in a unit frame (x right, y down, about [-1, 1]),
# drawn at a scale and position found for the target area.
_Primitive = tuple  # ("poly", points) | ("ellipse", cx, cy, ax, ay, angle) | ("line", x0, y0, x1, y1, width)


def _blob_shape(rng: np.random.Generator) -> list[_Primitive]:
    """A smooth star-shaped outline: a circle whose radius varies with a few low harmonics."""
    angles = np.linspace(0, 2 * math.pi, 72, endpoint=False)
    radius = np.ones_like(angles)
    for harmonic in range(2, 6):
        radius += rng.uniform(0, 0.45 / harmonic) * np.cos(harmonic * angles + rng.uniform(0, 2 * math.pi))
    radius = np.clip(radius, 0.35, None)
    stretch = math.exp(rng.uniform(-0.6, 0.6))
    points = np.stack([radius * np.cos(angles) * stretch, radius * np.sin(angles) / stretch], axis=1)
    return [("poly", points)]


def _figure_shape(rng: np.random.Generator) -> list[_Primitive]:
    """A standing person: head, torso, arms and legs, in a loose pose."""
    head = rng.uniform(0.13, 0.18)
    torso_w, torso_h = rng.uniform(0.18, 0.28), rng.uniform(0.32, 0.42)
    limb = rng.uniform(0.09, 0.14)
    shape: list[_Primitive] = [
        ("ellipse", 0.0, -0.75, head, head * 1.15, 0.0),
        ("ellipse", 0.0, -0.25, torso_w, torso_h, rng.uniform(-8, 8)),
    ]
    for side in (-1, 1):
        reach = rng.uniform(-0.3, 0.5)
        shape.append(("line", side * torso_w * 0.8, -0.5, side * (torso_w + 0.2 + 0.15 * reach), 0.05 - 0.4 * reach, limb))
        shape.append(("line", side * torso_w * 0.5, 0.05, side * rng.uniform(0.08, 0.35), 0.95, limb * 1.2))
    return shape


def _animal_shape(rng: np.random.Generator) -> list[_Primitive]:
    """A four-legged animal in profile: body, neck and head, legs, a tail."""
    body_w, body_h = rng.uniform(0.5, 0.7), rng.uniform(0.2, 0.3)
    leg = rng.uniform(0.06, 0.1)
    facing = rng.choice((-1, 1))
    head_x, head_y = facing * (body_w + 0.15), -body_h - rng.uniform(0.05, 0.35)
    shape: list[_Primitive] = [
        ("ellipse", 0.0, 0.0, body_w, body_h, 0.0),
        ("line", facing * body_w * 0.8, -body_h * 0.3, head_x, head_y, leg * 1.8),
        ("ellipse", head_x + facing * 0.05, head_y, rng.uniform(0.1, 0.17), rng.uniform(0.07, 0.11), facing * 20.0),
        ("line", -facing * body_w * 0.95, -body_h * 0.2, -facing * (body_w + 0.2), rng.uniform(-0.1, 0.3), leg * 0.7),
    ]
    for x in (-0.7, -0.5, 0.5, 0.7):
        foot = x * body_w + rng.uniform(-0.08, 0.08)
        shape.append(("line", x * body_w, body_h * 0.5, foot, body_h + rng.uniform(0.35, 0.6), leg))
    return shape


def _vehicle_shape(rng: np.random.Generator) -> list[_Primitive]:
    """A car-like body (a lower box, a cabin, two wheels)."""
    length, height = 1.0, rng.uniform(0.22, 0.32)
    cabin_l, cabin_h = rng.uniform(0.4, 0.6), rng.uniform(0.15, 0.25)
    cabin_x = rng.uniform(-0.2, 0.2)
    box = np.array([[-length, -height / 2], [length, -height / 2], [length, height / 2], [-length, height / 2]])
    cabin = np.array([
        [cabin_x - cabin_l, -height / 2], [cabin_x - cabin_l * 0.7, -height / 2 - cabin_h],
        [cabin_x + cabin_l * 0.7, -height / 2 - cabin_h], [cabin_x + cabin_l, -height / 2],
    ])
    wheel = rng.uniform(0.14, 0.2)
    return [("poly", box), ("poly", cabin),
            ("ellipse", -0.6, height / 2, wheel, wheel, 0.0), ("ellipse", 0.6, height / 2, wheel, wheel, 0.0)]


_OBJECT_SHAPES = (_blob_shape, _figure_shape, _animal_shape, _vehicle_shape)
_OBJECT_WEIGHTS = (0.4, 0.25, 0.2, 0.15)


def _draw_shape(
    shape: list[_Primitive], canvas: np.ndarray, centre: tuple[float, float], scale: float,
    rotation: float, mirror: bool, outline: int,
) -> None:
    """Draw the primitives scaled, rotated and moved, then dilate by ``outline`` px (a loose hand-drawn margin)."""
    cos_r, sin_r = math.cos(rotation), math.sin(rotation)
    flip = -1.0 if mirror else 1.0
    shift = 4  # cv2's sub-pixel drawing: coordinates in 1/16 px

    def place(x: float, y: float) -> tuple[int, int]:
        x = flip * x
        px = centre[0] + scale * (x * cos_r - y * sin_r)
        py = centre[1] + scale * (x * sin_r + y * cos_r)
        return round(px * (1 << shift)), round(py * (1 << shift))

    for primitive in shape:
        if primitive[0] == "poly":
            points = np.array([place(x, y) for x, y in primitive[1]], np.int32)
            cv2.fillPoly(canvas, [points], HOLE, cv2.LINE_8, shift)
        elif primitive[0] == "ellipse":
            _, cx, cy, ax, ay, angle = primitive
            axes = (max(1, round(scale * ax * (1 << shift))), max(1, round(scale * ay * (1 << shift))))
            degrees = flip * angle + math.degrees(rotation)
            cv2.ellipse(canvas, place(cx, cy), axes, degrees, 0, 360, HOLE, -1, cv2.LINE_8, shift)
        else:
            _, x0, y0, x1, y1, width = primitive
            cv2.line(canvas, place(x0, y0), place(x1, y1), HOLE, max(1, round(scale * width * 2)), cv2.LINE_8, shift)
    if outline > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline + 1, 2 * outline + 1))
        cv2.dilate(canvas, kernel, dst=canvas)


def _object_hole(shape: tuple[int, int], first: int, stop: int, rng: np.random.Generator) -> np.ndarray:
    """One object-shaped hole of ``[first, stop)`` pixels: a shape drawn, then rescaled to the target area."""
    height, width = shape
    for _ in range(_MAX_RESTARTS):
        target = int(rng.integers(max(first, 1), stop))
        outline_share = rng.uniform(0.0, 0.06)
        drawer = _OBJECT_SHAPES[rng.choice(len(_OBJECT_SHAPES), p=_OBJECT_WEIGHTS)]
        primitives = drawer(rng)
        rotation = math.radians(rng.normal(0, 8 if drawer is not _blob_shape else 60))
        mirror = bool(rng.random() < 0.5)
        # Objects sit anywhere, and sometimes stand on (or are cut by) the bottom or a side.
        cx = rng.uniform(0.15, 0.85) * width
        cy = rng.uniform(0.2, 0.8) * height if rng.random() < 0.8 else rng.uniform(0.7, 0.95) * height
        scale = math.sqrt(target) / 2
        for _ in range(8):
            canvas = np.zeros(shape, np.uint8)
            outline = round(outline_share * scale)
            _draw_shape(primitives, canvas, (cx, cy), scale, rotation, mirror, outline)
            count = np.count_nonzero(canvas)
            if first <= count < stop:
                return canvas
            if count == 0:
                break
            scale *= math.sqrt(target / count)
    raise MaskGenerationError(
        f"could not draw an object of {first}-{stop - 1} hole pixels inside a {height}x{width} area "
        f"in {_MAX_RESTARTS} tries; try a wider bucket or a larger size"
    )


# ---------------------------------------------------------------------------
# Mask sets on disk


def mask_rng(seed: int, ratio_range: tuple[float, float], index: int) -> np.random.Generator:
    """The generator for mask ``index`` of a bucket: the same whatever else is in the set."""
    lo, hi = ratio_range
    return np.random.default_rng([seed, round(lo * 1_000_000), round(hi * 1_000_000), index])


def bucket_name(ratio_range: tuple[float, float]) -> str:
    """The bucket's folder name in percent, sortable: ``(0.01, 0.1)`` -> ``"001-010"``."""
    return "-".join(percent_text(bound, padded=True) for bound in ratio_range)


def write_mask_set(
    out_dir: str | os.PathLike[str],
    kind: str,
    count_per_bucket: int,
    buckets: Sequence[tuple[float, float]] = DEFAULT_BUCKETS,
    size: tuple[int, int] = (512, 512),
    seed: int = 0,
    border: int = 0,
    overwrite: bool = False,
    on_mask: Callable[[MaskRecord], None] | None = None,
) -> list[MaskRecord]:
    """Draw ``count_per_bucket`` masks per bucket, write them as PNGs and write the manifests.

    ``size`` is (height, width). ``out_dir`` must be missing or empty unless ``overwrite``;
    with it, the files of an earlier set listed in its manifest are removed first, other
    files are left alone. ``on_mask`` is called after each written mask (for progress).
    Raises ``ValueError`` for bad settings (checked before anything is written),
    ``FileExistsError`` for a non-empty ``out_dir``, ``MaskGenerationError`` if drawing fails.
    """
    height, width = size
    _check_set_settings(kind, count_per_bucket, buckets, height, width, seed, border)
    out = Path(out_dir)
    _prepare_out_dir(out, overwrite)
    digits = max(5, len(str(count_per_bucket - 1)))
    records = []
    for ratio_range in buckets:
        folder = out / bucket_name(ratio_range)
        folder.mkdir(exist_ok=True)
        for index in range(count_per_bucket):
            rng = mask_rng(seed, ratio_range, index)
            drawn_kind = choose_kind(kind, rng)
            mask = generate_mask(drawn_kind, height, width, ratio_range, rng, border)
            path = folder / f"{index:0{digits}d}.png"
            write_bytes_atomically(path, encode_png(mask))
            record = MaskRecord(
                file=path.relative_to(out).as_posix(), kind=drawn_kind,
                bucket_lo=ratio_range[0], bucket_hi=ratio_range[1], hole_ratio=hole_ratio(mask),
                seed=seed, index=index, height=height, width=width, border=border,
            )
            records.append(record)
            if on_mask is not None:
                on_mask(record)
    settings = {"kind": kind, "count_per_bucket": count_per_bucket, "buckets": [list(b) for b in buckets],
                "height": height, "width": width, "seed": seed, "border": border}
    _write_manifests(out, settings, records)
    return records


def _check_set_settings(
    kind: str,
    count: int,
    buckets: Sequence[tuple[float, float]],
    height: int,
    width: int,
    seed: int,
    border: int,
) -> None:
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
    if count < 1:
        raise ValueError(f"count per bucket must be at least 1, not {count}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed}")
    if min(height, width) < MIN_SIDE or max(height, width) > MAX_SIDE:
        raise ValueError(f"mask sides must be from {MIN_SIDE} to {MAX_SIDE} px, not {height}x{width}")
    if not buckets:
        raise ValueError("no buckets given")
    if len({bucket_name(b) for b in buckets}) != len(buckets):
        raise ValueError("two buckets have the same range")
    for ratio_range in buckets:
        check_reachable(ratio_range, height, width, border)


def _prepare_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SettingError("overwrite", f"is needed to write into {out}: it is not empty")
        _remove_listed_masks(out)
    out.mkdir(parents=True, exist_ok=True)


def _remove_listed_masks(out: Path) -> None:
    """Delete an earlier set in ``out``: its manifests, the masks they list, and emptied bucket folders."""
    manifest = out / MANIFEST_JSON
    if not manifest.is_file():
        return
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["masks"]
        files = [out / entry["file"] for entry in entries]
    except (ValueError, KeyError, TypeError):
        return  # not one of ours: leave it and its files alone
    root = out.resolve()
    ours = [file for file in files if file.resolve().parent.parent == root and file.suffix == ".png"]
    # Manifests go first, so an interrupted clean-up never leaves one listing missing files.
    manifest.unlink()
    (out / MANIFEST_CSV).unlink(missing_ok=True)
    for file in ours:
        file.unlink(missing_ok=True)
    for folder in {file.parent for file in ours}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def encode_png(mask: np.ndarray) -> bytes:
    """The mask as a 1-bit greyscale PNG (white = hole); the same mask always gives the same bytes."""
    is_ok, buffer = cv2.imencode(".png", mask, _PNG_OPTIONS)
    if not is_ok:
        raise MaskGenerationError("OpenCV could not encode a mask as PNG")
    return buffer.tobytes()


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A mask file as a uint8 array, 255 = hole, 0 = known: ``image_io.load_mask``, the one
    reading of mask files (white = hole, transparent = known), in this module's convention."""
    from .image_io import load_mask

    return np.where(load_mask(path), HOLE, 0).astype(np.uint8)


def _write_manifests(out: Path, settings: dict, records: Iterable[MaskRecord]) -> None:
    rows = [asdict(record) for record in records]
    manifest = {"format": MANIFEST_FORMAT, **settings, "masks": rows}
    write_bytes_atomically(out / MANIFEST_JSON, (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(MaskRecord.__dataclass_fields__), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomically(out / MANIFEST_CSV, table.getvalue().encode("utf-8"))


def bucket_summary(records: Sequence[MaskRecord]) -> list[dict]:
    """Per bucket, in first-seen order: its name, bounds, mask count and mean/min/max hole ratio."""
    groups: dict[tuple[float, float], list[float]] = {}
    for record in records:
        groups.setdefault((record.bucket_lo, record.bucket_hi), []).append(record.hole_ratio)
    return [
        {
            "bucket": bucket_name(bounds), "lo": bounds[0], "hi": bounds[1], "count": len(ratios),
            "mean_hole_ratio": float(np.mean(ratios)),
            "min_hole_ratio": min(ratios), "max_hole_ratio": max(ratios),
        }
        for bounds, ratios in groups.items()
    ]
