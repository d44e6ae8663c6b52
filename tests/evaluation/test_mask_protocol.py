"""Evaluation mask protocols (NVIDIA bucketing by file order, make-masks sets and kinds,
LaMa thin / medium / thick) and the deterministic pairing of images with masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ptgfill_cli.evaluation import mask_protocol
from ptgfill_cli.evaluation.mask_protocol import (
    LamaMaskSet,
    MaskSetError,
    open_mask_protocol,
    pair_images,
    read_pairs,
    write_pairs,
)
from ptgfill_cli.data.masks import HOLE, hole_ratio, read_mask, write_mask_set
from tests.conftest import SHARED


def nvidia_folder() -> Path:
    folder = SHARED / "data" / "masks" / "pconv-irregular"
    if not (folder / "11999.png").is_file():
        pytest.skip(f"needs the NVIDIA mask set at {folder} (../shared beside the checkout)")
    return folder


def test_nvidia_set_is_bucketed_by_file_order_with_border_halves() -> None:
    folder = nvidia_folder()
    protocol = open_mask_protocol(str(folder), (256, 256))
    assert protocol.name == "nvidia"
    assert [b.label for b in protocol.buckets] == ["1-10 %", "10-20 %", "20-30 %", "30-40 %", "40-50 %", "50-60 %"]
    assert all(b.count == 2000 for b in protocol.buckets)
    third = protocol.buckets[2]
    assert (protocol.mask_id(third, 0), protocol.mask_id(third, 1999)) == ("04000.png", "05999.png")
    halves = open_mask_protocol(str(folder), (256, 256), by_border=True)
    assert [b.name for b in halves.buckets[:2]] == ["001-010-N", "001-010-B"]
    assert (halves.mask_id(halves.buckets[1], 0), halves.mask_id(halves.buckets[3], 999)) == ("01000.png", "03999.png")
    # At 512 px the file's own ratio lies in its bucket; the N half keeps a 50 px border free.
    for bucket in halves.buckets[::2]:
        mask = read_mask(folder / halves.mask_id(bucket, 7))
        assert bucket.lo <= hole_ratio(mask) < bucket.hi
        inner = np.zeros_like(mask, bool)
        inner[50:-50, 50:-50] = True
        assert not (mask[~inner] == HOLE).any()
    small = protocol.load(protocol.buckets[5], 3, (64, 64))
    assert small.shape == (64, 64) and set(np.unique(small)) <= {0, HOLE}


def test_nvidia_buckets_can_be_limited() -> None:
    protocol = open_mask_protocol(str(nvidia_folder()), (256, 256), ranges=((0.1, 0.2), (0.4, 0.5)))
    assert [b.name for b in protocol.buckets] == ["010-020", "040-050"]
    assert protocol.mask_id(protocol.buckets[1], 0) == "08000.png"


def test_a_partial_nvidia_folder_is_refused(tmp_path: Path) -> None:
    mask = np.zeros((8, 8), np.uint8)
    for name in ("00000.png", "11999.png"):
        cv2.imwrite(str(tmp_path / name), mask)
    with pytest.raises(MaskSetError, match="not the NVIDIA irregular mask test set"):
        open_mask_protocol(str(tmp_path), (32, 32))


def test_generated_masks_equal_what_make_masks_writes(tmp_path: Path) -> None:
    buckets = ((0.1, 0.2), (0.3, 0.4))
    write_mask_set(tmp_path / "set", "mix", 3, buckets, size=(48, 48), seed=5)
    generated = open_mask_protocol("mix", (48, 48), seed=5, ranges=buckets)
    from_files = open_mask_protocol(str(tmp_path / "set"), (48, 48))
    assert from_files.name == "make-masks" and [b.name for b in from_files.buckets] == ["010-020", "030-040"]
    for bucket_a, bucket_b in zip(generated.buckets, from_files.buckets):
        for index in range(3):
            assert np.array_equal(generated.load(bucket_a, index, (48, 48)), from_files.load(bucket_b, index, (48, 48)))
    other_seed = open_mask_protocol("mix", (48, 48), seed=6, ranges=buckets)
    assert not np.array_equal(other_seed.load(other_seed.buckets[0], 0, (48, 48)),
                              generated.load(generated.buckets[0], 0, (48, 48)))


def test_any_folder_is_bucketed_by_measured_hole_ratio(tmp_path: Path) -> None:
    for name, rows in (("a.png", 2), ("b.png", 5), ("c.png", 12), ("d.png", 0)):
        mask = np.zeros((20, 20), np.uint8)
        mask[:rows] = 255
        cv2.imwrite(str(tmp_path / name), mask)
    protocol = open_mask_protocol(str(tmp_path), (20, 20), ranges=((0.05, 0.2), (0.2, 0.5)))
    assert protocol.name == "folder"
    assert [(b.name, b.count) for b in protocol.buckets] == [("005-020", 1), ("020-050", 1)]
    assert [protocol.mask_id(b, 0) for b in protocol.buckets] == ["a.png", "b.png"]
    assert protocol.describe()["outside_buckets"] == 2


def test_lama_masks_are_seeded_and_cover_at_most_half() -> None:
    protocol = open_mask_protocol("thin,thick", (128, 128), seed=3)
    assert [b.name for b in protocol.buckets] == ["thin", "thick"]
    again = LamaMaskSet(["thin", "thick"], 3)
    for bucket in protocol.buckets:
        ratios = []
        for index in range(6):
            mask = protocol.load(bucket, index, (128, 128))
            assert np.array_equal(mask, again.load(bucket, index, (128, 128)))
            ratios.append(hole_ratio(mask))
        assert all(0 < r <= 0.5 for r in ratios)
        assert len(set(ratios)) > 1
    assert protocol.mask_id(protocol.buckets[1], 4) == "lama-thick:seed=3:4"
    different = LamaMaskSet(["thin"], 4)
    assert not np.array_equal(different.load(different.buckets[0], 0, (128, 128)),
                              protocol.load(protocol.buckets[0], 0, (128, 128)))


def test_lama_strokes_follow_the_published_widths() -> None:
    # Thin strokes are 5-14 px wide at 256 px, thick ones 5-104: thick masks are far blobbier.
    def mean_run(kind: str) -> float:
        protocol = LamaMaskSet([kind], 0)
        runs = []
        for index in range(8):
            mask = protocol.load(protocol.buckets[0], index, (256, 256)) == HOLE
            changes = np.diff(mask.astype(np.int8), axis=1)
            starts = (changes == 1).sum()
            runs.append(mask.sum() / max(starts, 1))
        return float(np.mean(runs))

    assert mean_run("thick") > 2 * mean_run("thin")


def test_unknown_mask_specs_and_lama_buckets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MaskSetError, match="not a folder of masks"):
        open_mask_protocol(str(tmp_path / "missing"), (32, 32))
    with pytest.raises(MaskSetError, match="thin / medium / thick"):
        open_mask_protocol("lama", (32, 32), ranges=((0.1, 0.2),))


def test_pairing_by_stride_and_offset() -> None:
    protocol = LamaMaskSet(["thin"], 0)  # generated: never reused
    pairs = pair_images(["a.jpg", "b.jpg", "c.jpg"], protocol, stride=3, offset=2)
    assert [(p.case, p.mask_index) for p in pairs] == [("thin/000000", 2), ("thin/000001", 5), ("thin/000002", 8)]


def test_pairing_with_a_file_set_wraps_and_does_not_depend_on_the_image_count(tmp_path: Path) -> None:
    write_mask_set(tmp_path / "set", "box", 4, ((0.1, 0.2), (0.2, 0.3)), size=(16, 16), seed=0)
    protocol = open_mask_protocol(str(tmp_path / "set"), (16, 16))
    names = [f"{i}.png" for i in range(7)]
    by_stride = pair_images(names, protocol, stride=3, offset=1)
    assert [p.mask_index for p in by_stride if p.bucket == "010-020"] == [(i * 3 + 1) % 4 for i in range(7)]
    seeded = pair_images(names, protocol, seed=11)
    first = [p.mask_index for p in seeded if p.bucket == "020-030"][:4]
    assert sorted(first) == [0, 1, 2, 3]  # a permutation: no mask twice before all are used
    assert pair_images(names[:3], protocol, seed=11) == seeded[:6]
    assert pair_images(names, protocol, seed=12) != seeded
    assert [p.case for p in seeded[:2]] == ["010-020/000000", "020-030/000000"]


def test_pairs_file_round_trip_and_checks(tmp_path: Path) -> None:
    protocol = open_mask_protocol("irregular", (32, 32), seed=1, ranges=((0.1, 0.2),))
    pairs = pair_images(["x/a.jpg", "b.jpg"], protocol)
    write_pairs(pairs, tmp_path / "pairs.csv")
    assert read_pairs(tmp_path / "pairs.csv", protocol) == pairs
    other_seed = open_mask_protocol("irregular", (32, 32), seed=2, ranges=((0.1, 0.2),))
    with pytest.raises(MaskSetError, match="mask-seed"):
        read_pairs(tmp_path / "pairs.csv", other_seed)
    other_buckets = open_mask_protocol("irregular", (32, 32), seed=1, ranges=((0.2, 0.3),))
    with pytest.raises(MaskSetError, match="bucket '010-020'"):
        read_pairs(tmp_path / "pairs.csv", other_buckets)
    (tmp_path / "bad.csv").write_text("case,image\n1,2\n")
    with pytest.raises(MaskSetError, match="not a pairs file"):
        read_pairs(tmp_path / "bad.csv", protocol)


def test_resize_mask_is_nearest_neighbour() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[:2, :2] = 255
    big = mask_protocol.resize_mask(mask, (8, 8))
    assert set(np.unique(big)) == {0, 255} and big[:4, :4].all() and not big[4:, :].any()
