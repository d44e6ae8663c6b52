"""Working plans: regions, scales and padding for each strategy."""

from __future__ import annotations

import numpy as np
import pytest

from ptgfill_cli.inference.working import Box, crop_boxes, from_working, grow_box, plan_working, to_working


def hole_mask_with(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    hole_mask = np.zeros(shape, bool)
    for top, left, bottom, right in boxes:
        hole_mask[top:bottom, left:right] = True
    return hole_mask


def test_original_pads_to_a_multiple_of_32():
    [plan] = plan_working(hole_mask_with((300, 451), (10, 10, 20, 20)), "original")
    assert plan.region == Box(0, 0, 300, 451)
    assert plan.scaled_size == (300, 451) and not plan.is_scaled
    assert plan.padded_size == (320, 480)


def test_auto_is_original_up_to_max_side_then_crop():
    small = hole_mask_with((1024, 700), (500, 300, 540, 340))
    large = hole_mask_with((1025, 700), (500, 300, 540, 340))
    assert plan_working(small, "auto")[0].strategy == "original"
    assert plan_working(large, "auto")[0].strategy == "crop"
    assert plan_working(large, "auto", max_side=2048)[0].strategy == "original"


def test_resize_scales_the_whole_image_down_only():
    [plan] = plan_working(hole_mask_with((1500, 2000), (0, 0, 5, 5)), "resize", max_side=512)
    assert plan.region == Box(0, 0, 1500, 2000)
    assert plan.scaled_size == (384, 512) and plan.padded_size == (384, 512)
    [small] = plan_working(hole_mask_with((100, 90), (0, 0, 5, 5)), "resize", max_side=512)
    assert small.scaled_size == (100, 90) and small.padded_size == (128, 96)


def test_crop_boxes_grow_by_the_margin_or_half_the_hole():
    shape = (1500, 2000)
    assert grow_box(Box(700, 900, 740, 960), 128, shape) == Box(572, 772, 868, 1088)
    assert grow_box(Box(400, 400, 800, 1000), 128, shape) == Box(100, 100, 1100, 1300)  # 600 wide
    assert grow_box(Box(0, 0, 10, 10), 128, shape) == Box(0, 0, 138, 138)
    assert crop_boxes(hole_mask_with(shape, (700, 900, 740, 960)), 128) == [Box(572, 772, 868, 1088)]


def test_crop_boxes_one_per_cluster_merging_overlaps():
    mask = hole_mask_with(
        (1500, 2000),
        (100, 100, 120, 120), (100, 300, 120, 320),  # boxes overlap: merged
        (1000, 1500, 1010, 1510),  # far away: its own box
    )
    assert crop_boxes(mask, 100) == [Box(0, 0, 220, 420), Box(900, 1400, 1110, 1610)]


def test_crop_boxes_fall_back_to_one_box_when_there_would_be_too_many():
    mask = np.zeros((1500, 2000), bool)
    mask[100:1400:200, 100:1900:200] = True  # 7 x 9 specks far apart
    assert crop_boxes(mask, 10) == [Box(90, 90, 1311, 1711)]
    assert len(crop_boxes(mask, 10, max_crops=100)) == 63


def test_crop_of_far_apart_holes_is_bounded_by_max_side():
    mask = hole_mask_with((1500, 2000), (10, 10, 30, 30), (1450, 1950, 1480, 1990))
    plans = plan_working(mask, "crop", max_side=512)
    assert [plan.region for plan in plans] == [Box(0, 0, 158, 158), Box(1322, 1822, 1500, 2000)]
    assert all(max(plan.padded_size) <= 512 for plan in plans)
    big_holes = hole_mask_with((1500, 2000), (300, 300, 1200, 1700))
    [plan] = plan_working(big_holes, "crop", max_side=512)
    assert plan.is_scaled and max(plan.padded_size) <= 512


def test_to_working_marks_padding_by_mirroring_the_mask():
    unit_rgb = np.random.default_rng(0).random((40, 50, 3), dtype=np.float32)
    mask = hole_mask_with((40, 50), (35, 45, 40, 50))  # a hole in the corner
    [plan] = plan_working(mask, "original")
    image, known = to_working(unit_rgb, ~mask, plan, 1.0)
    assert image.shape == (3, 64, 64) and known.shape == (1, 64, 64)
    assert np.array_equal(image[:, :40, :50], unit_rgb.transpose(2, 0, 1))
    # The mirrored copy of the corner hole is a hole too.
    assert known[0, 40:45, 50:55].max() == 0
    assert known[0, :35, :45].min() == 1


def test_scaled_known_mask_never_covers_a_hole():
    rng = np.random.default_rng(1)
    mask = rng.random((300, 400)) > 0.995
    [plan] = plan_working(mask, "resize", max_side=96)
    _, known = to_working(np.zeros((300, 400, 3), np.uint8), ~mask, plan, 255)
    height, width = plan.scaled_size
    # Each working pixel covers about 4x4 source pixels: known only if all of them are.
    rows, cols = np.nonzero(mask)
    working_rows = (rows * height / 300).astype(int)
    working_cols = (cols * width / 400).astype(int)
    assert known[0, working_rows, working_cols].max() == 0


def test_from_working_removes_padding_and_scales_back():
    mask = hole_mask_with((150, 200), (10, 10, 20, 20))
    [plan] = plan_working(mask, "resize", max_side=64)
    assert plan.scaled_size == (48, 64)
    working = np.full((3, *plan.padded_size), 0.25, np.float32)
    back = from_working(working, plan)
    assert back.shape == (150, 200, 3)
    assert np.allclose(back, 0.25, atol=1e-5)


def test_bad_arguments_are_refused():
    mask = hole_mask_with((10, 10), (0, 0, 1, 1))
    with pytest.raises(ValueError, match="strategy"):
        plan_working(mask, "zoom")
    with pytest.raises(ValueError, match="max_side"):
        plan_working(mask, "auto", max_side=16)


def test_tiny_images_are_padded_to_the_minimum_side():
    [plan] = plan_working(hole_mask_with((5, 3), (0, 0, 1, 1)), "original")
    assert plan.padded_size == (64, 64)
    image, known = to_working(np.zeros((5, 3, 3), np.uint8), ~hole_mask_with((5, 3), (0, 0, 1, 1)), plan, 255)
    assert image.shape == (3, 64, 64) and known[0, 0, 0] == 0
