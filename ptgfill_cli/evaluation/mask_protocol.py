"""Masks for evaluation: the protocols papers use, and the deterministic pairing of images
with masks.

A protocol (``MaskProtocol``) is a list of buckets and a way to get mask ``index`` of a
bucket at the evaluation size, as a ``uint8`` array with 255 = hole:

- ``NvidiaMaskSet``: the NVIDIA irregular test set of the partial-convolution paper (Liu et
  al., 2018): 12,000 files ``00000.png``-``11999.png`` bucketed *by file order* as the
  paper does, 2,000 per bucket (1-10 %, 10-20 %, ..., 50-60 %), the first 1,000 of each
  keeping a 50-pixel hole-free border ("N"), the second 1,000 reaching it ("B");
  ``by_border`` splits each bucket into its two halves.
- ``FileMaskSet`` for a ``make-masks`` folder (buckets from its manifest) or any folder of
  masks (each mask bucketed by its hole ratio measured at the evaluation size).
- ``GeneratedMaskSet``: ``make-masks`` kinds drawn on the fly at the evaluation size,
  mask ``index`` of a bucket from the generator ``mask_rng(seed, bucket, index)``, so
  they equal what ``make-masks --seed`` writes at that size.
- ``LamaMaskSet``: LaMa's (Suvorov et al., 2022) ``thin``, ``medium`` and ``thick``
  random masks (``configs/data_gen/random_*_256.yaml``): strokes and, for medium and
  thick, boxes, redrawn while they cover more than half the image.

Mask files are resized to the evaluation size with nearest neighbour; a mask's bucket is
the one its protocol gives it, and the hole ratio measured at the evaluation size is
recorded beside it.

Pairing (``pair_images``): image ``i`` gets mask ``(i * stride + offset) % n`` of each
bucket with ``n`` masks, or with a seed mask ``permutation[i % n]`` of a permutation
drawn from ``(seed, bucket number)``; it does not depend on how many images there are.
Generated masks are never reused: image ``i`` gets mask ``i * stride + offset``.
``write_pairs`` / ``read_pairs`` keep the pairing in ``pairs.csv`` to replay it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import cv2
import numpy as np

from ..atomic import write_text_atomically
from ..errors import PTGFillError, first_line
from ..data.image_io import IMAGE_SUFFIXES
from ..data.mask_spec import DEFAULT_BUCKETS, MASK_KINDS
from ..data.masks import (
    HOLE,
    MANIFEST_JSON,
    MaskGenerationError,
    bucket_name,
    generate_mask,
    hole_ratio,
    mask_rng,
    read_mask,
)

NVIDIA_COUNT = 12000
NVIDIA_PER_BUCKET = 2000
LAMA_KINDS: tuple[str, ...] = ("thin", "medium", "thick")
PAIRS_FIELDS: tuple[str, ...] = ("case", "bucket", "image_index", "image", "mask_index", "mask")


class MaskSetError(PTGFillError):
    """A mask set or a pairs file is missing, malformed or does not fit the run."""


@dataclass(frozen=True)
class MaskBucket:
    """A group of masks reported together."""

    name: str  # file-safe and sortable: "001-010", "001-010-N", "thin"
    label: str  # for tables: "1-10 %", "1-10 % N", "thin"
    lo: float | None = None  # hole-ratio range, when the bucket has one
    hi: float | None = None
    count: int | None = None  # masks in it; None: drawn on demand, without end


class MaskProtocol(Protocol):
    name: str
    buckets: tuple[MaskBucket, ...]

    def mask_id(self, bucket: MaskBucket, index: int) -> str:
        """What identifies mask ``index`` of ``bucket`` in results (a file or a generator)."""

    def load(self, bucket: MaskBucket, index: int, size: tuple[int, int]) -> np.ndarray:
        """Mask ``index`` of ``bucket`` at ``size`` (height, width): uint8, 255 = hole."""

    def describe(self) -> dict[str, object]:
        """The protocol's settings, for the results."""


