"""What training is fed: random resized crops, weighted source mixes, per-source held-out splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ptgfill_cli.data.datasets import MAX_CROP_UPSCALE, held_out_split, list_images, random_resized_crop
from ptgfill_cli.training.samples import TRAINING_MASKS, InpaintingSamples, SourceMix, StepBatchSampler
from ptgfill_cli.training.setup import build_samples, split_sources
from ptgfill_cli.training.settings import TrainConfig, TrainData
from ptgfill_cli.errors import PTGFillError, SettingError


def _gradient(height: int, width: int) -> np.ndarray:
    """Each pixel's red channel is its column and green its row (mod 256): crops show where they came from."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols % 256, rows % 256, np.zeros_like(rows)], axis=-1).astype(np.uint8)


def test_random_resized_crop_spans_native_patches_and_whole_photos():
    image = _gradient(200, 250)  # no column value repeats
    spans = []
    for seed in range(200):
        crop = random_resized_crop(image, 64, (0.02, 1.0), np.random.default_rng(seed))
        assert crop.shape == (64, 64, 3)
        columns = crop[32, :, 0].astype(int)
        spans.append(abs(columns[-1] - columns[0]))
    spans = np.array(spans)
    # Small crops are near native resolution (about 52-64 columns wide), large ones cover most of the photo.
    assert (spans < 70).mean() > 0.15
    assert (spans > 160).mean() > 0.15


def test_random_resized_crop_never_blows_up_a_small_photo():
    image = _gradient(150, 150)
    for seed in range(50):
        crop = random_resized_crop(image, 128, (0.01, 0.05), np.random.default_rng(seed))
        columns = crop[64, :, 0].astype(int)
        assert columns[-1] - columns[0] >= 128 / MAX_CROP_UPSCALE - 3


def test_same_rng_same_crop_and_bad_scales_are_refused():
    image = _gradient(200, 300)
    a = random_resized_crop(image, 64, (0.1, 1.0), np.random.default_rng(5))
    b = random_resized_crop(image, 64, (0.1, 1.0), np.random.default_rng(5))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        InpaintingSamples([], 64, TRAINING_MASKS, crop_scale=(0.5, 0.2))
    with pytest.raises(PTGFillError, match="crop_scale must be LO,HI"):
        TrainConfig(crop_scale=(0.0, 1.0))


def test_source_mix_draws_by_weight_and_never_a_zero_weight_source():
    mix = SourceMix(sizes=(10, 1000, 5), weights=(3.0, 1.0, 0.0))
    assert mix.offsets == (0, 10, 1010)
    draws = np.array([mix.draw(np.random.default_rng([1, i])) for i in range(4000)])
    assert 0.70 < (draws < 10).mean() < 0.80
    assert not (draws >= 1010).any()
    for bad in ((1.0, -1.0, 1.0), (0.0, 0.0, 0.0), (1.0, float("nan"), 1.0)):
        with pytest.raises(ValueError):
            SourceMix(sizes=(10, 1000, 5), weights=bad)
    with pytest.raises(ValueError):
        SourceMix(sizes=(10, 0), weights=(1.0, 1.0))


def test_mixed_batches_depend_only_on_the_step():
    mix = SourceMix(sizes=(7, 30), weights=(1.0, 1.0))
    whole = list(StepBatchSampler(37, 4, 0, 6, seed=3, sources=mix))
    resumed = list(StepBatchSampler(37, 4, 4, 6, seed=3, sources=mix))
    assert resumed == whole[4:]
    ranks = [list(StepBatchSampler(37, 4, 0, 6, seed=3, rank=r, world_size=2, sources=mix)) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks)] == whole


def _write_photos(folder: Path, count: int) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for index in range(count):
        Image.fromarray(_gradient(40 + index % 7, 50)).save(folder / f"photo_{index:03d}.png")
    return folder


def test_test_split_is_never_trained_or_validated_on(tmp_path):
    first = _write_photos(tmp_path / "a", 60)
    second = _write_photos(tmp_path / "b", 40)
    splits = split_sources([str(first), str(second)], val_fraction=0.1, test_fraction=0.2)
    for split, folder in zip(splits, (first, second)):
        _, test = held_out_split(list_images(folder), 0.2)
        assert test, "the test split should not be empty here"
        assert not set(test) & set(split.train) and not set(test) & set(split.held_out)
        assert not set(split.train) & set(split.held_out)
        assert len(split.train) + len(split.held_out) + len(test) == len(list_images(folder))
    # Without a test split the validation split is the first val_fraction, as before.
    plain = split_sources([str(first)], val_fraction=0.2)
    assert plain[0].held_out == held_out_split(list_images(first), 0.2)[1]


def test_build_samples_mixes_sources_and_validates_on_each(tmp_path):
    first = _write_photos(tmp_path / "a", 60)
    second = _write_photos(tmp_path / "b", 40)
    config = TrainConfig(out_dir=str(tmp_path / "run"), size=64, crop_scale=(0.2, 1.0))
    train, val, sources = build_samples(
        config, TrainData((str(first), str(second)), source_weights=(1, 3), val_fraction=0.2, val_count=10))
    assert train.mix is not None and train.mix.shares == (0.25, 0.75)
    assert [s["share"] for s in sources] == [0.25, 0.75]
    assert {p.parent for p in val.paths} == {first, second}
    image, hole, ok = train[(0, 1)]
    assert image.shape == (3, 64, 64) and hole.shape == (1, 64, 64) and int(ok) == 1
    with pytest.raises(SettingError, match="source_weights must give one weight per source: 1 for 2"):
        TrainData((str(first), str(second)), source_weights=(1,))
    with pytest.raises(SettingError, match="val_fraction and test_fraction must sum to under 1"):
        TrainData((str(first),), val_fraction=0.6, test_fraction=0.5)


def test_training_masks_include_object_holes():
    from ptgfill_cli.data.masks import hole_ratio

    ratios = [hole_ratio(TRAINING_MASKS(np.random.default_rng(i), 64, 64).astype(np.uint8) * 255) for i in range(60)]
    assert 0.01 <= min(ratios) and max(ratios) < 0.6


def test_a_mask_folder_that_does_not_decode_fails_first_and_bad_masks_are_passed_over(tmp_path):
    from PIL import Image

    from ptgfill_cli.errors import PTGFillError
    from ptgfill_cli.training.samples import MaskFiles

    for number in range(3):
        (tmp_path / f"bad{number}.png").write_bytes(np.random.default_rng(number).bytes(300))
    with pytest.raises(PTGFillError, match=r"none of 3 masks tried could be read, e\.g\. .*bad0\.png: cannot read"):
        MaskFiles(tmp_path)
    hole = np.zeros((32, 32), np.uint8)
    hole[8:16, 8:24] = 255
    Image.fromarray(hole).save(tmp_path / "good.png")
    masks = MaskFiles(tmp_path)
    rng = np.random.default_rng(0)
    drawn = [masks(rng, 32, 32) for _ in range(12)]  # most draws hit a bad file first
    assert all(mask.sum() == 8 * 16 for mask in drawn)


def test_an_error_from_a_dataloader_worker_is_told_by_its_own_line():
    from ptgfill_cli.cli.messages import error_line
    from ptgfill_cli.errors import InputError

    wrapped = InputError("Caught InputError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                         "last):\n  File \"x.py\", line 1, in f\nptgfill_cli.errors.InputError: m.png: cannot read image\n")
    assert error_line(wrapped) == "ptgfill: error: m.png: cannot read image"
