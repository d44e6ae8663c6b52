"""A hostile-input corpus, generated at test time from the repository's own photos, through
`ptgfill inpaint` and the other commands' options. For every case: no traceback, the expected
exit code, a message naming the file or the option, no temporary file left, the other images
of the batch written, and the known pixels of every written image bit-identical."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.atomic import TEMPORARY_PREFIX
from ptgfill_cli.data.image_io import load_image, load_mask
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.usefixtures("no_installed_models")
SIZE = (48, 40)  # (W, H) of the good photos and of most hostile ones


def _photo(size: tuple[int, int] = SIZE, name: str = "chelsea.png") -> Image.Image:
    return Image.open(EXAMPLES / name).convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _image_cases() -> dict[str, bytes | Callable[[Path], None]]:
    """name -> the file's bytes (or a function that makes it): images that must each be filled
    exactly or refused in one line naming them."""
    photo = _photo()
    cases: dict[str, bytes | Callable[[Path], None]] = {}
    formats = {"png": ("PNG", {}), "jpg": ("JPEG", {"quality": 90}), "webp": ("WEBP", {"quality": 90}),
               "tiff": ("TIFF", {}), "bmp": ("BMP", {})}
    rng = np.random.default_rng(0)
    for suffix, (fmt, options) in formats.items():
        data = _encoded(photo, fmt, **options)
        for fraction in (0.0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98):
            cases[f"truncated-{int(fraction * 100):02d}-{suffix}.{suffix}"] = data[: int(len(data) * fraction)]
        for number, position in enumerate(rng.integers(0, len(data), 12)):
            flipped = bytearray(data)
            flipped[int(position)] ^= 1 << int(rng.integers(0, 8))
            cases[f"bitflip-{number:02d}-{suffix}.{suffix}"] = bytes(flipped)
        cases[f"random-{suffix}.{suffix}"] = rng.bytes(2000)
        cases[f"text-{suffix}.{suffix}"] = b"not an image at all\n" * 20
        cases[f"wrong-suffix-{suffix}.{suffix}"] = _encoded(photo, "PNG" if fmt != "PNG" else "JPEG")
    modes = {"1": "png", "L": "png", "LA": "png", "P": "png", "PA": "png", "RGBA": "png", "I;16": "png",
             "I": "tiff", "F": "tiff", "CMYK": "jpg", "YCbCr": "jpg", "LAB": "tiff"}
    for mode, suffix in modes.items():
        try:
            converted = photo.convert(mode) if mode not in ("I;16", "PA") else (
                Image.fromarray((np.asarray(photo.convert("L")).astype(np.uint16) * 257)) if mode == "I;16"
                else photo.convert("P").convert("PA"))
            cases[f"mode-{mode.replace(';', '_')}.{suffix}"] = _encoded(
                converted, {"png": "PNG", "tiff": "TIFF", "jpg": "JPEG"}[suffix])
        except (OSError, ValueError):
            continue  # a mode this Pillow cannot write in that format
    cases["empty.png"] = b""
    cases["folder.png"] = lambda path: path.mkdir()
    cases["bomb.png"] = lambda path: Image.new("1", (12000, 12000)).save(path)  # 17 kB, 144 MP
    cases["-looks-like-an-option.png"] = _encoded(photo, "PNG")
    cases["spaces and ünïcode.png"] = _encoded(photo, "PNG")
    cases["animated.gif"] = (lambda path: photo.save(path, save_all=True, append_images=[photo.rotate(90)]))
    return cases


def _mask_for(size: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[size[1] // 4: size[1] // 2, size[0] // 3: 2 * size[0] // 3] = 255
    return mask


def _check_outputs(records: list[dict], folder: Path, out: Path) -> None:
    for record in records:
        source = Path(record["input"])
        if record["status"] == "error":
            assert record["error"].startswith(str(source)) or str(source) in record["error"], record
            assert "Traceback" not in record["error"] and "\n" not in record["error"], record
            continue
        written = load_image(record["output"])
        original = load_image(source)
        known = ~load_mask(Path(record["mask"]))
        assert written.rgb.shape == original.rgb.shape, record
        assert np.array_equal(written.rgb[known], original.rgb[known]), record
    assert not [path for path in out.rglob("*") if path.name.startswith(TEMPORARY_PREFIX)]


def test_hostile_images_in_one_batch_fail_alone_and_the_rest_are_exact(model_path, tmp_path, run_cli):
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir(), masks.mkdir()
    cases = _image_cases()
    for name, content in cases.items():
        target = photos / name
        content(target) if callable(content) else target.write_bytes(content)
    for number in range(3):  # good photos among the hostile ones
        _photo(name="coffee.png").save(photos / f"good-{number}.png")
    Image.fromarray(_mask_for(SIZE)).save(masks / "shared.png")
    mask = masks / "shared.png"
    bomb_mask = masks / "bomb-mask.png"
    Image.fromarray(_mask_for((12000, 12000))).save(bomb_mask)

    result = run_cli("inpaint", str(photos), "-m", str(mask), "-o", str(out), "--model", str(model_path), "--json")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    records = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {Path(record["input"]).name: record for record in records}
    assert len(cases) + 3 - 1 <= len(records) <= len(cases) + 3  # the folder named .png may not be listed
    assert all(by_name[f"good-{number}.png"]["status"] == "ok" for number in range(3))
    for name in ("empty.png", "random-png.png", "text-jpg.jpg", "bomb.png", "truncated-50-png.png", "truncated-00-jpg.jpg"):
        assert by_name[name]["status"] == "error", by_name[name]
    assert "over the limit of 100 megapixels" in by_name["bomb.png"]["error"]
    _check_outputs(records, photos, out)
    assert len(records) > 120 and "also the output of" not in result.stderr


@pytest.mark.parametrize("kind", ["all-hole", "no-hole", "wrong-size", "red-strokes", "transparent-strokes",
                                  "16-bit", "corrupt", "bomb", "is-the-image"])
def test_hostile_masks(model_path, tmp_path, run_cli, kind):
    photo = tmp_path / "photo.png"
    _photo().save(photo)
    mask = tmp_path / "mask.png"
    base = _mask_for(SIZE)
    expected_code = 0
    if kind == "all-hole":
        Image.fromarray(np.full_like(base, 255)).save(mask)
        expected_code, message = 2, "all hole"
    elif kind == "no-hole":
        Image.fromarray(np.zeros_like(base)).save(mask)
    elif kind == "wrong-size":
        Image.fromarray(_mask_for((50, 40))).save(mask)
        expected_code, message = 1, "mask is 50x40 but the image is 48x40"
    elif kind == "red-strokes":
        Image.fromarray(np.stack([base, np.zeros_like(base), np.zeros_like(base)], axis=2)).save(mask)
    elif kind == "transparent-strokes":
        Image.fromarray(np.stack([base, base, base, base], axis=2), "RGBA").save(mask)
    elif kind == "16-bit":
        Image.fromarray(base.astype(np.uint16) * 257).save(mask)
    elif kind == "corrupt":
        mask.write_bytes(_encoded(Image.fromarray(base), "PNG")[:60])
        expected_code, message = 2, "mask.png: cannot read image"
    elif kind == "bomb":
        Image.new("1", (12000, 12000)).save(mask)
        expected_code, message = 2, "over the limit of 100 megapixels"
    else:
        mask = photo
        expected_code, message = 1, "its mask is the image itself"
    out = tmp_path / "out"
    result = run_cli("inpaint", str(photo), "-m", str(mask), "-o", str(out), "--model", str(model_path), "--json")
    assert result.exit_code == expected_code, (kind, result.stderr)
    assert "Traceback" not in result.stderr
    if expected_code:
        assert message in result.stderr + result.stdout, (kind, result.stderr, result.stdout)
        assert not out.exists() or not list(out.iterdir())
        return
    records = [json.loads(line) for line in result.stdout.splitlines()]
    _check_outputs(records, tmp_path, out)
    filled = load_image(out / "photo.png").rgb
    holes = load_mask(mask)
    assert np.array_equal(filled[~holes], load_image(photo).rgb[~holes])
    assert holes.any() == (kind != "no-hole")


# Every command's options given values they cannot take: one line naming the option, exit 2.
BAD_OPTIONS = [
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--max-side", "0"], "--max-side"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--batch-size", "0"], "--batch-size"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--quality", "101"], "--quality"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--max-pixels", "-1"], "--max-pixels"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--strategy", "bogus"], "--strategy"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--precision", "fp8"], "--precision"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--dilate", "-3"], "--dilate"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--format", "gif"], "--format"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--overwrite", "--skip-existing"], "--overwrite"),
    (["inpaint", "{photo}", "-o", "{out}"], "--mask"),
    (["train", "{photos}", "-o", "{out}", "--size", "0"], "--size"),
    (["train", "{photos}", "-o", "{out}", "--size", "-64"], "--size"),
    (["train", "{photos}", "-o", "{out}", "--preset", "bogus"], "--preset"),
    (["train", "{photos}", "-o", "{out}", "--attention", "bogus"], "--attention"),
    (["train", "{photos}", "-o", "{out}", "--workers", "-1"], "--workers"),
    (["train", "{photos}", "-o", "{out}", "--lr-g", "-1"], "--lr-g"),
    (["train", "{photos}", "-o", "{out}", "--lr-g", "nan"], "--lr-g"),
    (["train", "{photos}", "-o", "{out}", "--w-hole", "inf"], "--w-hole"),
    (["train", "{photos}", "-o", "{out}", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["train", "{photos}", "-o", "{out}", "--log-every", "0"], "--log-every"),
    (["train", "{photos}", "-o", "{out}", "--val-fraction", "-0.1"], "--val-fraction"),
    (["train", "{photos}", "-o", "{out}", "--ema-decay", "2"], "--ema-decay"),
    (["train", "{photos}", "-o", "{out}", "--time-limit", "soon"], "--time-limit"),
    (["train", "{photos}", "-o", "{out}", "--vgg-weights", "{random}"], "{random}"),
    (["train", "{photos}", "-o", "{out}", "--resume", "{random}", "--perceptual", "none"], "{random}"),
    (["benchmark", "--size", "0"], "--size"),
    (["benchmark", "--size", "17"], "--size"),
    (["benchmark", "--size", "-5"], "--size"),
    (["benchmark", "--size", "100000"], "--size"),
    (["benchmark", "--batch-size", "0"], "--batch-size"),
    (["benchmark", "--repeats", "0"], "--repeats"),
    (["benchmark", "--warmup", "-1"], "--warmup"),
    (["benchmark", "--threads", "0"], "--threads"),
    (["benchmark", "--attention", "bogus"], "--attention"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--size", "0"], "--size"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--fit", "stretch"], "--fit"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--pairs", "{random}"], "{random}"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--metrics", "psnr,lpips",
      "--lpips-weights", "{random}"], "{random}"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--metrics", "psnr,fid",
      "--fid-weights", "{random}"], "{random}"),
    (["evaluate", "--dataset", "{photos}", "--masks", "object", "--model", "none", "--compare", "opencv-telea", "-o", "{out}", "--limit", "0"], "--limit"),
    (["make-masks", "-o", "{out}", "--size", "0"], "--size"),
    (["make-masks", "-o", "{out}", "--size", "100000"], "--size"),
    (["make-masks", "-o", "{out}", "--count", "0"], "--count"),
    (["make-masks", "-o", "{out}", "--kind", "bogus"], "--kind"),
    (["export", "{random}", "-o", "{out}.onnx"], "{random}"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--model", "{random}"], "{random}"),
    (["inpaint", "{photo}", "-m", "{mask}", "-o", "{out}", "--model", "hf://not a repo"], "hf://not a repo"),
]


@pytest.mark.parametrize(("args", "named"), BAD_OPTIONS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_OPTIONS])
def test_bad_option_values_are_one_line_naming_the_option(tmp_path, run_cli, args, named):
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "photo.png")
    Image.fromarray(_mask_for(SIZE)).save(tmp_path / "mask.png")
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(1).bytes(3000))
    values = {"photo": str(photos / "photo.png"), "photos": str(photos), "mask": str(tmp_path / "mask.png"),
              "out": str(tmp_path / "out"), "random": str(tmp_path / "random.bin")}
    result = run_cli(*[arg.format(**values) for arg in args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (args, result.stderr)
    assert lines and lines[-1].startswith("ptgfill: error:") and "Traceback" not in result.stderr, result.stderr
    assert named.format(**values) in lines[-1], (args, lines[-1])
    assert not list(tmp_path.rglob(f"{TEMPORARY_PREFIX}*"))
