"""Small random batches for the tests of functions that take numpy arrays or torch tensors."""

from __future__ import annotations

import numpy as np
import torch


def random_batch(kind: str, batch: int, height: int, width: int, seed: int = 0):
    """A (batch, 3, H, W) image in [0, 1) and a (batch, 1, H, W) known mask of 0s and 1s, as numpy
    arrays (``kind`` "numpy") or torch tensors ("torch")."""
    rng = np.random.default_rng(seed)
    image = rng.random((batch, 3, height, width), np.float32)
    known = (rng.random((batch, 1, height, width)) > 0.5).astype(np.float32)
    if kind == "torch":
        return torch.from_numpy(image), torch.from_numpy(known)
    return image, known
