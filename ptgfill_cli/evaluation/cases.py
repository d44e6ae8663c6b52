"""Loading the cases of a run: each pair's image fitted to the evaluation size (cached per
image) and its mask; a case that cannot load is returned as its reason, not raised."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.datasets import read_rgb
from ..data.masks import HOLE
from ..errors import PTGFillError
from .catalogue import fit_image
from .mask_protocol import MaskProtocol, Pair



@dataclass
class Case:
    pair: Pair
    truth: np.ndarray  # (H, W, 3) uint8
    hole: np.ndarray  # (H, W) uint8, 255 = hole


class CaseLoader:
    """Images (fitted, cached per image) and masks for pairs; failures are returned, not raised."""

    def __init__(self, dataset_root: Path, protocol: MaskProtocol, size: int, fit: str) -> None:
        self.root, self.protocol, self.size, self.fit = dataset_root, protocol, size, fit
        self.buckets = {bucket.name: bucket for bucket in protocol.buckets}
        self._images: dict[str, np.ndarray | None] = {}

    def image_path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.root / path

    def load(self, pair: Pair) -> Case | str:
        if pair.image not in self._images:
            if len(self._images) > 32:
                self._images.clear()
            rgb = read_rgb(self.image_path(pair.image))
            self._images[pair.image] = None if rgb is None else fit_image(rgb, self.size, self.fit)
        truth = self._images[pair.image]
        if truth is None:
            return f"cannot read image {self.image_path(pair.image)}"
        try:
            hole = self.protocol.load(self.buckets[pair.bucket], pair.mask_index, (self.size, self.size))
        except PTGFillError as error:
            return str(error)
        return Case(pair, truth, hole)


def case_tensors(cases: Sequence[Case]) -> tuple[torch.Tensor, torch.Tensor]:
    truth = torch.from_numpy(np.stack([case.truth for case in cases])).permute(0, 3, 1, 2).double() / 255
    known = torch.from_numpy(np.stack([case.hole != HOLE for case in cases])[:, None]).double()
    return truth, known