def bucket_label(ratio_range: tuple[float, float]) -> str:
    """``(0.01, 0.1)`` -> ``"1-10 %"``."""
    return "-".join(f"{bound * 100:.4f}".rstrip("0").rstrip(".") for bound in ratio_range) + " %"


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 0/255 mask to (height, width)."""
    if mask.shape[:2] == tuple(size):
        return mask
    return cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


# ---------------------------------------------------------------------------
# Masks from files


class FileMaskSet:
    """Mask files grouped into buckets; ids are paths relative to the set's folder."""

    def __init__(self, name: str, root: Path, buckets: Sequence[tuple[MaskBucket, Sequence[str]]],
                 settings: dict[str, object] | None = None) -> None:
        self.name = name
        self.root = root
        self._files = {bucket.name: list(files) for bucket, files in buckets}
        self.buckets = tuple(
            MaskBucket(bucket.name, bucket.label, bucket.lo, bucket.hi, len(files)) for bucket, files in buckets
        )
        self._settings = settings or {}

    def mask_id(self, bucket: MaskBucket, index: int) -> str:
        return self._files[bucket.name][index]

    def load(self, bucket: MaskBucket, index: int, size: tuple[int, int]) -> np.ndarray:
        return resize_mask(read_mask(self.root / self.mask_id(bucket, index)), size)

    def describe(self) -> dict[str, object]:
        return {"protocol": self.name, "folder": os.path.abspath(self.root), **self._settings,
                "buckets": [asdict(bucket) for bucket in self.buckets]}


def nvidia_mask_set(folder: Path, by_border: bool = False,
                    keep: Sequence[tuple[float, float]] | None = None) -> FileMaskSet:
    """The NVIDIA irregular test set in ``folder``, bucketed by file order (see the module
    docstring); ``keep`` limits it to some of its six buckets."""
    names = [f"{index:05d}.png" for index in range(NVIDIA_COUNT)]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise MaskSetError(
            f"{folder}: not the NVIDIA irregular mask test set: {len(missing)} of 00000.png-11999.png "
            f"are missing, e.g. {missing[0]}"
        )
    half = NVIDIA_PER_BUCKET // 2
    groups: list[tuple[MaskBucket, list[str]]] = []
    for number, ratio_range in enumerate(DEFAULT_BUCKETS):
        if keep is not None and not any(_same_range(ratio_range, wanted) for wanted in keep):
            continue
        start = number * NVIDIA_PER_BUCKET
        base, label = bucket_name(ratio_range), bucket_label(ratio_range)
        if by_border:
            groups.append((MaskBucket(f"{base}-N", f"{label} N", *ratio_range), names[start:start + half]))
            groups.append((MaskBucket(f"{base}-B", f"{label} B", *ratio_range),
                           names[start + half:start + NVIDIA_PER_BUCKET]))
        else:
            groups.append((MaskBucket(base, label, *ratio_range), names[start:start + NVIDIA_PER_BUCKET]))
    if not groups:
        raise MaskSetError(f"none of the asked-for buckets is one of the NVIDIA set's: "
                           f"{', '.join(bucket_label(r) for r in DEFAULT_BUCKETS)}")
    return FileMaskSet("nvidia", folder, groups, {"by_border": by_border, "resize": "nearest"})


