"""Tests for the hole-mask generators and mask sets on disk (ptgfill_cli.data.masks)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.data import mask_spec, masks
from ptgfill_cli.errors import SettingError
from tests.conftest import SHARED

NVIDIA_MASKS = SHARED / "data" / "masks" / "pconv-irregular"
DRAWN_KINDS = ("irregular", "strokes", "box", "center", "object", "mix")


def _border_is_free(mask: np.ndarray, border: int) -> bool:
    inner = np.zeros(mask.shape, bool)
    inner[border:mask.shape[0] - border, border:mask.shape[1] - border] = True
    return not mask[~inner].any()


def _edge_fraction(mask: np.ndarray) -> float:
    """Share of hole pixels on the hole's boundary: high for thin strokes, low for blobs."""
    holes = (mask == masks.HOLE).astype(np.uint8)
    eroded = cv2.erode(holes, np.ones((3, 3), np.uint8))
    return float(holes.sum() - eroded.sum()) / holes.sum()


# --- generating single masks -------------------------------------------------


@pytest.mark.parametrize("kind", DRAWN_KINDS)
@pytest.mark.parametrize("border", [0, 20])
def test_every_mask_lies_in_its_bucket(kind: str, border: int) -> None:
    for ratio_range in mask_spec.DEFAULT_BUCKETS:
        for index in range(4):
            rng = masks.mask_rng(3, ratio_range, index)
            mask = masks.generate_mask(kind, 200, 200, ratio_range, rng, border=border)
            lo, hi = ratio_range
            assert lo <= masks.hole_ratio(mask) < hi, (kind, ratio_range, index)
            assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}


@pytest.mark.parametrize("kind", DRAWN_KINDS)
@pytest.mark.parametrize("shape", [(96, 160), (160, 96), (37, 53)])
def test_masks_have_the_asked_shape_and_ratio(kind: str, shape: tuple[int, int]) -> None:
    ratio_range = (0.2, 0.3)
    mask = masks.generate_mask(kind, *shape, ratio_range, np.random.default_rng(1))
    assert mask.shape == shape
    assert 0.2 <= masks.hole_ratio(mask) < 0.3


@pytest.mark.parametrize("kind", DRAWN_KINDS)
def test_border_stays_free_of_holes(kind: str) -> None:
    for index, ratio_range in enumerate(mask_spec.DEFAULT_BUCKETS):
        rng = np.random.default_rng(index)
        mask = masks.generate_mask(kind, 256, 192, ratio_range, rng, border=25)
        assert _border_is_free(mask, 25)
        assert ratio_range[0] <= masks.hole_ratio(mask) < ratio_range[1]


def test_narrow_custom_bucket_is_hit() -> None:
    for kind in DRAWN_KINDS:
        mask = masks.generate_mask(kind, 128, 128, (0.333, 0.336), np.random.default_rng(7))
        assert 0.333 <= masks.hole_ratio(mask) < 0.336, kind


def test_center_box_hits_counts_that_are_no_product_near_its_shape() -> None:
    # In 64x128, counts such as 2497 are prime or nearly so: the box must settle on another count in range.
    for index in range(20):
        mask = masks.generate_mask("center", 64, 128, (0.3, 0.305), masks.mask_rng(1, (0.3, 0.305), index))
        assert 0.3 <= masks.hole_ratio(mask) < 0.305


def test_unreachable_buckets_raise_value_error() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no 8x8 mask"):
        masks.generate_mask("irregular", 8, 8, (0.3, 0.305), rng)  # no whole pixel count fits
    with pytest.raises(ValueError, match="border"):
        masks.generate_mask("box", 100, 100, (0.1, 0.2), rng, border=50)
    with pytest.raises(ValueError):
        masks.generate_mask("strokes", 100, 100, (0.7, 0.8), rng, border=25)  # inner area is 25 %
    with pytest.raises(ValueError, match="unknown mask kind"):
        masks.generate_mask("blobs", 100, 100, (0.1, 0.2), rng)


