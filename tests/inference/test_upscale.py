"""Thin holes filled on the working image enlarged 2x (pixels repeated), the output averaged back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.inference.upscale import (
    AUTO_MAX_PIXELS,
    THIN_HOLE_DEPTH,
    enlarged,
    fill_upscaled_where,
    hole_depth,
    reduced,
    upscale_choices,
    wants_upscale,
)
from ptgfill_cli.models.factory import build_generator
from tests.inference.batches import random_batch
from tests.inference.test_inpainter import photo


def known_with(height: int, width: int, *, line: int = 0, square: int = 0) -> np.ndarray:
    """A known mask (1 = known) with a horizontal hole ``line`` pixels thick and/or a square hole."""
    known = np.ones((height, width), np.float32)
    if line:
        known[height // 2 : height // 2 + line, 4 : width - 4] = 0
    if square:
        known[4 : 4 + square, 4 : 4 + square] = 0
    return known


def test_hole_depth_is_the_mean_distance_to_the_nearest_known_pixel():
    assert hole_depth(known_with(64, 64)) == 0.0
    assert hole_depth(known_with(64, 64, line=1)) == pytest.approx(1.0)
    assert hole_depth(known_with(64, 64, line=3)) == pytest.approx(4 / 3, rel=0.05)  # 1, 2, 1
    assert hole_depth(known_with(96, 96, square=40)) == pytest.approx(40 / 6 + 0.5, abs=0.1)  # a sixth of the side
    assert hole_depth(np.zeros((8, 8), np.float32)) == float("inf")


def test_only_thin_holes_are_enlarged_and_auto_only_while_the_enlarged_image_is_small():
    thin, thick = known_with(64, 64, line=4), known_with(96, 96, square=40)
    assert hole_depth(thin) < THIN_HOLE_DEPTH < hole_depth(thick)
    assert wants_upscale(thin, "auto") and wants_upscale(thin, "thin") and not wants_upscale(thin, "off")
    assert not wants_upscale(thick, "auto") and not wants_upscale(thick, "thin")
    assert not wants_upscale(known_with(64, 64), "thin")  # no hole
    side = int(np.sqrt(AUTO_MAX_PIXELS)) // 2  # enlarged, exactly the most auto runs
    assert wants_upscale(known_with(side, side, line=4), "auto")
    big = known_with(side + 8, side, line=4)
    assert not wants_upscale(big, "auto") and wants_upscale(big, "thin")
    with pytest.raises(ValueError, match="upscale must be one of auto, thin, off"):
        wants_upscale(thin, "always")
    batch = torch.from_numpy(np.stack([thin[None], known_with(64, 64, square=40)[None]]))
    assert upscale_choices(batch, "auto") == [True, False]
    assert upscale_choices(batch, "off") == [False, False]


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_enlarging_repeats_pixels_and_reducing_averages_blocks(kind):
    batch = np.arange(2 * 3 * 4 * 6, dtype=np.float32).reshape(2, 3, 4, 6)
    if kind == "torch":
        batch = torch.from_numpy(batch)
    big = enlarged(batch)
    assert tuple(big.shape) == (2, 3, 8, 12)
    assert np.array_equal(np.asarray(big)[:, :, 1::2, ::2], np.asarray(batch))
    assert np.array_equal(np.asarray(reduced(big)), np.asarray(batch))
    assert np.asarray(reduced(big)).dtype == np.float32


def _sized(image, known):
    """An output that tells which size it was computed at: the pixels plus the width / 1000."""
    return image + image.shape[-1] / 1000, known + 0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_a_mixed_batch_runs_each_group_at_its_size_and_keeps_the_order(kind):
    image, known = random_batch(kind, 3, 8, 8)
    refined, coarse = fill_upscaled_where(_sized, image, known, [True, False, True])
    offsets = np.asarray(refined) - np.asarray(image)
    np.testing.assert_allclose(offsets[[0, 2]], 0.016, atol=1e-6)
    np.testing.assert_allclose(offsets[1], 0.008, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(coarse), np.asarray(known))
    same, _ = fill_upscaled_where(_sized, image, known, [False] * 3)
    np.testing.assert_allclose(np.asarray(same) - np.asarray(image), 0.008, atol=1e-6)


@pytest.fixture(scope="module")
def generator():
    return build_generator("lite", seed=0).eval()


def test_inpainter_fills_a_scratch_enlarged_and_a_large_hole_as_it_is(generator):
    rgb = photo(size=(96, 64))  # multiples of 32: no padding
    scratch = np.zeros((64, 96), bool)
    scratch[20:23, 10:90] = True
    filled = Inpainter(generator).inpaint(rgb, scratch)
    assert filled.upscaled and filled.working_sizes == [(64, 96)] and filled.to_dict()["upscaled"] is True
    assert np.array_equal(filled.pixels[~scratch], rgb[~scratch])
    # The same as running the network on the repeated pixels and averaging 2x2 blocks back.
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    known = torch.from_numpy(~scratch)[None, None].float()
    with torch.inference_mode():
        big = generator(enlarged(image * known), enlarged(known)).refined
    expected = (reduced(big)[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255)
    assert np.abs(filled.pixels[scratch].astype(int) - expected[scratch]).max() <= 1
    plain = Inpainter(generator, upscale="off").inpaint(rgb, scratch)
    assert not plain.upscaled and plain.working_sizes == [(64, 96)]
    assert np.abs(plain.pixels.astype(int) - filled.pixels)[scratch].max() > 2
    block = np.zeros((64, 96), bool)
    block[8:48, 20:70] = True
    assert not Inpainter(generator).inpaint(rgb, block).upscaled


def test_inpainter_refuses_an_unknown_upscale_mode(generator):
    with pytest.raises(ValueError, match="upscale must be one of"):
        Inpainter(generator, upscale="2x")
