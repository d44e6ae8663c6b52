"""Flip averaging, a test-time self-ensemble: a fill averaged with the mirrored fill of the
mirrored input. The network is not mirror-symmetric, so the two fills differ where the hole
leaves room for doubt, and their mean is closer to the truth on average (measured on the
general model's validation split: see its card). It costs a second pass of the network."""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

import numpy as np

Array = TypeVar("Array")  # a numpy array or a torch tensor, (B, C, H, W)


def mirrored(batch: Array) -> Array:
    """``batch`` flipped left to right."""
    if isinstance(batch, np.ndarray):
        return np.ascontiguousarray(batch[..., ::-1])
    return batch.flip(-1)  # a torch tensor


def flip_averaged(generate: Callable[[Array, Array], Sequence[Array]], image: Array, known: Array) -> tuple[Array, ...]:
    """Each of ``generate(image, known)``'s outputs averaged with the same output of the mirrored
    input, mirrored back. Two passes one after the other, so the working memory is one pass's."""
    outputs = generate(image, known)
    outputs_of_mirror = generate(mirrored(image), mirrored(known))
    return tuple((output + mirrored(other)) / 2 for output, other in zip(outputs, outputs_of_mirror))
