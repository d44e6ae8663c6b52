"""What the trainer feeds the model: deterministic batches of (image, hole mask).

Every sample is drawn from ``numpy.random.default_rng([seed, step, slot])``
and every batch's image indices from the step number, so a run resumed at step
k sees exactly the batches the uninterrupted run would have seen, whatever the
number of workers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..data.datasets import center_crop, list_images, random_crop, random_resized_crop, read_rgb, resize_shorter_side
from ..data.image_io import IMAGE_SUFFIXES, load_mask
from ..errors import InputError, PTGFillError

log = logging.getLogger(__name__)


class MaskSource(Protocol):
    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A boolean hole mask (True = hole) of the given size."""


@dataclass
class GeneratedMasks:
    """Masks from the ``make-masks`` generators: a random kind and hole-ratio range each time.

    ``kinds`` (irregular, strokes, box) draw a 10-point ratio range between 1 % and
    ``max_ratio``; with probability ``object_share`` the mask is instead one object-shaped
    hole (the ``object`` kind) of ``object_ratio``, as people draw around a thing to remove.
    """

    kinds: tuple[str, ...] = ("irregular", "strokes", "box")
    max_ratio: float = 0.6
    object_share: float = 0.0
    object_ratio: tuple[float, float] = (0.05, 0.4)

    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        from ..data.masks import generate_mask

        if self.object_share and rng.random() < self.object_share:
            lo, hi = self.object_ratio
            low = float(rng.uniform(lo, hi - 0.1))
            return generate_mask("object", height, width, (low, low + 0.1), rng) > 127
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        low = float(rng.uniform(0.01, self.max_ratio - 0.1))
        return generate_mask(kind, height, width, (low, low + 0.1), rng) > 127


# The training default: the make-masks kinds and, a third of the time, an object-shaped hole.
TRAINING_MASKS = GeneratedMasks(object_share=1 / 3)


