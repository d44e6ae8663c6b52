"""`ptgfill inpaint` end to end: Typer's runner, plus one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app
from ptgfill_cli.data.image_io import load_image
from tests.conftest import EXAMPLES, REPO_ROOT as PROJECT

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("no_installed_models")


def write_photo(path: Path, name: str = "chelsea.png", size: tuple[int, int] = (64, 48)) -> np.ndarray:
    rgb = cv2.resize(np.asarray(Image.open(EXAMPLES / name).convert("RGB")), size, interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return rgb


def write_mask(path: Path, size: tuple[int, int] = (64, 48), centre: tuple[int, int] = (30, 20)) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.circle(mask, centre, 8, 255, -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(path)
    return mask > 127


def invoke(*args: str | Path):
    return runner.invoke(app, ["inpaint", *map(str, args)])


def test_folder_of_images_with_folder_of_masks_and_a_corrupt_file(model_path, tmp_path):
    photos = {name: write_photo(tmp_path / "photos" / f"{name}.png", f"{name}.png") for name in ("chelsea", "coffee")}
    write_photo(tmp_path / "photos" / "astronaut.jpg", "astronaut.png")
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    hole_masks = {
        name: write_mask(tmp_path / "masks" / f"{name}.png", centre=(10 + 15 * i, 20))
        for i, name in enumerate(("chelsea", "coffee", "astronaut", "broken"))
    }

    result = invoke(tmp_path / "photos", "--mask", tmp_path / "masks", "-o", tmp_path / "out", "--model", model_path)

    assert result.exit_code == 1, result.output
    broken = tmp_path / "photos" / "broken.png"
    assert f"{broken}: cannot read image" in result.stderr
    assert "filled 3 of 4 images" in result.stderr
    assert result.stdout == ""
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png", "chelsea.png", "coffee.png"]
    for name, rgb in photos.items():
        filled = load_image(out / f"{name}.png").rgb
        assert np.array_equal(filled[~hole_masks[name]], rgb[~hole_masks[name]])
        assert not np.array_equal(filled[hole_masks[name]], rgb[hole_masks[name]])


def test_json_lines_are_all_there_is_on_stdout(model_path, tmp_path):
    write_photo(tmp_path / "a.png")
    write_photo(tmp_path / "b.png", "coffee.png")
    write_mask(tmp_path / "mask.png")
    result = invoke(tmp_path / "a.png", tmp_path / "b.png", tmp_path / "missing*.png", "--mask", tmp_path / "mask.png",
                    "-o", tmp_path / "out", "--model", model_path, "--json")
    assert result.exit_code == 2  # a pattern that matches nothing is a usage error
    assert result.stdout == "" and "missing*.png: no image files match" in result.stderr

    result = invoke(tmp_path / "a.png", tmp_path / "b.png", "--mask", tmp_path / "mask.png",
                    "-o", tmp_path / "out", "--model", model_path, "--json", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in records] == [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert all(r["status"] == "ok" and r["error"] is None for r in records)
    assert records[0]["output"] == str(tmp_path / "out" / "a.png")
    assert records[0]["mask"] == str(tmp_path / "mask.png")
    assert 0 < records[0]["hole_ratio"] < 0.2 and records[0]["seconds"] > 0
    assert records[0]["working_sizes"] == [[64, 64]] and records[0]["strategy"] == "original"

    again = invoke(tmp_path / "a.png", "--mask", tmp_path / "mask.png", "-o", tmp_path / "out",
                   "--model", model_path, "--json")
    assert again.exit_code == 1
    [record] = [json.loads(line) for line in again.stdout.splitlines()]
    assert record["status"] == "error" and "already exists (use --overwrite" in record["error"]


@pytest.mark.parametrize(
    "options, strategy, working_sizes",
    [(("--strategy", "crop", "--crop-margin", "4"), "crop", [[64, 64]]),
     (("--strategy", "resize", "--max-side", "32"), "resize", [[64, 64]]),
     (("--strategy", "original",), "original", [[64, 128]])],
)
def test_strategies(model_path, tmp_path, options, strategy, working_sizes):
    rgb = write_photo(tmp_path / "a.png", size=(100, 60))
    hole_mask = write_mask(tmp_path / "mask.png", size=(100, 60))
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out",
                    "--model", model_path, "--json", *options)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["strategy"] == strategy and record["working_sizes"] == working_sizes
    filled = load_image(tmp_path / "out" / "a.png").rgb
    assert np.array_equal(filled[~hole_mask], rgb[~hole_mask])


def test_single_image_to_a_file_with_format_quality_and_coarse(model_path, tmp_path):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png")
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "res" / "filled.jpg",
                    "--quality", "80", "--save-coarse", "--model", model_path)
    assert result.exit_code == 0, result.output
    assert "filled.jpg" in result.stderr
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["filled.jpg", "filled_coarse.jpg"]
    assert Image.open(tmp_path / "res" / "filled.jpg").format == "JPEG"


def test_existing_output_needs_overwrite(model_path, tmp_path):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png")
    (tmp_path / "out.png").write_bytes(b"precious")
    args = (tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out.png", "--model", model_path)
    refused = invoke(*args)
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert (tmp_path / "out.png").read_bytes() == b"precious"
    replaced = invoke(*args, "--overwrite", "--quiet")
    assert replaced.exit_code == 0 and replaced.output == ""
    assert Image.open(tmp_path / "out.png").size == (64, 48)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "mask.png", "out.png"]  # no temporaries


def test_alpha_channel_as_mask(model_path, tmp_path):
    rgb = write_photo(tmp_path / "plain.png")
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[10:20, 10:30] = 0
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "cutout.png")
    result = invoke(tmp_path / "cutout.png", "--alpha-mask", "-o", tmp_path / "out", "--model", model_path)
    assert result.exit_code == 0, result.output
    filled = Image.open(tmp_path / "out" / "cutout.png")
    assert filled.mode == "RGB"
    assert np.array_equal(np.asarray(filled)[alpha == 255], rgb[alpha == 255])


def test_invert_mask(model_path, tmp_path):
    rgb = write_photo(tmp_path / "a.png")
    hole_mask = ~write_mask(tmp_path / "mask.png")  # the white disc is known, the rest a hole
    Image.fromarray(np.where(hole_mask, 0, 255).astype(np.uint8)).save(tmp_path / "mask.png")
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "--invert-mask", "-o", tmp_path / "out",
                    "--model", model_path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hole_ratio"] == pytest.approx(hole_mask.mean(), abs=1e-4)
    filled = load_image(tmp_path / "out" / "a.png").rgb
    assert np.array_equal(filled[~hole_mask], rgb[~hole_mask])


def test_mask_of_another_size_fails_that_image(model_path, tmp_path):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png", size=(50, 40))
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out", "--model", model_path)
    assert result.exit_code == 1
    assert f"{tmp_path / 'mask.png'}: mask is 50x40 but the image is 64x48" in result.stderr


def test_images_in_a_mask_folder_without_a_mask_fail_alone(model_path, tmp_path):
    write_photo(tmp_path / "photos" / "a.png")
    write_photo(tmp_path / "photos" / "b.png")
    write_mask(tmp_path / "masks" / "a.png")
    result = invoke(tmp_path / "photos", "-m", tmp_path / "masks", "-o", tmp_path / "out", "--model", model_path)
    assert result.exit_code == 1
    assert "b.png: no mask for it" in result.stderr
    assert (tmp_path / "out" / "a.png").is_file() and not (tmp_path / "out" / "b.png").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        ((), "--mask is needed: give a mask file or folder, or --alpha-mask"),
        (("--alpha-mask", "-m", "MASK"), "--mask and --alpha-mask exclude each other"),
        (("--alpha-mask", "--invert-mask"), "--invert-mask applies to mask files, not to --alpha-mask"),
        (("-m", "WHITE"), "mask is all hole"),
        (("-m", "MASK", "--device", "tpu"), "unknown device 'tpu'"),
        (("-m", "MASK", "--model", "no-such-model"), "no-such-model"),
    ],
)
def test_usage_errors_exit_2(model_path, tmp_path, extra, message):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png")
    Image.fromarray(np.full((48, 64), 255, np.uint8)).save(tmp_path / "white.png")
    replacements = {"MASK": str(tmp_path / "mask.png"), "WHITE": str(tmp_path / "white.png")}
    extra = tuple(replacements.get(arg, arg) for arg in extra)
    if "--model" not in extra:
        extra += ("--model", str(model_path))
    result = invoke(tmp_path / "a.png", "-o", tmp_path / "out", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("ptgfill: error: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_usage_error(model_path, tmp_path):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png")
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out",
                    "--model", model_path, "--device", "cuda")
    assert result.exit_code == 2
    assert "device cuda: CUDA is not available" in result.stderr
    assert not (tmp_path / "out").exists()


def test_no_default_model_is_a_clear_usage_error(tmp_path, monkeypatch):
    empty_registry = tmp_path / "weights"
    empty_registry.mkdir()
    (empty_registry / "manifest.json").write_text('{"default": null, "models": {}}')
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(empty_registry))
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "mask.png")
    result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "no default model is installed" in result.stderr and "--model" in result.stderr


def test_help():
    result = runner.invoke(app, ["inpaint", "--help"])
    assert result.exit_code == 0
    for option in ("--mask", "--alpha-mask", "--invert-mask", "--model", "--device", "--strategy",
                   "--batch-size", "--format", "--quality", "--overwrite", "--save-coarse", "--json"):
        assert option in result.stdout


def test_option_defaults_are_the_engine_defaults():
    import inspect

    from ptgfill_cli.cli.inpaint import command
    from ptgfill_cli.inference.inpainter import Inpainter
    from ptgfill_cli.inference.working import DEFAULT_CROP_MARGIN, DEFAULT_MAX_SIDE

    parameters = inspect.signature(command).parameters
    assert parameters["max_side"].default == DEFAULT_MAX_SIDE
    assert parameters["crop_margin"].default == DEFAULT_CROP_MARGIN
    engine = inspect.signature(Inpainter).parameters
    assert parameters["flip_average"].default == engine["flip_average"].default
    assert parameters["dilate"].default == engine["dilate"].default


def test_bad_option_values_are_usage_errors(tmp_path):
    assert invoke("a.png", "-o", tmp_path, "--strategy", "zoom").exit_code == 2
    assert invoke("a.png", "-o", tmp_path, "--quality", "0").exit_code == 2
    assert invoke("a.png", "-o", tmp_path, "--batch-size", "0").exit_code == 2


def test_real_subprocess(model_path, tmp_path):
    rgb = write_photo(tmp_path / "a.png")
    hole_mask = write_mask(tmp_path / "mask.png")
    completed = subprocess.run(
        [sys.executable, "-m", "ptgfill_cli", "inpaint", "a.png", "--mask", "mask.png", "-o", "out/a.webp",
         "--format", "webp", "--model", str(model_path), "--device", "cpu"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert "a.png -> out/a.webp" in completed.stderr
    assert Image.open(tmp_path / "out" / "a.webp").format == "WEBP"
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.webp"))[hole_mask], rgb[hole_mask])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.webp"]


def test_bf16_precision_fills_close_to_fp32_and_keeps_the_rest(tmp_path):
    """The bundled model under bf16 autocast: the same picture to a few grey levels
    (measured: 6.8 on average over this hole), and not bit for bit (bf16 was used)."""
    bundled = PROJECT / "weights" / "ptgfill-lite-faces.safetensors"
    photo = write_photo(tmp_path / "in" / "face.png", "grace_hopper.jpg", size=(96, 96))
    mask = np.zeros((96, 96), np.uint8)
    cv2.rectangle(mask, (30, 30), (60, 55), 255, -1)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    hole = mask > 127
    fills = {}
    for precision in ("fp32", "bf16"):
        result = runner.invoke(app, [
            "inpaint", str(tmp_path / "in" / "face.png"), "--mask", str(tmp_path / "mask.png"),
            "--model", str(bundled), "--device", "cpu", "--precision", precision,
            "-o", str(tmp_path / precision), "-q",
        ])
        assert result.exit_code == 0, result.output
        fills[precision] = load_image(tmp_path / precision / "face.png").rgb.astype(int)
        assert np.array_equal(fills[precision][~hole], photo[~hole].astype(int))
    difference = np.abs(fills["bf16"] - fills["fp32"])[hole]
    assert 0 < difference.mean() < 12
    assert runner.invoke(app, ["inpaint", str(tmp_path / "in" / "face.png"), "--mask",
                               str(tmp_path / "mask.png"), "--precision", "fp8"]).exit_code == 2


def test_threads_option_sets_torch_threads(tmp_path, model_path):
    write_photo(tmp_path / "a.png")
    write_mask(tmp_path / "m.png")
    before = torch.get_num_threads()
    try:
        result = runner.invoke(app, [
            "inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "m.png"), "--model",
            str(model_path), "--threads", "2", "-o", str(tmp_path / "out"), "-q",
        ])
        assert result.exit_code == 0, result.output
        assert before == 1 and torch.get_num_threads() == 2  # the suite runs on one thread
    finally:
        torch.set_num_threads(before)
    assert runner.invoke(app, ["inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "m.png"),
                               "--threads", "0"]).exit_code == 2


def test_precision_choices_are_the_runtime_ones():
    from ptgfill_cli.cli.inpaint import Precision
    from ptgfill_cli.runtime.precision import AUTOCAST_DTYPES

    assert [choice.value for choice in Precision] == list(AUTOCAST_DTYPES)


def test_output_names_from_a_suffix_or_a_template(model_path, tmp_path):
    for name in ("a.png", "b.png"):
        write_photo(tmp_path / "in" / name)
    write_mask(tmp_path / "mask.png")
    common = (tmp_path / "in", "-m", tmp_path / "mask.png", "--model", model_path, "-q")
    assert invoke(*common, "-o", tmp_path / "s", "--suffix", "_filled").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["a_filled.png", "b_filled.png"]
    assert invoke(*common, "-o", tmp_path / "t", "--name", "filled-{stem}.{ext}", "--format", "jpg").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["filled-a.jpg", "filled-b.jpg"]
    bad = invoke(*common, "-o", tmp_path / "u", "--name", "{stem}.png")
    assert bad.exit_code == 2 and "must end in .{ext}" in bad.stderr
    both = invoke(*common, "-o", tmp_path / "u", "--name", "{stem}.{ext}", "--suffix", "_x")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_the_line_says_what_the_network_worked_on_in_height_x_width(model_path, tmp_path):
    write_photo(tmp_path / "photo.png", size=(64, 48))  # 64 wide, 48 high
    write_mask(tmp_path / "mask.png", size=(64, 48))
    result = invoke(tmp_path / "photo.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "out.png", "--model", model_path)
    assert result.exit_code == 0, result.output
    assert "whole image, working 64x64 (padded from 48x64)" in result.stderr


def test_thin_holes_are_filled_enlarged_unless_told_not_to(model_path, tmp_path):
    write_photo(tmp_path / "photo.png")
    write_mask(tmp_path / "mask.png")  # a disc of radius 8: its pixels lie under 3 px from the known ones
    records, lines = {}, {}
    for mode in ("auto", "off"):
        out = tmp_path / f"{mode}.png"
        result = invoke(tmp_path / "photo.png", "-m", tmp_path / "mask.png", "-o", out, "--model", model_path,
                        "--upscale", mode, "--json")
        assert result.exit_code == 0, result.output
        [records[mode]] = [json.loads(line) for line in result.stdout.splitlines()]
        lines[mode] = invoke(tmp_path / "photo.png", "-m", tmp_path / "mask.png", "-o", out, "--model", model_path,
                             "--upscale", mode, "--overwrite").stderr
    assert records["auto"]["upscaled"] is True and records["off"]["upscaled"] is False
    assert records["auto"]["working_sizes"] == records["off"]["working_sizes"] == [[64, 64]]
    assert "enlarged 2x for thin holes" in lines["auto"] and "enlarged" not in lines["off"]
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "auto.png")), np.asarray(Image.open(tmp_path / "off.png")))

    bad = invoke(tmp_path / "photo.png", "-m", tmp_path / "mask.png", "-o", tmp_path / "x.png", "--model", model_path,
                 "--upscale", "always")
    assert bad.exit_code == 2 and "always" in bad.output


def test_flip_average_fills_as_the_library_does_and_keeps_the_rest(model_path, tmp_path):
    from ptgfill_cli.inference.inpainter import Inpainter

    rgb = write_photo(tmp_path / "a.png", size=(64, 64))
    hole = write_mask(tmp_path / "mask.png", size=(64, 64))
    for flag in ([], ["--flip-average"]):
        out = tmp_path / f"filled{len(flag)}.png"
        result = invoke(tmp_path / "a.png", "-m", tmp_path / "mask.png", "-o", out, "--model", model_path, *flag)
        assert result.exit_code == 0, result.output
    plain, averaged = (np.asarray(Image.open(tmp_path / f"filled{n}.png")) for n in (0, 1))
    expected = Inpainter.from_pretrained(str(model_path), flip_average=True).inpaint(rgb, hole).pixels
    assert np.array_equal(averaged, expected)
    assert np.array_equal(averaged[~hole], rgb[~hole]) and not np.array_equal(averaged, plain)
