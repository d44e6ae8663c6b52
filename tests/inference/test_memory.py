"""Memory: the pixel limit refuses huge images unread; a fill that would not fit, or that runs
out of memory, falls back on crops around the holes; an image that never fits fails alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.data.image_io import load_image, load_mask
from ptgfill_cli.data.pairing import FileJob
from ptgfill_cli.errors import InputError
from ptgfill_cli.inference import inpainter as inpainter_module
from ptgfill_cli.inference.batch import run_file_jobs
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.models.factory import build_generator
from ptgfill_cli.runtime.memory import FALLBACK_MAX_SIDE, fill_bytes
from tests.inference.test_batch import write_photo

SIZE = (640, 576)  # (W, H): larger than the fallback crops, so the fallback is seen


@pytest.fixture(scope="module")
def generator():
    return build_generator("lite", seed=0)


def _mask(path: Path, size: tuple[int, int] = SIZE) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[200:260, 300:380] = 255
    Image.fromarray(mask).save(path)
    return mask > 127


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(bomb)  # 17 kB on disk, 432 MB once decoded as RGB
    with pytest.raises(InputError, match=r"bomb.png: 12000x12000 is 144 megapixels, over the limit of 100 "
                                         r"megapixels \(filling it takes about 5.1 GB\); ptgfill inpaint --max-pixels raises the limit"):
        load_image(bomb)
    with pytest.raises(InputError, match="over the limit"):
        load_mask(bomb)
    small = tmp_path / "small.png"
    write_photo(small, "chelsea.png", (64, 48))
    assert load_image(small, max_pixels=64 * 48).width == 64
    with pytest.raises(InputError, match="48x64 is 0.00307 megapixels"):
        load_image(small, max_pixels=64 * 48 - 1)


def test_a_whole_image_that_would_not_fit_in_free_memory_is_filled_from_crops(generator, tmp_path, monkeypatch):
    write_photo(tmp_path / "photo.png", "chelsea.png", SIZE)
    hole = _mask(tmp_path / "mask.png")
    inpainter = Inpainter(generator, strategy="original")
    whole = fill_bytes(SIZE[0] * SIZE[1], SIZE[0] * SIZE[1], process=False)
    monkeypatch.setattr(inpainter_module, "available_bytes", lambda: whole - 1)
    result = inpainter.inpaint(load_image(tmp_path / "photo.png"), hole)
    assert result.strategy == "crop" and max(max(size) for size in result.working_sizes) <= FALLBACK_MAX_SIDE
    assert "free: filled from crops around the holes" in result.note
    monkeypatch.setattr(inpainter_module, "available_bytes", lambda: whole + 1)
    result = inpainter.inpaint(load_image(tmp_path / "photo.png"), hole)
    assert result.strategy == "original" and result.note is None


class _MemoryBound:
    """Wraps a network that runs out of memory on inputs over ``limit`` pixels."""

    def __init__(self, network, limit: int) -> None:
        self.network, self.limit, self.calls = network, limit, []

    def __getattr__(self, name):
        return getattr(self.network, name)

    def generate(self, image, known):
        self.calls.append(image.shape)
        if image.shape[0] * image.shape[2] * image.shape[3] > self.limit:
            raise MemoryError("out of memory (test)")
        return self.network.generate(image, known)


@pytest.mark.parametrize("limit", [FALLBACK_MAX_SIDE**2, 1])
def test_out_of_memory_retries_alone_then_on_crops_and_the_batch_goes_on(generator, tmp_path, limit):
    photos = [tmp_path / f"p{number}.png" for number in range(3)]
    for path in photos:
        write_photo(path, "coffee.png", SIZE)
    _mask(tmp_path / "mask.png")
    inpainter = Inpainter(generator, strategy="original", batch_size=2)
    inpainter.network = _MemoryBound(inpainter.network, limit)
    jobs = [FileJob(path, tmp_path / "mask.png", tmp_path / "out" / path.name) for path in photos]
    (tmp_path / "out").mkdir()
    results = list(run_file_jobs(inpainter, jobs, overlap=False))
    assert len(results) == 3
    if limit == 1:  # nothing fits: each image fails alone, with one line naming it
        assert all(not r.ok and r.error == f"{r.job.image_path}: out of memory, also on crops; try a smaller "
                   "--max-side or --batch-size" for r in results)
        assert not list((tmp_path / "out").iterdir())
        return
    assert all(r.ok and r.fill.strategy == "crop" and "out of memory on the whole image" in r.fill.note
               for r in results)
    original = load_image(photos[0]).rgb
    hole = load_mask(tmp_path / "mask.png")
    for path in photos:
        filled = load_image(tmp_path / "out" / path.name).rgb
        assert np.array_equal(filled[~hole], original[~hole]) and not np.array_equal(filled[hole], original[hole])
