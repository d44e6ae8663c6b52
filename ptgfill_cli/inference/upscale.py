"""Thin holes filled at twice the size.

PTG-Fill works at half its input's resolution: the coarse net takes every second pixel, and
the refine net's first layer has stride 2. Next to a hole's edge it therefore cannot carry
on the known pixels' finest detail, and a thin hole (a scratch, a stroke) is nearly all
edge. For such a hole the network runs on the working image enlarged 2x, every pixel
repeated (so no hole pixel leaks into the known ones and nothing is made up), and each
2x2 block of its output is averaged back. For a thick hole the enlargement halves the
network's reach across the hole and costs more than it gains, so the choice is made per
image by the hole's mean depth: the mean distance from a hole pixel to the nearest known
one. Measured on the general model (its card): the enlarged fill gains +0.74 dB on average for
holes under 2 px deep and loses for holes over 5 px deep; the threshold was chosen on
training photos and checked on the validation split.

Modes: ``auto`` (the default) enlarges thin-hole images only while the enlarged image has
at most ``AUTO_MAX_PIXELS`` (the cost of one plain 512x512 fill, and as far as it was found to
help: at 512x512 the enlarged fill ran at 1024x1024 and lost 0.8 dB on the validation photos it
enlarged, the card's Limits); ``thin`` enlarges every thin-hole image whatever its size (at
512x512 eight times the network time on a 2-core CPU); ``off`` never.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

import cv2
import numpy as np

from ..runtime.choices import UPSCALE_MODES
from .flip_average import flip_averaged

Array = TypeVar("Array")  # a numpy array or a torch tensor, (B, C, H, W)

FACTOR = 2
THIN_HOLE_DEPTH = 5.0  # px: a hole whose mean depth is under this is thin
AUTO_MAX_PIXELS = 512 * 512  # the largest enlarged image ``auto`` runs


def check_mode(mode: str) -> str:
    if mode not in UPSCALE_MODES:
        raise ValueError(f"upscale must be one of {', '.join(UPSCALE_MODES)}, not {mode!r}")
    return mode


def mode_for(mode: str, fixed_size: tuple[int, int] | None) -> str:
    """``mode`` for a network that takes inputs of ``fixed_size`` only (a fixed-size ONNX export)
    or of any size (None): a fixed-size network is never enlarged."""
    check_mode(mode)
    return "off" if fixed_size is not None else mode


def hole_depth(known: np.ndarray) -> float:
    """The mean distance in pixels from a hole pixel of ``known`` ((H, W), nonzero = known)
    to the nearest known pixel; 0 without holes."""
    holes = (np.asarray(known) < 0.5).astype(np.uint8)
    if not holes.any():
        return 0.0
    if holes.all():
        return float("inf")
    return float(cv2.distanceTransform(holes, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[holes > 0].mean())


def wants_upscale(known: np.ndarray, mode: str) -> bool:
    """Whether the image with this (H, W) known mask is filled enlarged under ``mode``."""
    check_mode(mode)
    if mode == "off":
        return False
    height, width = np.asarray(known).shape[-2:]
    if mode == "auto" and height * width * FACTOR * FACTOR > AUTO_MAX_PIXELS:
        return False
    return 0.0 < hole_depth(known) < THIN_HOLE_DEPTH


def upscale_choices(known: Array, mode: str) -> list[bool]:
    """``wants_upscale`` for each image of a (B, 1, H, W) known batch."""
    check_mode(mode)
    if mode == "off":
        return [False] * len(known)
    masks = known if isinstance(known, np.ndarray) else known.detach().cpu().numpy()
    return [wants_upscale(mask[0], mode) for mask in masks]


def enlarged(batch: Array) -> Array:
    """``batch`` with every pixel repeated ``FACTOR`` x ``FACTOR`` times."""
    if isinstance(batch, np.ndarray):
        return batch.repeat(FACTOR, axis=-2).repeat(FACTOR, axis=-1)
    return batch.repeat_interleave(FACTOR, -2).repeat_interleave(FACTOR, -1)  # a torch tensor


def reduced(batch: Array) -> Array:
    """``batch`` with each ``FACTOR`` x ``FACTOR`` block averaged into one pixel."""
    b, c, h, w = batch.shape
    blocks = batch.reshape(b, c, h // FACTOR, FACTOR, w // FACTOR, FACTOR)
    if isinstance(blocks, np.ndarray):
        return blocks.mean(axis=(3, 5), dtype=np.float32).astype(batch.dtype)
    return blocks.mean(dim=(3, 5))


def fill_upscaled_where(
    generate: Callable[[Array, Array], Sequence[Array]], image: Array, known: Array, choices: Sequence[bool]
) -> tuple[Array, ...]:
    """``generate(image, known)``'s outputs, with the images whose ``choices`` are true run
    enlarged and reduced back; the two groups go through ``generate`` separately."""
    if not any(choices):
        return tuple(generate(image, known))
    if all(choices):
        return tuple(reduced(output) for output in generate(enlarged(image), enlarged(known)))
    up = [i for i, chosen in enumerate(choices) if chosen]
    plain = [i for i, chosen in enumerate(choices) if not chosen]
    up_outputs = fill_upscaled_where(generate, image[up], known[up], [True] * len(up))
    plain_outputs = tuple(generate(image[plain], known[plain]))
    order = np.argsort(up + plain).tolist()
    return tuple(_concatenated(a, b)[order] for a, b in zip(up_outputs, plain_outputs))


def _concatenated(first: Array, second: Array) -> Array:
    if isinstance(first, np.ndarray):
        return np.concatenate([first, second])
    import torch

    return torch.cat([first, second])


def fill_as_asked(
    generate: Callable[[Array, Array], Sequence[Array]], image: Array, known: Array, choices: Sequence[bool],
    flip_average: bool,
) -> tuple[Array, ...]:
    """``fill_upscaled_where``, and with ``flip_average`` each output averaged with the mirrored
    input's (``flip_average.flip_averaged``); the one way every caller runs a network."""

    def run(image: Array, known: Array) -> tuple[Array, ...]:
        return fill_upscaled_where(generate, image, known, choices)

    return flip_averaged(run, image, known) if flip_average else run(image, known)
