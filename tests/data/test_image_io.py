"""Decoding images and masks, encoding results, atomic writes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from ptgfill_cli.data.image_io import (
    encode_image,
    image_from_array,
    image_from_pil,
    load_image,
    load_mask,
    mask_from_alpha,
    output_format_for,
    save_image,
)
from ptgfill_cli.errors import InputError, PTGFillError
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A small real photo, (60, 90, 3) uint8 RGB."""
    rgb = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB"))
    return cv2.resize(rgb, (90, 60), interpolation=cv2.INTER_AREA)


def photo_16bit(photo: np.ndarray) -> np.ndarray:
    """16-bit pixels whose low byte matters, so 8-bit shortcuts would show."""
    noise = np.random.default_rng(0).integers(0, 257, photo.shape)
    return (photo.astype(np.uint32) * 257 + noise).clip(0, 65535).astype(np.uint16)


def test_rgb_png_round_trip_is_bit_exact(photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    assert loaded.rgb.dtype == np.uint8 and loaded.alpha is None and not loaded.grey
    assert np.array_equal(loaded.rgb, photo)
    save_image(loaded, tmp_path / "b.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), photo)


def test_grey_image_loads_as_equal_channels_and_saves_as_grey(photo, tmp_path):
    grey = photo[:, :, 1].copy()
    Image.fromarray(grey).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.grey and loaded.rgb.shape == (60, 90, 3)
    assert all(np.array_equal(loaded.rgb[:, :, c], grey) for c in range(3))
    save_image(loaded, tmp_path / "out.png")
    saved = Image.open(tmp_path / "out.png")
    assert saved.mode == "L" and np.array_equal(np.asarray(saved), grey)


def test_rgba_keeps_alpha(photo, tmp_path):
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[10:20, 10:30] = 0
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    assert np.array_equal(loaded.rgb, photo) and np.array_equal(loaded.alpha, alpha)
    save_image(loaded, tmp_path / "b.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), np.dstack([photo, alpha]))


def test_palette_with_transparency_gives_alpha(tmp_path):
    palette_image = Image.new("P", (8, 4), 1)
    palette_image.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    palette_image.putpixel((0, 0), 0)
    palette_image.info["transparency"] = 0
    palette_image.save(tmp_path / "p.png", transparency=0)
    loaded = load_image(tmp_path / "p.png")
    assert loaded.mode == "P" and loaded.alpha is not None
    assert loaded.alpha[0, 0] == 0 and loaded.alpha[1, 1] == 255
    assert tuple(loaded.rgb[1, 1]) == (200, 10, 20)
    assert mask_from_alpha(loaded.alpha).sum() == 1


def test_16bit_grey_is_kept_at_16_bits(photo, tmp_path):
    grey16 = photo_16bit(photo)[:, :, 0]
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.rgb.dtype == np.uint16 and loaded.grey
    assert np.array_equal(loaded.rgb[:, :, 2], grey16)
    save_image(loaded, tmp_path / "out.png")
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED), grey16)


def test_16bit_colour_png_is_kept_at_16_bits(photo, tmp_path):
    rgb16 = photo_16bit(photo)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[:, :, ::-1])
    loaded = load_image(tmp_path / "c16.png")
    assert loaded.rgb.dtype == np.uint16 and not loaded.grey
    assert np.array_equal(loaded.rgb, rgb16)
    save_image(loaded, tmp_path / "out.png")
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1], rgb16)


def test_16bit_colour_tiff_is_kept_at_16_bits(photo, tmp_path):
    rgba16 = np.dstack([photo_16bit(photo), photo_16bit(photo)[:, :, 0]])
    cv2.imwrite(str(tmp_path / "c16.tif"), rgba16[:, :, [2, 1, 0, 3]])
    loaded = load_image(tmp_path / "c16.tif")
    assert loaded.rgb.dtype == np.uint16
    assert np.array_equal(loaded.rgb, rgba16[:, :, :3]) and np.array_equal(loaded.alpha, rgba16[:, :, 3])
    save_image(loaded, tmp_path / "out.tiff")
    assert np.array_equal(load_image(tmp_path / "out.tiff").rgb, rgba16[:, :, :3])


def test_16bit_is_reduced_to_8_bits_for_jpeg(photo, tmp_path):
    loaded = image_from_array(photo_16bit(photo))
    save_image(loaded, tmp_path / "out.jpg", quality=100)
    decoded = np.asarray(Image.open(tmp_path / "out.jpg")).astype(int)
    assert np.abs(decoded - photo.astype(int)).mean() < 3


def test_cmyk_jpeg_loads_as_rgb(photo, tmp_path):
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    loaded = load_image(tmp_path / "c.jpg")
    assert loaded.rgb.shape == photo.shape and loaded.rgb.dtype == np.uint8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matches_pillow_exif_transpose(photo, tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(photo).save(tmp_path / "o.png", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    assert np.array_equal(load_image(tmp_path / "o.png").rgb, expected)


def test_jpeg_exif_orientation_is_applied(photo, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(photo).save(tmp_path / "r.jpg", exif=exif, quality=95)
    loaded = load_image(tmp_path / "r.jpg")
    assert loaded.rgb.shape == (90, 60, 3)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "r.jpg")))
    assert np.array_equal(loaded.rgb, upright)


