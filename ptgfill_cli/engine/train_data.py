"""What the trainer feeds the model: deterministic batches of (image, hole mask).

Every sample is drawn from ``numpy.random.default_rng([seed, step, slot])``
and every batch's image indices from the step number, so a run resumed at step
k sees exactly the batches the uninterrupted run would have seen, whatever the
number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..data.datasets import center_crop, random_crop, read_rgb, resize_shorter_side


class MaskSource(Protocol):
    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A boolean hole mask (True = hole) of the given size."""


@dataclass
class GeneratedMasks:
    """Masks from the ``make-masks`` generators: a random kind and hole-ratio range each time."""

    kinds: tuple[str, ...] = ("irregular", "strokes", "box")
    max_ratio: float = 0.6

    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        from ..data.masks import generate_mask

        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        low = float(rng.uniform(0.01, self.max_ratio - 0.1))
        return generate_mask(kind, height, width, (low, low + 0.1), rng) > 127


class MaskFolder:
    """Masks from files (white = hole), e.g. the NVIDIA irregular set, with random flips
    and quarter turns as the authors trained, resized (nearest) to the crop size."""

    def __init__(self, folder: str | Path) -> None:
        self.paths = sorted(p for p in Path(folder).rglob("*.png"))
        if not self.paths:
            raise FileNotFoundError(f"{folder}: no PNG masks found")

    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        import cv2

        path = self.paths[int(rng.integers(len(self.paths)))]
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise OSError(f"{path}: cannot read mask")
        if rng.random() < 0.5:
            mask = mask[:, ::-1]
        if rng.random() < 0.5:
            mask = mask[::-1, :]
        mask = np.rot90(mask, int(rng.integers(4)))
        mask = cv2.resize(np.ascontiguousarray(mask), (width, height), interpolation=cv2.INTER_NEAREST)
        return mask > 127


class InpaintingSamples(Dataset):
    """Key ``(index, seed)`` -> (image 3xSxS float in [0, 1], hole 1xSxS float, ok flag).

    Training: resize the shorter side to ``load_size``, random crop, horizontal flip.
    Evaluation (``train=False``): resize and centre crop, no flip.
    ``masks`` is a source drawn from per sample, or a fixed list (one mask per index).
    An unreadable file yields ``ok = 0`` and a blank sample, which the trainer drops
    and counts, so a bad file is never fatal.
    """

    def __init__(
        self, paths: list[Path], size: int, masks: MaskSource | list[np.ndarray],
        load_size: int | None = None, train: bool = True,
    ) -> None:
        self.paths = paths
        self.size = size
        self.load_size = load_size or size
        self.masks = masks
        self.train = train

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
        pixels = resize_shorter_side(pixels, self.load_size)
        if self.train:
            pixels = random_crop(pixels, self.size, rng)
            if rng.random() < 0.5:
                pixels = pixels[:, ::-1]
        else:
            pixels = center_crop(pixels, self.size)
        image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float() / 255
        return image, torch.from_numpy(hole).float()[None], torch.tensor(1)


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches keyed by step: epoch permutations from (seed, epoch); this rank's slice of
    each global batch; every sample's own seed from (seed, step, slot)."""

    def __init__(
        self, dataset_size: int, global_batch: int, start_step: int, total_steps: int, seed: int,
        rank: int = 0, world_size: int = 1,
    ) -> None:
        if global_batch % world_size:
            raise ValueError(f"batch size {global_batch} is not divisible by {world_size} processes")
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


def mask_source(spec: str) -> MaskSource:
    """``generated`` (the make-masks generators) or a folder of mask PNGs (white = hole)."""
    if spec == "generated":
        return GeneratedMasks()
    folder = Path(spec)
    if not folder.is_dir():
        raise FileNotFoundError(f"{spec}: masks must be 'generated' or a folder of PNG masks")
    return MaskFolder(folder)


def fixed_validation_masks(masks: MaskSource, count: int, size: int, seed: int) -> list[np.ndarray]:
    return [masks(np.random.default_rng([seed, 7, i]), size, size) for i in range(count)]