def manifest_mask_set(folder: Path, keep: Sequence[tuple[float, float]] | None = None) -> FileMaskSet:
    """A ``make-masks`` folder: buckets and files from its ``manifest.json``."""
    try:
        manifest = json.loads((folder / MANIFEST_JSON).read_text(encoding="utf-8"))
        records = [(float(m["bucket_lo"]), float(m["bucket_hi"]), str(m["file"])) for m in manifest["masks"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MaskSetError(f"{folder / MANIFEST_JSON}: not a make-masks manifest ({error})") from error
    files: dict[tuple[float, float], list[str]] = {}
    for lo, hi, file in records:
        files.setdefault((lo, hi), []).append(file)
    groups = [
        (MaskBucket(bucket_name(bounds), bucket_label(bounds), *bounds), names)
        for bounds, names in files.items()
        if keep is None or any(_same_range(bounds, wanted) for wanted in keep)
    ]
    if not groups:
        raise MaskSetError(f"{folder}: no masks in the asked-for buckets")
    settings = {key: manifest.get(key) for key in ("kind", "seed", "height", "width", "border")}
    return FileMaskSet("make-masks", folder, groups, {**settings, "resize": "nearest"})


def folder_mask_set(folder: Path, ranges: Sequence[tuple[float, float]], size: tuple[int, int]) -> FileMaskSet:
    """Any folder of masks: each file goes to the bucket its hole ratio at ``size`` falls in
    (files in none are left out); files in name order."""
    names = sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES
    )
    if not names:
        raise MaskSetError(f"{folder}: no mask images in it")
    files: dict[tuple[float, float], list[str]] = {bounds: [] for bounds in ranges}
    for name in names:
        ratio = hole_ratio(resize_mask(read_mask(folder / name), size))
        for bounds in ranges:
            if bounds[0] <= ratio < bounds[1]:
                files[bounds].append(name)
                break
    groups = [(MaskBucket(bucket_name(b), bucket_label(b), *b), f) for b, f in files.items() if f]
    if not groups:
        raise MaskSetError(f"{folder}: none of its {len(names)} masks lies in the buckets "
                           f"{', '.join(bucket_label(r) for r in ranges)} at {size[0]}x{size[1]}")
    placed = sum(len(f) for _, f in groups)
    return FileMaskSet("folder", folder, groups, {"files": len(names), "outside_buckets": len(names) - placed,
                                                  "bucketed_at": f"{size[0]}x{size[1]}", "resize": "nearest"})


def _same_range(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return math.isclose(a[0], b[0], abs_tol=1e-9) and math.isclose(a[1], b[1], abs_tol=1e-9)


# ---------------------------------------------------------------------------
# Generated masks


class GeneratedMaskSet:
    """``make-masks`` masks drawn at the evaluation size from a fixed seed."""

    def __init__(self, kind: str, seed: int, ranges: Sequence[tuple[float, float]], border: int = 0) -> None:
        if kind not in MASK_KINDS:
            raise MaskSetError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
        if seed < 0:
            raise MaskSetError(f"the mask seed must be a non-negative integer, not {seed}")
        self.name = f"make-masks:{kind}"
        self.kind, self.seed, self.border = kind, seed, border
        self.buckets = tuple(MaskBucket(bucket_name(r), bucket_label(r), *r) for r in ranges)

    def mask_id(self, bucket: MaskBucket, index: int) -> str:
        return f"{self.kind}:seed={self.seed}:{bucket.name}:{index}"

    def load(self, bucket: MaskBucket, index: int, size: tuple[int, int]) -> np.ndarray:
        assert bucket.lo is not None and bucket.hi is not None
        ratio_range = (bucket.lo, bucket.hi)
        rng = mask_rng(self.seed, ratio_range, index)
        return generate_mask(self.kind, size[0], size[1], ratio_range, rng, self.border)

    def describe(self) -> dict[str, object]:
        return {"protocol": self.name, "kind": self.kind, "seed": self.seed, "border": self.border,
                "buckets": [asdict(bucket) for bucket in self.buckets]}


@dataclass(frozen=True)
class _LamaStrokes:
    min_times: int
    max_times: int
    max_width: int
    max_angle: int
    max_len: int


@dataclass(frozen=True)
class _LamaBoxes:
    margin: int
    bbox_min_size: int
    bbox_max_size: int
    min_times: int
    max_times: int


# LaMa's configs/data_gen/random_{thin,medium,thick}_256.yaml: (strokes, boxes, box_proba).
LAMA_SETTINGS: dict[str, tuple[_LamaStrokes, _LamaBoxes | None, float]] = {
    "thin": (_LamaStrokes(4, 50, 10, 4, 40), None, 0.0),
    "medium": (_LamaStrokes(4, 5, 50, 4, 100), _LamaBoxes(0, 10, 50, 1, 5), 0.3),
    "thick": (_LamaStrokes(1, 5, 100, 4, 200), _LamaBoxes(10, 30, 150, 1, 3), 0.3),
}
LAMA_MAX_HOLE_RATIO = 0.5  # LaMa's max_tamper_area
_LAMA_TRIES = 200


def lama_mask(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One LaMa ``thin`` / ``medium`` / ``thick`` mask (255 = hole). Sizes are LaMa's for
    256 px, scaled to the shorter side; masks covering more than half the image, or
    nothing, are redrawn, as LaMa's generator does."""
    strokes, boxes, box_proba = LAMA_SETTINGS[kind]
    scale = min(height, width) / 256
    for _ in range(_LAMA_TRIES):
        # LaMa's MixedMaskGenerator picks strokes or boxes with weights 1 : box_proba.
        if boxes is not None and rng.random() < box_proba / (1 + box_proba):
            mask = _lama_boxes(boxes, height, width, scale, rng)
        else:
            mask = _lama_strokes(strokes, height, width, scale, rng)
        ratio = hole_ratio(mask)
        if 0 < ratio <= LAMA_MAX_HOLE_RATIO:
            return mask
    raise MaskGenerationError(f"no LaMa {kind} mask of {height}x{width} covered 0-50 % in {_LAMA_TRIES} draws")


def _lama_strokes(p: _LamaStrokes, height: int, width: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    # LaMa's RandomIrregularMaskGenerator passes max_times + 1 as the inclusive maximum.
    for stroke in range(int(rng.integers(p.min_times, p.max_times + 2))):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        for _ in range(1 + int(rng.integers(5))):
            angle = 0.01 + int(rng.integers(p.max_angle))
            if stroke % 2 == 0:
                angle = 2 * 3.1415926 - angle
            length = (10 + int(rng.integers(p.max_len))) * scale
            brush = max(1, round((5 + int(rng.integers(p.max_width))) * scale))
            end_x = int(np.clip(int(x + length * np.sin(angle)), 0, width))
            end_y = int(np.clip(int(y + length * np.cos(angle)), 0, height))
            cv2.line(mask, (x, y), (end_x, end_y), HOLE, brush)
            x, y = end_x, end_y
    return mask


def _lama_boxes(p: _LamaBoxes, height: int, width: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    margin = round(p.margin * scale)
    low = max(1, round(p.bbox_min_size * scale))
    # LaMa's RandomRectangleMaskGenerator passes bbox_max_size + 1 as the exclusive maximum.
    high = max(low + 1, min(round(p.bbox_max_size * scale) + 1, height - 2 * margin, width - 2 * margin))
    for _ in range(int(rng.integers(p.min_times, p.max_times + 1))):
        box_width, box_height = int(rng.integers(low, high)), int(rng.integers(low, high))
        left = int(rng.integers(margin, max(margin + 1, width - margin - box_width + 1)))
        top = int(rng.integers(margin, max(margin + 1, height - margin - box_height + 1)))
        mask[top:top + box_height, left:left + box_width] = HOLE
    return mask


class LamaMaskSet:
    """LaMa's thin / medium / thick masks drawn at the evaluation size from a fixed seed."""

    def __init__(self, kinds: Sequence[str], seed: int) -> None:
        unknown = [kind for kind in kinds if kind not in LAMA_KINDS]
        if unknown or not kinds:
            raise MaskSetError(f"unknown LaMa mask kind {unknown[0] if unknown else ''!r}; "
                               f"choose from {', '.join(LAMA_KINDS)}")
        if seed < 0:
            raise MaskSetError(f"the mask seed must be a non-negative integer, not {seed}")
        self.name = "lama"
        self.seed = seed
        self.buckets = tuple(MaskBucket(kind, kind) for kind in kinds)

    def mask_id(self, bucket: MaskBucket, index: int) -> str:
        return f"lama-{bucket.name}:seed={self.seed}:{index}"

    def load(self, bucket: MaskBucket, index: int, size: tuple[int, int]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, LAMA_KINDS.index(bucket.name), index])
        return lama_mask(bucket.name, size[0], size[1], rng)

    def describe(self) -> dict[str, object]:
        return {"protocol": self.name, "seed": self.seed, "kinds": [b.name for b in self.buckets],
                "max_hole_ratio": LAMA_MAX_HOLE_RATIO}


def open_mask_protocol(
    spec: str,
    size: tuple[int, int],
    seed: int = 0,
    ranges: Sequence[tuple[float, float]] | None = None,
    by_border: bool = False,
) -> MaskProtocol:
    """The protocol a ``--masks`` value names: a make-masks kind (generated from ``seed``),
    ``lama`` or some of ``thin,medium,thick``, or a folder (the NVIDIA set, a make-masks
    set, or any masks). ``ranges`` limits or, for a plain folder, defines the buckets."""
    kinds = [part.strip() for part in spec.split(",") if part.strip()]
    if spec == "lama" or (kinds and all(kind in LAMA_KINDS for kind in kinds)):
        if ranges is not None:
            raise MaskSetError("LaMa masks come in thin / medium / thick, not in hole-ratio buckets; drop --buckets")
        return LamaMaskSet(LAMA_KINDS if spec == "lama" else kinds, seed)
    if spec in MASK_KINDS:
        return GeneratedMaskSet(spec, seed, ranges or DEFAULT_BUCKETS)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise MaskSetError(
            f"--masks {spec!r}: not a folder of masks, a make-masks kind ({', '.join(MASK_KINDS)}), "
            f"or LaMa's {', '.join(LAMA_KINDS)} (or lama for all three)"
        )
    if (folder / MANIFEST_JSON).is_file():
        return manifest_mask_set(folder, ranges)
    if (folder / "00000.png").is_file() and (folder / f"{NVIDIA_COUNT - 1:05d}.png").is_file():
        return nvidia_mask_set(folder, by_border, ranges)
    return folder_mask_set(folder, ranges or DEFAULT_BUCKETS, size)


# ---------------------------------------------------------------------------
# Pairing


@dataclass(frozen=True)
class Pair:
    """One evaluation case: an image and the mask it gets in one bucket."""

    case: str  # "<bucket>/<image index, 6 digits>": unique in a run
    bucket: str
    image_index: int
    image: str  # relative to the dataset root
    mask_index: int
    mask: str  # the protocol's mask id


def pair_images(
    image_names: Sequence[str],
    protocol: MaskProtocol,
    stride: int = 1,
    offset: int = 0,
    seed: int | None = None,
) -> list[Pair]:
    """Every image with one mask of every bucket (see the module docstring), image by image."""
    if stride < 1 or offset < 0:
        raise MaskSetError(f"pairing needs stride >= 1 and offset >= 0, not {stride} and {offset}")
    orders: dict[str, np.ndarray | None] = {}
    for number, bucket in enumerate(protocol.buckets):
        if seed is not None and bucket.count is not None:
            orders[bucket.name] = np.random.default_rng([seed, number]).permutation(bucket.count)
        else:
            orders[bucket.name] = None
    pairs = []
    for image_index, image in enumerate(image_names):
        for bucket in protocol.buckets:
            order = orders[bucket.name]
            if bucket.count is None:
                mask_index = image_index * stride + offset
            elif order is not None:
                mask_index = int(order[image_index % bucket.count])
            else:
                mask_index = (image_index * stride + offset) % bucket.count
            pairs.append(Pair(f"{bucket.name}/{image_index:06d}", bucket.name, image_index, image,
                              mask_index, protocol.mask_id(bucket, mask_index)))
    return pairs


def write_pairs(pairs: Iterable[Pair], path: str | os.PathLike[str]) -> None:
    """Write ``pairs.csv`` (atomically)."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=PAIRS_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(pair) for pair in pairs)
    write_text_atomically(path, table.getvalue())


def read_pairs(path: str | os.PathLike[str], protocol: MaskProtocol) -> list[Pair]:
    """Read ``pairs.csv`` and check every mask is the protocol's mask of that bucket and index."""
    path = Path(path)
    buckets = {bucket.name: bucket for bucket in protocol.buckets}
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            if reader.fieldnames is None or not set(PAIRS_FIELDS) <= set(reader.fieldnames):
                raise MaskSetError(f"{path}: not a pairs file; its columns must include {', '.join(PAIRS_FIELDS)}")
            rows = list(reader)
    except OSError as error:
        raise MaskSetError(f"{path}: cannot read the pairs file ({error.strerror})") from error
    except UnicodeDecodeError:
        raise MaskSetError(f"{path}: not a pairs file (not UTF-8 text); give an earlier run's pairs.csv") from None
    except csv.Error as error:
        raise MaskSetError(f"{path}: not a pairs file ({first_line(error)}); give an earlier run's pairs.csv") from None
    pairs = []
    for line, row in enumerate(rows, start=2):
        try:
            pair = Pair(row["case"], row["bucket"], int(row["image_index"]), row["image"],
                        int(row["mask_index"]), row["mask"])
        except (ValueError, TypeError) as error:
            raise MaskSetError(f"{path}:{line}: malformed row ({error})") from error
        if pair.image_index < 0 or pair.mask_index < 0:
            raise MaskSetError(f"{path}:{line}: malformed row (a negative index)")
        bucket = buckets.get(pair.bucket)
        if bucket is None:
            raise MaskSetError(f"{path}:{line}: bucket {pair.bucket!r} is not one of these masks' "
                               f"({', '.join(buckets)}); give the --masks the pairs were made with")
        if bucket.count is not None and not 0 <= pair.mask_index < bucket.count:
            raise MaskSetError(f"{path}:{line}: mask index {pair.mask_index} is outside bucket {pair.bucket}")
        if protocol.mask_id(bucket, pair.mask_index) != pair.mask:
            raise MaskSetError(f"{path}:{line}: mask {pair.mask!r} is {protocol.mask_id(bucket, pair.mask_index)!r} "
                               "in these masks; give the --masks (and --mask-seed) the pairs were made with")
        pairs.append(pair)
    if len({pair.case for pair in pairs}) != len(pairs):
        raise MaskSetError(f"{path}: a case is listed twice")
    if not pairs:
        raise MaskSetError(f"{path}: no pairs in it")
    return pairs