class MaskFiles:
    """Masks from files (``image_io.load_mask``: white = hole), e.g. the NVIDIA irregular set,
    with random flips and quarter turns as the authors trained, resized (nearest) to the crop size."""

    DRAWS = 16  # unreadable masks in a row before a sample gives up

    def __init__(self, folder: str | Path) -> None:
        self.paths = list_images(folder) if Path(folder).is_dir() else []
        if not self.paths:
            raise PTGFillError(f"{folder}: no mask images ({', '.join(IMAGE_SUFFIXES)}) in it")
        # Fail before training when the folder's masks do not decode (a few, spread over it).
        probes = self.paths[:: max(1, len(self.paths) // 8)][:8]
        failures = []
        for path in probes:
            try:
                load_mask(path)
            except InputError as error:
                failures.append(str(error))
        if len(failures) == len(probes):
            raise PTGFillError(f"{folder}: none of {len(probes)} masks tried could be read, e.g. {failures[0]}")

    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        import cv2

        for _ in range(self.DRAWS):  # an unreadable mask is passed over, as an unreadable image is
            path = self.paths[int(rng.integers(len(self.paths)))]
            try:
                mask = load_mask(path).astype(np.uint8)
                break
            except InputError as error:
                log.warning("skipping unreadable mask: %s", error)
        else:
            raise PTGFillError(f"{self.DRAWS} masks in a row could not be read, the last {path}")
        if rng.random() < 0.5:
            mask = mask[:, ::-1]
        if rng.random() < 0.5:
            mask = mask[::-1, :]
        mask = np.rot90(mask, int(rng.integers(4)))
        mask = cv2.resize(np.ascontiguousarray(mask), (width, height), interpolation=cv2.INTER_NEAREST)
        return mask > 0


class InpaintingSamples(Dataset):
    """Key ``(index, seed)`` -> (image 3xSxS float in [0, 1], hole 1xSxS float, ok flag).

    Training: resize the shorter side to ``load_size``, random crop, horizontal flip; or,
    with ``crop_scale=(lo, hi)``, a random resized crop covering a fraction of the photo's
    area drawn log-uniformly from that range (see ``random_resized_crop``), so photos of
    every size are seen at many scales.
    Evaluation (``train=False``): resize and centre crop, no flip.
    ``masks`` is a source drawn from per sample, or a fixed list (one mask per index).
    An unreadable file yields ``ok = 0`` and a blank sample, which the trainer drops
    and counts, so a bad file is never fatal.
    """

    def __init__(
        self, paths: list[Path], size: int, masks: MaskSource | list[np.ndarray],
        load_size: int | None = None, train: bool = True, crop_scale: tuple[float, float] | None = None,
    ) -> None:
        if crop_scale is not None and not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ValueError(f"crop scale must be 0 < lo <= hi <= 1, not {crop_scale}")
        self.paths = paths
        self.size = size
        self.load_size = load_size or size
        self.masks = masks
        self.train = train
        self.crop_scale = crop_scale
        self.mix: SourceMix | None = None  # set when the paths come from several weighted sources

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index, seed = key
        rng = np.random.default_rng(seed)
        pixels = read_rgb(self.paths[index])
        if isinstance(self.masks, list):
            hole = self.masks[index]
        else:
            hole = self.masks(rng, self.size, self.size)
        if pixels is None:
            return torch.zeros(3, self.size, self.size), torch.zeros(1, self.size, self.size), torch.tensor(0)
        if self.train and self.crop_scale is not None:
            pixels = random_resized_crop(pixels, self.size, self.crop_scale, rng)
        else:
            pixels = resize_shorter_side(pixels, self.load_size)
            pixels = random_crop(pixels, self.size, rng) if self.train else center_crop(pixels, self.size)
        if self.train and rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float() / 255
        return image, torch.from_numpy(hole).float()[None], torch.tensor(1)


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches keyed by step: epoch permutations from (seed, epoch); this rank's slice of
    each global batch; every sample's own seed from (seed, step, slot).

    With ``sources`` (a :class:`SourceMix`), each slot instead draws its source by the
    mix's weights and an image of that source, both from (seed, step, slot), so a batch
    does not depend on what came before it either.
    """

    def __init__(
        self, dataset_size: int, global_batch: int, start_step: int, total_steps: int, seed: int,
        rank: int = 0, world_size: int = 1, sources: "SourceMix | None" = None,
    ) -> None:
        if global_batch % world_size:
            raise ValueError(f"batch size {global_batch} is not divisible by {world_size} processes")
        self.sources = sources
        self.size = dataset_size
        self.global_batch = global_batch
        self.start = start_step
        self.total = total_steps
        self.seed = seed
        self.rank = rank
        self.world = world_size

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def _indices(self, step: int) -> list[int]:
        if self.sources is not None:
            return [self.sources.draw(np.random.default_rng([self.seed, step, slot, 1]))
                    for slot in range(self.global_batch)]
        first = step * self.global_batch
        out: list[int] = []
        while len(out) < self.global_batch:
            position = first + len(out)
            epoch, offset = divmod(position, self.size)
            order = np.random.default_rng([self.seed, epoch]).permutation(self.size)
            take = min(self.global_batch - len(out), self.size - offset)
            out.extend(int(i) for i in order[offset : offset + take])
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        per_rank = self.global_batch // self.world
        for step in range(self.start, self.total):
            indices = self._indices(step)
            slots = range(self.rank * per_rank, (self.rank + 1) * per_rank)
            yield [
                (indices[slot], int(np.random.SeedSequence([self.seed, step, slot]).generate_state(1)[0]))
                for slot in slots
            ]


@dataclass(frozen=True)
class SourceMix:
    """Several image sources laid end to end in one dataset, each drawn with its weight.

    ``sizes[i]`` images of source ``i`` occupy indices ``offsets[i] .. offsets[i] + sizes[i]``;
    ``weights`` need not sum to one.
    """

    sizes: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.weights) or not self.sizes:
            raise ValueError("a source mix needs one weight per source")
        if any(not math.isfinite(w) or w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError(f"source weights must be finite, not negative, and not all zero: {self.weights}")
        if any(size == 0 and weight > 0 for size, weight in zip(self.sizes, self.weights)):
            raise ValueError("a source with no images cannot have a weight")

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.cumsum((0,) + self.sizes[:-1]))

    @property
    def shares(self) -> tuple[float, ...]:
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)

    def draw(self, rng: np.random.Generator) -> int:
        source = int(rng.choice(len(self.sizes), p=self.shares))
        return self.offsets[source] + int(rng.integers(self.sizes[source]))


def mask_source(spec: str) -> MaskSource:
    """``generated`` (the make-masks generators and object-shaped holes) or a folder of
    mask images (white = hole)."""
    if spec == "generated":
        return TRAINING_MASKS
    folder = Path(spec)
    if not folder.is_dir():
        raise PTGFillError(f"masks {spec!r}: neither 'generated' nor a folder of mask images")
    return MaskFiles(folder)


def fixed_validation_masks(masks: MaskSource, count: int, size: int, seed: int) -> list[np.ndarray]:
    return [masks(np.random.default_rng([seed, 7, i]), size, size) for i in range(count)]


def interleave(groups: Sequence[Sequence[Path]], count: int) -> list[Path]:
    """Up to ``count`` paths taken from the groups in turn, so that every group is represented."""
    out: list[Path] = []
    for position in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if position < len(group) and len(out) < count:
                out.append(group[position])
    return out