def test_center_box_is_one_centred_rectangle() -> None:
    mask = masks.generate_mask("center", 300, 200, (0.2, 0.3), np.random.default_rng(5))
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    assert mask[top:bottom + 1, left:right + 1].all()
    assert abs(top - (299 - bottom)) <= 1 and abs(left - (199 - right)) <= 1


def test_generation_is_reproducible_from_the_rng() -> None:
    for kind in DRAWN_KINDS:
        first = masks.generate_mask(kind, 128, 128, (0.1, 0.2), masks.mask_rng(4, (0.1, 0.2), 2))
        again = masks.generate_mask(kind, 128, 128, (0.1, 0.2), masks.mask_rng(4, (0.1, 0.2), 2))
        other = masks.generate_mask(kind, 128, 128, (0.1, 0.2), masks.mask_rng(5, (0.1, 0.2), 2))
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other), kind


def test_mix_draws_several_kinds() -> None:
    kinds = {masks.choose_kind("mix", masks.mask_rng(0, (0.1, 0.2), i)) for i in range(40)}
    assert kinds == set(mask_spec.BASE_KINDS)


def test_irregular_masks_are_as_ragged_as_the_partial_conv_ones_at_each_ratio() -> None:
    # Reference values: mean edge fraction of 20 NVIDIA test masks per bucket (files i*97 in each).
    nvidia_edge_fraction = (0.157, 0.120, 0.086, 0.060, 0.049, 0.027)
    for ratio_range, reference in zip(mask_spec.DEFAULT_BUCKETS, nvidia_edge_fraction):
        drawn = [
            masks.generate_mask("irregular", 512, 512, ratio_range, masks.mask_rng(0, ratio_range, i))
            for i in range(8)
        ]
        ours = np.mean([_edge_fraction(mask) for mask in drawn])
        assert reference / 2 < ours < reference * 2, (ratio_range, ours, reference)


def test_hole_ratio_counts_only_full_white() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[:2] = 255
    mask[2, :5] = 1
    assert masks.hole_ratio(mask) == 0.2


# --- parsing -----------------------------------------------------------------


def test_parse_buckets_percent_fraction_and_percent_sign() -> None:
    assert mask_spec.parse_buckets("1-10,10-20,20-30,30-40,40-50,50-60") == mask_spec.DEFAULT_BUCKETS
    assert mask_spec.parse_buckets("0.1-0.2, 0.2-0.3") == ((0.1, 0.2), (0.2, 0.3))
    assert mask_spec.parse_buckets("0.5%-1%") == ((0.005, 0.01),)
    assert mask_spec.parse_buckets("12.5-20") == ((0.125, 0.2),)
    assert mask_spec.parse_buckets("0-1") == ((0.0, 0.01),)  # percent, as it reads
    assert mask_spec.parse_buckets("0.0-0.1") == ((0.0, 0.1),)


@pytest.mark.parametrize("text", ["", ",", "10", "a-b", "20-10", "0-150", "10-20,10-20", "1-2-3", "nan-5"])
def test_parse_buckets_rejects_bad_strings(text: str) -> None:
    with pytest.raises(ValueError):
        mask_spec.parse_buckets(text)


def test_parse_size_and_border() -> None:
    assert mask_spec.parse_size("512") == (512, 512)
    assert mask_spec.parse_size("384x512") == (384, 512)
    for bad in ("", "x", "512x", "4x4", "0", "12.5"):
        with pytest.raises(ValueError):
            mask_spec.parse_size(bad)
    assert mask_spec.parse_border("auto", 512, 512) == 50
    assert mask_spec.parse_border("auto", 256, 384) == 25
    assert mask_spec.parse_border("7", 64, 64) == 7
    for bad in ("-1", "32", "wide"):
        with pytest.raises(ValueError):
            mask_spec.parse_border(bad, 64, 64)