def test_orientation_applies_to_16bit_colour_png(photo, tmp_path):
    rgb16 = photo_16bit(photo)
    ok, encoded = cv2.imencode(".png", rgb16[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = 8
    # Splice an eXIf chunk (written by Pillow for an 8-bit twin) after IHDR.
    twin = tmp_path / "twin.png"
    Image.fromarray(photo).save(twin, exif=exif)
    chunk = _png_chunk(twin.read_bytes(), b"eXIf")
    data = encoded.tobytes()
    (tmp_path / "c16.png").write_bytes(data[:33] + chunk + data[33:])
    loaded = load_image(tmp_path / "c16.png")
    assert np.array_equal(loaded.rgb, np.rot90(rgb16, 1))


def _png_chunk(data: bytes, kind: bytes) -> bytes:
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        if data[position + 4 : position + 8] == kind:
            return data[position : position + 12 + length]
        position += 12 + length
    raise AssertionError(f"no {kind!r} chunk")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "not an image"),
        (b"this is not an image at all", "not an image"),
    ],
)
def test_unreadable_file_is_an_input_error_naming_it(tmp_path, content, reason):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"^{path}: cannot read image \({reason}"):
        load_image(path)


def test_truncated_image_is_an_input_error(photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "whole.jpg", quality=95)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.jpg: cannot read image \(.*truncated"):
        load_image(tmp_path / "cut.jpg")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"nope\.png: cannot read image \(no such file\)"):
        load_image(tmp_path / "nope.png")


def test_mask_white_is_hole_and_invert_flips(tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:20] = 255
    mask[0, 0] = 127  # at the threshold: not a hole
    mask[0, 1] = 128
    Image.fromarray(mask).save(tmp_path / "m.png")
    hole_mask = load_mask(tmp_path / "m.png")
    assert hole_mask.dtype == bool
    assert hole_mask.sum() == 5 * 15 + 1 and hole_mask[0, 1] and not hole_mask[0, 0]
    assert np.array_equal(load_mask(tmp_path / "m.png", invert=True), ~hole_mask)


def test_colour_bilevel_and_16bit_masks(tmp_path):
    mask = np.zeros((20, 30), bool)
    mask[2:8, 3:9] = True
    Image.fromarray(mask).convert("1").save(tmp_path / "bilevel.png")
    Image.fromarray(np.repeat(mask[:, :, None] * np.uint8(255), 3, axis=2)).save(tmp_path / "rgb.jpg", quality=100)
    Image.fromarray(mask.astype(np.uint16) * 65535).save(tmp_path / "m16.png")
    for name in ("bilevel.png", "rgb.jpg", "m16.png"):
        assert np.array_equal(load_mask(tmp_path / name), mask), name


def test_mask_with_alpha_counts_transparent_as_known(tmp_path):
    # White strokes on a transparent layer, as drawn in an image editor.
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, :, :3] = 255
    rgba[2:4, 2:6, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "strokes.png")
    assert load_mask(tmp_path / "strokes.png").sum() == 8


def test_mask_from_alpha_is_not_fully_opaque():
    alpha = np.array([[0, 128, 254, 255]], np.uint8)
    assert mask_from_alpha(alpha).tolist() == [[True, True, True, False]]
    assert mask_from_alpha(alpha.astype(np.uint16) * 257).tolist() == [[True, True, True, False]]


def test_image_from_pil_and_array_agree(photo):
    assert np.array_equal(image_from_pil(Image.fromarray(photo)).rgb, image_from_array(photo).rgb)
    grey = image_from_array(photo[:, :, 0])
    assert grey.grey and grey.rgb.shape == photo.shape
    rgba = image_from_array(np.dstack([photo, photo[:, :, 0]]))
    assert np.array_equal(rgba.alpha, photo[:, :, 0])
    with pytest.raises(InputError):
        image_from_array(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(InputError):
        image_from_array(np.zeros((4, 4, 3), np.int32))


def test_to_pil_modes(photo):
    assert image_from_array(photo).to_pil().mode == "RGB"
    assert image_from_array(photo[:, :, 0]).to_pil().mode == "L"
    assert image_from_array(np.dstack([photo, photo[:, :, 0]])).to_pil().mode == "RGBA"
    assert image_from_array(photo_16bit(photo)[:, :, 0]).to_pil().mode == "I;16"


@pytest.mark.parametrize("suffix, mode", [(".jpg", "RGB"), (".webp", "RGBA"), (".bmp", "RGB"), (".tiff", "RGBA")])
def test_other_formats_hold_what_they_can(photo, tmp_path, suffix, mode):
    rgba = image_from_array(np.dstack([photo, np.full(photo.shape[:2], 200, np.uint8)]))
    save_image(rgba, tmp_path / f"out{suffix}", quality=90)
    assert Image.open(tmp_path / f"out{suffix}").mode == mode


def test_output_format_from_suffix():
    assert output_format_for("a.JPEG") == "jpg"
    assert output_format_for("a.tif") == "tiff"
    with pytest.raises(PTGFillError, match="unknown output format"):
        output_format_for("a.gif")


def test_save_is_atomic_and_leaves_no_temporary_files(photo, tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(photo, target)
    before = target.read_bytes()

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PTGFillError, match=r"out\.png: cannot write \(no space left on device\)"):
        save_image(photo[::-1], target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_save_refuses_to_overwrite_when_asked(photo, tmp_path):
    save_image(photo, tmp_path / "out.png")
    with pytest.raises(PTGFillError, match="already exists"):
        save_image(photo, tmp_path / "out.png", overwrite=False)


def test_saved_file_has_ordinary_permissions(photo, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    save_image(photo, tmp_path / "out.png")
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_encode_rejects_unknown_format(photo):
    with pytest.raises(PTGFillError):
        encode_image(image_from_array(photo), "gif")
