"""Flip averaging: the mean of a fill and the mirrored fill of the mirrored input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptgfill_cli.inference.flip_average import flip_averaged, mirrored
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.models.factory import build_generator
from tests.inference.batches import random_batch
from tests.inference.test_inpainter import hole_mask_for, photo


def _lopsided(image, known):
    """An output that depends on the column, so mirroring changes it: column index times pixel."""
    width = image.shape[-1]
    columns = np.arange(width, dtype=np.float32) if isinstance(image, np.ndarray) else torch.arange(width).float()
    return image * columns, known + 0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_each_output_is_averaged_with_the_mirror_s_mirrored_back(kind):
    image, known = random_batch(kind, 2, 4, 5)
    refined, coarse = flip_averaged(_lopsided, image, known)
    # image * c averaged with image * (W - 1 - c): the column weight becomes (W - 1) / 2 everywhere.
    np.testing.assert_allclose(np.asarray(refined), np.asarray(image) * 2.0, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(coarse), np.asarray(known))
    assert np.array_equal(np.asarray(mirrored(mirrored(image))), np.asarray(image))


@pytest.fixture(scope="module")
def generator():
    return build_generator("lite", seed=0).eval()


def test_inpainter_fill_is_the_mean_of_the_fill_and_the_mirrored_fill_of_the_mirror(generator):
    rgb, hole_mask = photo(size=(96, 64)), hole_mask_for(64, 96)  # a multiple of 32: no padding
    plain = Inpainter(generator).inpaint(rgb, hole_mask).pixels.astype(int)
    of_mirror = Inpainter(generator).inpaint(rgb[:, ::-1].copy(), hole_mask[:, ::-1].copy()).pixels[:, ::-1]
    averaged = Inpainter(generator, flip_average=True).inpaint(rgb, hole_mask).pixels.astype(int)
    assert np.array_equal(averaged[~hole_mask], rgb[~hole_mask])
    # The mean before rounding against the mean of the rounded fills: one grey level apart at most.
    assert np.abs(averaged - (plain + of_mirror.astype(int)) / 2).max() <= 1
    assert np.abs(averaged - plain)[hole_mask].max() > 2  # a random network is far from symmetric