def test_bucket_names_sort_like_their_ranges() -> None:
    names = [masks.bucket_name(b) for b in ((0.01, 0.1), (0.1, 0.2), (0.12, 0.2), (0.125, 0.2), (0.5, 0.6))]
    assert names == ["001-010", "010-020", "012-020", "012.5-020", "050-060"]
    assert names == sorted(names)


# --- mask sets on disk -------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path, with its bytes."""
    files = (path for path in folder.rglob("*") if path.is_file())
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in files}


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    settings = dict(kind="mix", count_per_bucket=3, size=(96, 128), border=8)
    masks.write_mask_set(tmp_path / "a", seed=11, **settings)
    masks.write_mask_set(tmp_path / "b", seed=11, **settings)
    masks.write_mask_set(tmp_path / "c", seed=12, **settings)
    first, again, other = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(first) == 6 * 3 + 2
    assert first == again
    assert first.keys() == other.keys()
    pngs = [name for name in first if name.endswith(".png")]
    assert sum(first[name] != other[name] for name in pngs) >= len(pngs) - 2


def test_a_mask_does_not_depend_on_the_set_around_it(tmp_path: Path) -> None:
    masks.write_mask_set(tmp_path / "few", "irregular", 2, ((0.1, 0.2),), (64, 64), seed=3)
    masks.write_mask_set(tmp_path / "many", "irregular", 5, ((0.3, 0.4), (0.1, 0.2)), (64, 64), seed=3)
    for name in ("010-020/00000.png", "010-020/00001.png"):
        assert (tmp_path / "few" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()


def test_manifest_lists_each_file_with_its_measured_ratio(tmp_path: Path) -> None:
    buckets = ((0.01, 0.1), (0.25, 0.5))
    records = masks.write_mask_set(tmp_path, "strokes", 4, buckets, (80, 120), seed=2, border=10)
    manifest = json.loads((tmp_path / masks.MANIFEST_JSON).read_text())
    assert manifest["format"] == masks.MANIFEST_FORMAT
    assert (manifest["kind"], manifest["seed"], manifest["border"]) == ("strokes", 2, 10)
    assert (manifest["height"], manifest["width"]) == (80, 120)
    assert [entry["file"] for entry in manifest["masks"]] == [record.file for record in records]
    with open(tmp_path / masks.MANIFEST_CSV, newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(manifest["masks"]) == 8
    for entry, row in zip(manifest["masks"], rows):
        pixels = np.array(Image.open(tmp_path / entry["file"]).convert("L"))
        assert pixels.shape == (80, 120)
        assert entry["hole_ratio"] == masks.hole_ratio(pixels) == float(row["hole_ratio"])
        assert entry["bucket_lo"] <= entry["hole_ratio"] < entry["bucket_hi"]
        assert row["file"] == entry["file"] and entry["file"].startswith(masks.bucket_name(
            (entry["bucket_lo"], entry["bucket_hi"])) + "/")
        assert _border_is_free(pixels, 10)


def test_files_are_one_bit_pngs_with_white_holes(tmp_path: Path) -> None:
    masks.write_mask_set(tmp_path, "center", 1, ((0.2, 0.3),), (64, 64))
    image = Image.open(tmp_path / "020-030" / "00000.png")
    assert image.format == "PNG" and image.mode == "1"
    pixels = np.array(image.convert("L"))
    assert pixels[32, 32] == 255 and pixels[0, 0] == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_refuses_a_non_empty_folder_unless_overwriting(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(SettingError, match="it is not empty") as refused:
        masks.write_mask_set(tmp_path, "box", 1, ((0.1, 0.2),), (32, 32))
    assert refused.value.setting == "overwrite"
    assert sorted(_files(tmp_path)) == ["notes.txt"]
    masks.write_mask_set(tmp_path, "box", 5, ((0.1, 0.2), (0.2, 0.3)), (32, 32), overwrite=True)
    masks.write_mask_set(tmp_path, "box", 2, ((0.1, 0.2),), (32, 32), overwrite=True)
    assert sorted(_files(tmp_path)) == [
        "010-020/00000.png", "010-020/00001.png", "manifest.csv", "manifest.json", "notes.txt"
    ]


def test_bad_settings_fail_before_anything_is_written(tmp_path: Path) -> None:
    for bad in (
        dict(kind="blobs"), dict(count_per_bucket=0), dict(seed=-1), dict(border=40),
        dict(buckets=((0.1, 0.2), (0.1, 0.2))), dict(size=(8, 8), buckets=((0.3, 0.305),)),
    ):
        settings = dict(kind="box", count_per_bucket=1, buckets=((0.1, 0.2),), size=(64, 64))
        settings.update(bad)
        with pytest.raises(ValueError):
            masks.write_mask_set(tmp_path / "out", **settings)
        assert not (tmp_path / "out").exists()


def test_sixty_masks_at_512_take_a_few_seconds(tmp_path: Path) -> None:
    import time

    start = time.perf_counter()
    records = masks.write_mask_set(tmp_path, "mix", 10, size=(512, 512), seed=0)
    assert len(records) == 60
    assert time.perf_counter() - start < 5.0


def test_bucket_summary_counts_and_means() -> None:
    records = [
        masks.MaskRecord(f"{i}.png", "box", 0.1, 0.2, ratio, 0, i, 8, 8, 0)
        for i, ratio in enumerate((0.125, 0.15625, 0.1875))
    ]
    (row,) = masks.bucket_summary(records)
    assert row["bucket"] == "010-020" and row["count"] == 3
    assert row["mean_hole_ratio"] == pytest.approx(0.15625)
    assert (row["min_hole_ratio"], row["max_hole_ratio"]) == (0.125, 0.1875)


# --- the real NVIDIA test set (optional) ---------------------------------------


@pytest.mark.shared_data
def test_default_buckets_and_hole_ratio_match_the_nvidia_protocol() -> None:
    if not NVIDIA_MASKS.is_dir():
        pytest.skip(f"needs the NVIDIA mask set at {NVIDIA_MASKS} (../shared beside the checkout)")
    for bucket_index, (lo, hi) in enumerate(mask_spec.DEFAULT_BUCKETS):
        for offset in (0, 999, 1000, 1999):  # first and last of the border ("N") and reaching ("B") halves
            mask = masks.read_mask(NVIDIA_MASKS / f"{bucket_index * 2000 + offset:05d}.png")
            assert mask.shape == (512, 512)
            assert lo <= masks.hole_ratio(mask) < hi
            if offset < 1000:
                assert _border_is_free(mask, mask_spec.auto_border(512, 512))


def test_object_holes_are_one_solid_shape_each() -> None:
    """Object holes are filled shapes (few boundary pixels, no gaps), nearly all one piece."""
    for index in range(30):
        lo = (0.05, 0.15, 0.3)[index % 3]
        mask = masks.generate_mask("object", 256, 256, (lo, lo + 0.1), np.random.default_rng(index))
        count, labels = cv2.connectedComponents((mask == masks.HOLE).astype(np.uint8))
        sizes = np.bincount(labels.ravel())[1:]
        assert sizes.max() >= 0.9 * sizes.sum(), index
        assert _edge_fraction(mask) < 0.12, index
        filled = mask.copy()
        contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(filled, contours, -1, masks.HOLE, -1)
        assert np.count_nonzero(filled) <= 1.02 * np.count_nonzero(mask), index  # no holes inside the hole


def test_object_kind_is_not_in_the_mix_so_mix_sets_keep_their_bytes() -> None:
    assert "object" in mask_spec.MASK_KINDS and "object" not in mask_spec.BASE_KINDS
