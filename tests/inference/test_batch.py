"""Running file jobs: every job gets a result, bad files fail alone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.data.image_io import load_image
from ptgfill_cli.data.pairing import FileJob
from ptgfill_cli.inference import batch
from ptgfill_cli.inference.batch import load_shared_mask, run_file_jobs
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.errors import PTGFillError
from ptgfill_cli.models.factory import build_generator
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def inpainter() -> Inpainter:
    return Inpainter(build_generator("lite", seed=0), batch_size=2)


def write_photo(path: Path, name: str, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    rgb = cv2.resize(np.asarray(Image.open(EXAMPLES / name).convert("RGB")), size, interpolation=cv2.INTER_AREA)
    Image.fromarray(rgb).save(path)
    return rgb


def write_mask(path: Path, size: tuple[int, int] = (64, 48), fill: int = 0) -> np.ndarray:
    mask = np.full((size[1], size[0]), fill, np.uint8)
    cv2.rectangle(mask, (20, 10), (35, 25), 255 - fill, -1)
    Image.fromarray(mask).save(path)
    return mask > 127


def test_bad_files_fail_alone_and_the_rest_are_written(inpainter, tmp_path):
    out = tmp_path / "out"
    photo = write_photo(tmp_path / "good.png", "chelsea.png")
    write_photo(tmp_path / "other.png", "coffee.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    hole_mask = write_mask(tmp_path / "mask.png")
    write_mask(tmp_path / "small_mask.png", size=(32, 32))
    jobs = [
        FileJob(tmp_path / "good.png", tmp_path / "mask.png", out / "good.png", out / "good_coarse.png"),
        FileJob(tmp_path / "corrupt.png", tmp_path / "mask.png", out / "corrupt.png"),
        FileJob(tmp_path / "other.png", tmp_path / "small_mask.png", out / "other.png"),
        FileJob(tmp_path / "x.png", None, out / "x.png", error="x.png: no mask for it"),
        FileJob(tmp_path / "other.png", tmp_path / "mask.png", out / "other2.png"),
    ]
    results = list(run_file_jobs(inpainter, jobs))

    assert [r.job for r in results] == jobs
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert results[1].error.startswith(f"{tmp_path / 'corrupt.png'}: cannot read image")
    assert results[2].error == f"{tmp_path / 'small_mask.png'}: mask is 32x32 but the image is 64x48"
    assert results[3].error == "x.png: no mask for it"
    assert sorted(p.name for p in out.iterdir()) == ["good.png", "good_coarse.png", "other2.png"]
    filled = load_image(out / "good.png").rgb
    assert np.array_equal(filled[~hole_mask], photo[~hole_mask])

    record = results[0].to_dict()
    assert record["status"] == "ok" and record["output"] == str(out / "good.png")
    assert record["coarse"] == str(out / "good_coarse.png") and record["strategy"] == "original"
    failed = results[1].to_dict()
    assert failed["status"] == "error" and failed["output"] is None and "cannot read" in failed["error"]


def test_alpha_masks_and_images_without_alpha(inpainter, tmp_path):
    rgb = write_photo(tmp_path / "plain.png", "chelsea.png")
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[5:15, 5:25] = 0
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "cutout.png")
    jobs = [
        FileJob(tmp_path / "cutout.png", None, tmp_path / "out" / "cutout.png"),
        FileJob(tmp_path / "plain.png", None, tmp_path / "out" / "plain.png"),
    ]
    results = list(run_file_jobs(inpainter, jobs))
    assert results[0].ok
    saved = Image.open(tmp_path / "out" / "cutout.png")
    assert saved.mode == "RGB"
    assert np.array_equal(np.asarray(saved)[alpha == 255], rgb[alpha == 255])
    assert results[1].error == f"{tmp_path / 'plain.png'}: no mask given and the image has no alpha channel to use as one"


def test_a_shared_mask_is_read_once(inpainter, tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        write_photo(tmp_path / f"{name}.png", "chelsea.png")
    write_mask(tmp_path / "mask.png")
    reads = []
    real_load_mask = batch.load_mask
    monkeypatch.setattr(batch, "load_mask", lambda path, **kw: reads.append(path) or real_load_mask(path, **kw))
    jobs = [FileJob(tmp_path / f"{n}.png", tmp_path / "mask.png", tmp_path / "out" / f"{n}.png") for n in "abc"]
    assert all(result.ok for result in run_file_jobs(inpainter, jobs))
    assert reads == [tmp_path / "mask.png"]


def test_invert_and_existing_outputs(inpainter, tmp_path):
    write_photo(tmp_path / "a.png", "chelsea.png")
    write_mask(tmp_path / "mask.png", fill=255)  # black rectangle on white: the hole when inverted
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"keep me")
    job = FileJob(tmp_path / "a.png", tmp_path / "mask.png", tmp_path / "out" / "a.png")
    [refused] = run_file_jobs(inpainter, [job], invert_mask=True)
    assert "already exists" in refused.error and (tmp_path / "out" / "a.png").read_bytes() == b"keep me"
    [replaced] = run_file_jobs(inpainter, [job], invert_mask=True, overwrite=True)
    assert replaced.ok and 0.05 < replaced.fill.hole_ratio < 0.1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_shared_mask_that_is_all_hole_fails_early(tmp_path):
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "white.png")
    with pytest.raises(PTGFillError, match=r"white\.png: mask is all hole"):
        load_shared_mask(tmp_path / "white.png")
    assert not load_shared_mask(tmp_path / "white.png", invert=True).any()


def test_overlapped_decoding_and_encoding_match_the_serial_run(tmp_path, monkeypatch):
    import threading

    inpainter = Inpainter(build_generator("lite", seed=0), batch_size=1)
    for name, photo in (("a", "chelsea.png"), ("b", "coffee.png"), ("c", "astronaut.png")):
        write_photo(tmp_path / f"{name}.png", photo)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    write_mask(tmp_path / "mask.png")
    threads: dict[str, set[str]] = {"decode": set(), "network": set(), "encode": set()}

    def recording(kind, function):
        def run(*args, **kwargs):
            threads[kind].add(threading.current_thread().name)
            return function(*args, **kwargs)
        return run

    monkeypatch.setattr(batch, "load_image", recording("decode", batch.load_image))
    monkeypatch.setattr(batch, "save_image", recording("encode", batch.save_image))
    monkeypatch.setattr(inpainter, "run", recording("network", inpainter.run))

    def jobs(folder: str) -> list[FileJob]:
        return [
            FileJob(tmp_path / f"{n}.png", tmp_path / "mask.png", tmp_path / folder / f"{n}.png")
            for n in ("a", "bad", "b", "c")
        ]

    serial = list(run_file_jobs(inpainter, jobs("serial"), overlap=False))
    assert threads == {"decode": {"MainThread"}, "network": {"MainThread"}, "encode": {"MainThread"}}
    for kind in threads:
        threads[kind].clear()
    overlapped = list(run_file_jobs(inpainter, jobs("overlapped"), overlap=True))

    assert threads["network"] == {"MainThread"}
    assert all(name.startswith("ptgfill-decode") for name in threads["decode"])
    assert all(name.startswith("ptgfill-encode") for name in threads["encode"])
    assert [r.job.image_path.name for r in overlapped] == ["a.png", "bad.png", "b.png", "c.png"]
    assert [r.ok for r in overlapped] == [r.ok for r in serial] == [True, False, True, True]
    assert overlapped[1].error == serial[1].error
    for name in ("a", "b", "c"):
        assert (tmp_path / "overlapped" / f"{name}.png").read_bytes() == (
            tmp_path / "serial" / f"{name}.png"
        ).read_bytes()
