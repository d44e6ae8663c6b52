"""`ptgfill inpaint` on inputs that used to go wrong silently or hang: coloured masks, a mask
that is the image, a PNG with a flipped bit, a pipe, fp16 on the CPU, a file named like an
option. Each gives the fill it should or one line naming the file, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.data.image_io import load_image, load_mask
from tests.cli.test_inpaint import invoke, write_photo

SIZE = (64, 48)
pytestmark = pytest.mark.usefixtures("no_installed_models")


def _stroke_mask(colour: tuple[int, ...], mode: str) -> np.ndarray:
    canvas = np.zeros((SIZE[1], SIZE[0], len(mode)), np.uint8)
    canvas[10:30, 20:44] = colour
    return canvas


@pytest.mark.parametrize(("colour", "mode"), [
    ((255, 0, 0), "RGB"), ((0, 0, 255), "RGB"), ((255, 0, 255), "RGB"), ((255, 0, 0, 255), "RGBA"),
])
def test_a_mask_painted_in_a_colour_marks_its_strokes_as_holes(model_path, tmp_path, colour, mode):
    photo = write_photo(tmp_path / "photo.png")
    mask = tmp_path / "mask.png"
    Image.fromarray(_stroke_mask(colour, mode), mode).save(mask)
    assert load_mask(mask).sum() == 20 * 24
    result = invoke(tmp_path / "photo.png", "-m", mask, "-o", tmp_path / "out.png", "--model", model_path, "-q")
    assert result.exit_code == 0, result.output
    filled = load_image(tmp_path / "out.png").rgb
    hole = load_mask(mask)
    assert np.array_equal(filled[~hole], photo[~hole]) and not np.array_equal(filled[hole], photo[hole])


def test_a_mask_that_is_the_image_itself_is_refused_and_the_rest_filled(model_path, tmp_path):
    photos = tmp_path / "photos"
    for name in ("chelsea", "coffee"):
        write_photo(photos / f"{name}.png", f"{name}.png")
    result = invoke(photos, "-m", photos, "-o", tmp_path / "out", "--model", model_path, "-q")
    assert result.exit_code == 1
    assert "its mask is the image itself" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out" / "chelsea.png").exists()


def test_a_png_with_a_flipped_bit_is_an_error_for_that_file(model_path, tmp_path):
    write_photo(tmp_path / "good.png")
    data = bytearray((tmp_path / "good.png").read_bytes())
    data[len(data) // 2] ^= 0x10  # inside the image data
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "bad.png").write_bytes(bytes(data))
    write_photo(tmp_path / "photos" / "fine.png")
    mask = tmp_path / "mask.png"
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(mask)
    result = invoke(tmp_path / "photos", "-m", mask, "-o", tmp_path / "out", "--model", model_path, "-q")
    assert result.exit_code == 1
    assert "bad.png: cannot read image (corrupt PNG: bad checksum in a IDAT chunk)" in result.stderr
    assert (tmp_path / "out" / "fine.png").is_file() and not (tmp_path / "out" / "bad.png").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_as_mask_is_refused_without_hanging(model_path, tmp_path):
    write_photo(tmp_path / "photo.png")
    os.mkfifo(tmp_path / "mask.png")
    result = invoke(tmp_path / "photo.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out.png",
                    "--model", model_path)
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr


def test_fp16_on_the_cpu_is_refused(model_path, tmp_path):
    write_photo(tmp_path / "photo.png")
    mask = tmp_path / "mask.png"
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(mask)
    result = invoke(tmp_path / "photo.png", "-m", mask, "-o", tmp_path / "out.png", "--model", model_path,
                    "--device", "cpu", "--precision", "fp16")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("ptgfill: error: --precision fp16 does not run on the CPU (its activations "
                                     "overflow to NaN there); use fp32 or bf16")
    assert not (tmp_path / "out.png").exists()


def test_a_file_named_like_an_option_is_read_after_a_double_dash(model_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_photo(tmp_path / "-x.png")
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(tmp_path / "mask.png")
    result = invoke("-m", "mask.png", "-o", "out.png", "--model", model_path, "-q", "--", "-x.png")
    assert result.exit_code == 0, result.output
    assert Path("out.png").is_file()


def test_skip_existing_resumes_a_batch_and_stale_temporaries_are_cleared(model_path, tmp_path):
    import time

    photos = tmp_path / "photos"
    for name in ("chelsea", "coffee", "astronaut"):
        write_photo(photos / f"{name}.png", f"{name}.png")
    mask = tmp_path / "mask.png"
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(mask)
    out = tmp_path / "out"
    out.mkdir()
    write_photo(out / "coffee.png", "rocket.jpg")  # as an interrupted run left it
    before = (out / "coffee.png").read_bytes()
    stale, fresh = out / ".ptgfill-0123abcd.tmp", out / ".ptgfill-89abcdef.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    result = invoke(photos, "-m", mask, "-o", out, "--model", model_path, "--skip-existing", "--json")
    assert result.exit_code == 0, result.output
    statuses = {Path(line["input"]).name: line["status"] for line in map(__import__("json").loads, result.stdout.splitlines())}
    assert statuses == {"astronaut.png": "ok", "chelsea.png": "ok", "coffee.png": "skipped"}
    assert (out / "coffee.png").read_bytes() == before
    assert not stale.exists() and fresh.exists()  # a recent one may belong to a running process
    both = invoke(photos, "-m", mask, "-o", out, "--model", model_path, "--skip-existing", "--overwrite")
    assert both.exit_code == 2 and "--overwrite and --skip-existing exclude each other" in both.stderr


@pytest.mark.parametrize("suffix", ["jpg", "png", "tiff", "webp"])
def test_the_colour_profile_exif_and_dpi_come_through_upright(model_path, tmp_path, suffix):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = Image.fromarray(write_photo(tmp_path / "p.png"))  # 64 wide, 48 high as stored
    exif = photo.getexif()
    exif[0x0112], exif[0x010F] = 6, "TestCam"  # the camera was turned 90 degrees
    photo.save(tmp_path / f"photo.{suffix}", icc_profile=profile, exif=exif.tobytes(), dpi=(300, 300))
    upright = load_image(tmp_path / f"photo.{suffix}")
    if suffix in ("jpg", "png", "webp"):
        assert (upright.width, upright.height) == (48, 64)
    hole = np.zeros((upright.height, upright.width), np.uint8)
    hole[5:15, 5:15] = 255
    Image.fromarray(hole).save(tmp_path / "mask.png")
    result = invoke(tmp_path / f"photo.{suffix}", "-m", tmp_path / "mask.png", "-o", tmp_path / f"out.{suffix}",
                    "--model", model_path, "-q")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / f"out.{suffix}") as written:
        assert written.info.get("icc_profile") == profile
        assert written.getexif().get(0x0112) == 1 and written.getexif().get(0x010F) == "TestCam"
        assert written.size == (upright.width, upright.height)  # the pixels are written upright
        if suffix != "webp":  # WebP holds no resolution
            assert [round(float(v)) for v in written.info["dpi"]] == [300, 300]


def test_standard_input_to_standard_output_round_trips_the_bytes_of_a_file_run(model_path, tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    write_photo(tmp_path / "photo.png")
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(tmp_path / "mask.png")
    common = ["-m", str(tmp_path / "mask.png"), "--model", str(model_path), "-q"]
    by_file = invoke(tmp_path / "photo.png", *common, "-o", tmp_path / "out.png")
    assert by_file.exit_code == 0, by_file.output
    piped = subprocess.run([sys.executable, "-m", "ptgfill_cli", "inpaint", "-", *common, "-o", "-"], cwd=REPO_ROOT,
                           input=(tmp_path / "photo.png").read_bytes(), capture_output=True, timeout=300)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == (tmp_path / "out.png").read_bytes()
    both = invoke(tmp_path / "photo.png", *common, "-o", "-", "--json")
    assert both.exit_code == 2 and "drop one" in both.stderr


def test_recursive_mirrors_a_nested_tree_with_masks_found_in_the_mirrored_folders(model_path, tmp_path):
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    for relative in ("top.png", "a/x.png", "b/x.png", "b/c/deep.png"):
        write_photo(photos / relative)
        (masks / relative).parent.mkdir(parents=True, exist_ok=True)
    holes = {}
    for number, relative in enumerate(("top.png", "a/x.png", "b/x.png", "b/c/deep.png")):
        hole = np.zeros((SIZE[1], SIZE[0]), np.uint8)
        hole[4 + 8 * number:12 + 8 * number, 10:30] = 255  # a different hole for each
        Image.fromarray(hole).save(masks / relative)
        holes[relative] = hole > 0
    (photos / ".hidden").mkdir()
    write_photo(photos / ".hidden" / "skip.png")
    result = invoke(photos, "-m", masks, "-o", out, "--model", model_path, "-q", "--recursive")
    assert result.exit_code == 0, result.output
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.png"))
    assert written == ["a/x.png", "b/c/deep.png", "b/x.png", "top.png"]
    for relative, hole in holes.items():
        before, after = load_image(photos / relative).rgb, load_image(out / relative).rgb
        assert np.array_equal(before[~hole], after[~hole]) and not np.array_equal(before[hole], after[hole])
    flat = invoke(photos, "-m", masks, "-o", tmp_path / "flat", "--model", model_path, "-q")
    assert flat.exit_code == 0 and [p.name for p in (tmp_path / "flat").rglob("*.png")] == ["top.png"]


@pytest.mark.parametrize("name_bytes", [245, 250, 255])
def test_output_names_up_to_the_file_system_limit_are_written(model_path, tmp_path, name_bytes):
    photos = tmp_path / "photos"
    name = "p" * (name_bytes - len(".png")) + ".png"  # the file name, not the path, is limited
    write_photo(photos / name)
    mask = tmp_path / "mask.png"
    Image.fromarray(_stroke_mask((255,), "L")[:, :, 0]).save(mask)
    result = invoke(photos, "-m", mask, "-o", tmp_path / "out", "--model", model_path, "-q")
    assert result.exit_code == 0, result.output
    assert [path.name for path in (tmp_path / "out").iterdir()] == [name]


def test_ctrl_c_mid_batch_reports_every_file_it_wrote_and_leaves_no_temporary(model_path, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    photos = tmp_path / "photos"
    for number in range(40):
        write_photo(photos / f"p{number:02d}.png", size=(256, 192))
    mask = tmp_path / "mask.png"
    Image.fromarray(np.pad(_stroke_mask((255,), "L")[:, :, 0], ((0, 144), (0, 192)))).save(mask)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "ptgfill_cli", "inpaint", str(photos), "-m", str(mask), "-o", str(out),
         "--model", str(model_path), "--device", "cpu"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (not out.is_dir() or len(list(out.glob("*.png"))) < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert stderr.strip().splitlines()[-1] == "ptgfill: interrupted" and "Traceback" not in stderr
    reported = sorted(Path(line.split(" -> ")[1].split(" (")[0]).name for line in stderr.splitlines() if " -> " in line)
    written = sorted(path.name for path in out.iterdir())
    assert written == reported and 3 <= len(written) < 40
