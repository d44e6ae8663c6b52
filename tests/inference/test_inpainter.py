"""The Inpainter: working images, composites that keep every known pixel, batches."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ptgfill_cli.data.image_io import LoadedImage, image_from_array, load_image
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.errors import InputError
from ptgfill_cli.models.factory import build_generator
from ptgfill_cli.models.generator import GeneratorOutput
from tests.conftest import EXAMPLES


class RecordingGenerator(nn.Module):
    """A generator that remembers the shape of every input it is given."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.inner = generator
        self.config = generator.config
        self.shapes: list[tuple[int, ...]] = []

    def prepare_for_inference(self, **options) -> "RecordingGenerator":
        self.inner.prepare_for_inference(**options)
        return self.eval()

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> GeneratorOutput:
        assert torch.is_inference_mode_enabled()
        self.shapes.append(tuple(image.shape))
        return self.inner(image, known)


@pytest.fixture(scope="module")
def generator() -> nn.Module:
    return build_generator("lite", seed=0).eval()


@pytest.fixture
def recording(generator) -> RecordingGenerator:
    return RecordingGenerator(generator)


def photo(name: str = "chelsea.png", size: tuple[int, int] = (100, 75)) -> np.ndarray:
    """A real photo, downscaled to (width, height) = ``size``, RGB uint8."""
    rgb = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def hole_mask_for(height: int, width: int) -> np.ndarray:
    """A disc and a bar, one of them touching the right edge."""
    hole_mask = np.zeros((height, width), np.uint8)
    cv2.circle(hole_mask, (width // 3, height // 2), max(3, height // 8), 1, -1)
    hole_mask[height // 5 : height // 5 + 6, width - width // 4 :] = 1
    return hole_mask.astype(bool)


def to_16bit(rgb: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).integers(0, 257, rgb.shape)
    return (rgb.astype(np.uint32) * 257 + noise).clip(0, 65535).astype(np.uint16)


def source_in_mode(mode: str, tmp_path: Path) -> LoadedImage:
    """The test photo decoded from a file of the given kind."""
    rgb = photo()
    path = tmp_path / f"{mode}.png"
    if mode == "rgb":
        Image.fromarray(rgb).save(path)
    elif mode == "grey":
        Image.fromarray(rgb).convert("L").save(path)
    elif mode == "rgba":
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:10] = 90
        Image.fromarray(np.dstack([rgb, alpha])).save(path)
    elif mode == "palette":
        Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path)
    elif mode == "rgb16":
        cv2.imwrite(str(path), to_16bit(rgb)[:, :, ::-1])
    elif mode == "grey16":
        Image.fromarray(to_16bit(rgb)[:, :, 0]).save(path)
    return load_image(path)


STRATEGY_OPTIONS = {
    "original": dict(strategy="original"),
    "resize": dict(strategy="resize", max_side=64),  # scaled down: 100x75 -> 64x48
    "crop": dict(strategy="crop", crop_margin=8, max_side=64),
}


@pytest.mark.parametrize("strategy", sorted(STRATEGY_OPTIONS))
@pytest.mark.parametrize("mode", ["rgb", "grey", "rgba", "palette", "rgb16", "grey16"])
def test_pixels_outside_the_holes_are_bit_identical(generator, tmp_path, mode, strategy):
    source = source_in_mode(mode, tmp_path)
    hole_mask = hole_mask_for(source.height, source.width)
    result = Inpainter(generator, **STRATEGY_OPTIONS[strategy]).inpaint(source, hole_mask)

    assert result.strategy == strategy
    assert result.pixels.dtype == source.rgb.dtype and result.pixels.shape == source.rgb.shape
    assert np.array_equal(result.pixels[~hole_mask], source.rgb[~hole_mask])
    assert not np.array_equal(result.pixels[hole_mask], source.rgb[hole_mask])
    assert result.image.grey == source.grey
    if source.alpha is not None:
        assert np.array_equal(result.image.alpha, source.alpha)
    if source.grey:
        assert np.array_equal(result.pixels[..., 0], result.pixels[..., 2])


def test_16bit_result_saves_bit_identical_outside_holes(generator, tmp_path):
    source = source_in_mode("rgb16", tmp_path)
    hole_mask = hole_mask_for(source.height, source.width)
    result = Inpainter(generator).inpaint(source, hole_mask)
    from ptgfill_cli.data.image_io import save_image

    save_image(result.image, tmp_path / "out.png")
    saved = load_image(tmp_path / "out.png")
    assert saved.rgb.dtype == np.uint16
    assert np.array_equal(saved.rgb[~hole_mask], source.rgb[~hole_mask])


def test_pil_and_float_inputs(generator):
    rgb = photo()
    hole_mask = hole_mask_for(*rgb.shape[:2])
    inpainter = Inpainter(generator)
    from_pil = inpainter.inpaint(Image.fromarray(rgb), Image.fromarray(hole_mask.astype(np.uint8) * 255))
    from_array = inpainter.inpaint(rgb, hole_mask)
    assert np.array_equal(from_pil.pixels, from_array.pixels)
    assert from_pil.to_pil().mode == "RGB"

    unit = rgb.astype(np.float32) / 255
    from_float = inpainter.inpaint(unit, hole_mask)
    assert from_float.pixels.dtype == np.float32
    assert np.array_equal(from_float.pixels[~hole_mask], unit[~hole_mask])


def test_padding_for_sizes_that_are_not_multiples_of_32(recording):
    rgb = photo(size=(100, 75))
    Inpainter(recording, upscale="off").inpaint(rgb, hole_mask_for(75, 100))
    assert recording.shapes == [(1, 3, 96, 128)]


def test_crop_on_a_large_image_runs_the_network_on_a_bounded_crop(recording):
    large = cv2.resize(photo("astronaut.png", (128, 96)), (2000, 1500), interpolation=cv2.INTER_CUBIC)
    hole_mask = np.zeros((1500, 2000), bool)
    hole_mask[700:740, 1200:1240] = True
    result = Inpainter(recording, crop_margin=32).inpaint(large, hole_mask)  # auto -> crop

    assert result.strategy == "crop"
    assert recording.shapes == [(1, 3, 128, 128)]  # 40 + 2 * 32 = 104, padded to 128
    assert np.array_equal(result.pixels[~hole_mask], large[~hole_mask])
    assert not np.array_equal(result.pixels[hole_mask], large[hole_mask])


def test_crop_of_far_apart_holes_runs_one_crop_each(recording):
    large = cv2.resize(photo("astronaut.png", (128, 96)), (2000, 1500), interpolation=cv2.INTER_CUBIC)
    hole_mask = np.zeros((1500, 2000), bool)
    hole_mask[20:60, 20:60] = True  # its box is clipped by the corner: 92x92
    hole_mask[1400:1440, 1900:1940] = True  # 104x104
    result = Inpainter(recording, crop_margin=32).inpaint(large, hole_mask)
    assert sorted(recording.shapes) == [(1, 3, 96, 96), (1, 3, 128, 128)]
    assert result.working_sizes == [(96, 96), (128, 128)]
    assert np.array_equal(result.pixels[~hole_mask], large[~hole_mask])
    assert not np.array_equal(result.pixels[hole_mask], large[hole_mask])


def test_crop_of_many_scattered_holes_is_one_crop_scaled_to_max_side(recording):
    large = cv2.resize(photo("astronaut.png", (128, 96)), (2000, 1500), interpolation=cv2.INTER_CUBIC)
    hole_mask = np.zeros((1500, 2000), bool)
    hole_mask[50:1450:150, 50:1950:150] = True  # 10 x 13 specks, each its own crop at first
    result = Inpainter(recording, strategy="crop", max_side=64, crop_margin=4, upscale="off").inpaint(large, hole_mask)
    assert recording.shapes == [(1, 3, 64, 64)]  # one box, 1409x1909 scaled to 47x64
    assert np.array_equal(result.pixels[~hole_mask], large[~hole_mask])


def test_mask_of_another_size_is_an_error(generator):
    with pytest.raises(InputError, match="mask is 90x70 but the image is 100x75"):
        Inpainter(generator).inpaint(photo(), np.ones((70, 90), bool))


def test_all_hole_mask_is_an_error(generator):
    with pytest.raises(InputError, match="mask is all hole"):
        Inpainter(generator).inpaint(photo(), np.ones((75, 100), bool))


def test_mask_without_holes_copies_the_image(recording):
    rgb = photo()
    result = Inpainter(recording).inpaint(rgb, np.zeros((75, 100), bool))
    assert result.strategy == "copy" and result.working_sizes == []
    assert np.array_equal(result.pixels, rgb) and result.pixels is not rgb
    assert recording.shapes == []


def test_alpha_channel_as_mask(generator):
    rgb = photo()
    alpha = np.full((75, 100), 255, np.uint8)
    alpha[20:40, 30:60] = 0
    alpha[50, 50] = 200  # partly transparent counts as a hole
    result = Inpainter(generator).inpaint(np.dstack([rgb, alpha]))
    hole_mask = alpha < 255
    assert np.array_equal(result.hole_mask, hole_mask)
    assert result.image.alpha is None  # everything is filled: opaque
    assert np.array_equal(result.pixels[~hole_mask], rgb[~hole_mask])
    with pytest.raises(InputError, match="no alpha channel"):
        Inpainter(generator).inpaint(rgb)


def test_alpha_is_kept_when_a_mask_is_given(generator):
    rgba = np.dstack([photo(), np.full((75, 100), 128, np.uint8)])
    result = Inpainter(generator).inpaint(rgba, hole_mask_for(75, 100))
    assert np.array_equal(result.image.alpha, rgba[:, :, 3])


def test_batch_equals_one_by_one(recording):
    images = [photo(name, (96, 64)) for name in ("chelsea.png", "coffee.png", "astronaut.png")]
    hole_masks = [hole_mask_for(64, 96), np.roll(hole_mask_for(64, 96), 20, axis=1), hole_mask_for(64, 96)[::-1]]
    one_by_one = [Inpainter(recording, upscale="off").inpaint(i, m).pixels for i, m in zip(images, hole_masks)]
    recording.shapes.clear()
    batched = Inpainter(recording, batch_size=3, upscale="off").inpaint_batch(list(zip(images, hole_masks)))
    assert recording.shapes == [(3, 3, 64, 96)]
    for single, result in zip(one_by_one, batched):
        # Same network, batched BLAS: allow a rounding step, no more.
        assert np.abs(single.astype(int) - result.pixels.astype(int)).max() <= 1


def test_batches_group_images_by_working_size(recording):
    items = [
        (photo(size=(96, 64)), hole_mask_for(64, 96)),
        (photo(size=(64, 64)), hole_mask_for(64, 64)),
        (photo(size=(90, 60)), hole_mask_for(60, 90)),  # pads to 64x96 like the first
        (photo(size=(64, 64)), np.zeros((64, 64), bool)),  # no hole: no network
    ]
    results = Inpainter(recording, batch_size=4, upscale="off").inpaint_batch(items)
    assert sorted(recording.shapes) == [(1, 3, 64, 64), (2, 3, 64, 96)]
    assert [r.pixels.shape[:2] for r in results] == [(64, 96), (64, 64), (60, 90), (64, 64)]
    assert results[3].strategy == "copy"


def test_coarse_output_on_request(generator):
    rgb = photo()
    hole_mask = hole_mask_for(75, 100)
    result = Inpainter(generator).inpaint(rgb, hole_mask, keep_coarse=True)
    assert result.coarse is not None
    assert np.array_equal(result.coarse.rgb[~hole_mask], rgb[~hole_mask])
    assert not np.array_equal(result.coarse.rgb[hole_mask], result.pixels[hole_mask])
    assert Inpainter(generator).inpaint(rgb, hole_mask).coarse is None


def test_result_summary(generator):
    result = Inpainter(generator, upscale="off").inpaint(photo(), hole_mask_for(75, 100))
    summary = result.to_dict()
    assert summary["width"] == 100 and summary["height"] == 75
    assert summary["strategy"] == "original" and summary["working_sizes"] == [[96, 128]] and not summary["upscaled"]
    assert 0 < summary["hole_ratio"] < 0.2 and summary["seconds"] > 0


def test_bad_options_are_refused(generator):
    with pytest.raises(ValueError, match="strategy"):
        Inpainter(generator, strategy="zoom")
    with pytest.raises(ValueError, match="batch_size"):
        Inpainter(generator, batch_size=0)
    with pytest.raises(ValueError, match="max_side"):
        Inpainter(generator, max_side=8)
    with pytest.raises(ValueError, match="precision"):
        Inpainter(generator, precision="fp8")


def test_from_pretrained_loads_a_saved_model(generator, tmp_path, monkeypatch):
    from ptgfill_cli.weights.store import save_model

    path = save_model(generator, tmp_path / "lite.safetensors")
    inpainter = Inpainter.from_pretrained(str(path), device="cpu", strategy="crop")
    assert inpainter.network.device == torch.device("cpu") and inpainter.strategy == "crop"
    rgb = photo()
    hole_mask = hole_mask_for(75, 100)
    assert np.array_equal(
        inpainter.inpaint(rgb, hole_mask).pixels,
        Inpainter(generator, strategy="crop").inpaint(rgb, hole_mask).pixels,
    )
    # A Path is a file or folder (was an AttributeError), even one named as an installed model.
    assert Inpainter.from_pretrained(path).name == "lite"
    folder = tmp_path / "ptgfill-lite-general"
    folder.mkdir()
    path.rename(folder / "model.safetensors")
    monkeypatch.chdir(tmp_path)
    loaded = Inpainter.from_pretrained(Path("ptgfill-lite-general"))
    ours = dict(generator.named_parameters())
    assert all(torch.equal(value, ours[name]) for name, value in loaded.generator.named_parameters())


def test_array_images_keep_their_layout(generator):
    grey = photo()[:, :, 0]
    result = Inpainter(generator).inpaint(grey, hole_mask_for(75, 100))
    assert result.image.grey and result.to_pil().mode == "L"
    assert isinstance(image_from_array(grey), LoadedImage)


@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (33, 1)])
def test_tiny_images(recording, shape):
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    hole_mask = np.zeros(shape, bool)
    hole_mask.flat[0] = True
    result = Inpainter(recording, upscale="off").inpaint(rgb, hole_mask)
    assert recording.shapes == [(1, 3, 64, 64)]
    assert np.array_equal(result.pixels[~hole_mask], rgb[~hole_mask])


def test_exif_rotated_photo_takes_a_mask_of_its_upright_size(generator, tmp_path):
    rgb = photo(size=(96, 64))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.fromarray(rgb).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    source = load_image(tmp_path / "rotated.jpg")
    assert (source.height, source.width) == (96, 64)
    hole_mask = hole_mask_for(96, 64)
    result = Inpainter(generator).inpaint(source, hole_mask)
    assert np.array_equal(result.pixels[~hole_mask], source.rgb[~hole_mask])
    with pytest.raises(InputError, match="mask is 96x64 but the image is 64x96"):
        Inpainter(generator).inpaint(source, hole_mask_for(64, 96))


def test_channels_last_is_the_cpu_default_and_gives_the_same_fill(generator):
    photo = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB").resize((96, 64)))
    hole = np.zeros((64, 96), bool)
    hole[20:44, 30:60] = True
    fast = Inpainter(build_generator("lite", seed=0), device="cpu")
    plain = Inpainter(build_generator("lite", seed=0), device="cpu", channels_last=False)
    assert fast.generator.gatedconv2.fused_weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.generator.gatedconv2.fused_weight.is_contiguous(memory_format=torch.channels_last)
    a, b = fast.inpaint(photo, hole).image.rgb, plain.inpaint(photo, hole).image.rgb
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


@pytest.mark.slow
def test_compiled_network_gives_the_eager_fill_at_two_sizes():
    """torch.compile (inductor, frozen weights): ~30 s of compiling per size on 2 cores.
    The second size recompiles (a dynamic-shape recompile used to fail in inductor)."""
    eager = Inpainter(build_generator("lite", seed=0), device="cpu")
    compiled = Inpainter(build_generator("lite", seed=0), device="cpu", compile=True)
    for width, height in ((64, 64), (96, 64)):
        photo = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB").resize((width, height)))
        hole = np.zeros((height, width), bool)
        hole[20:40, 20:40] = True
        a, b = eager.inpaint(photo, hole).image.rgb, compiled.inpaint(photo, hole).image.rgb
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_dilation_grows_the_hole_and_keeps_every_pixel_outside_it(generator):
    rgb = photo()
    hole_mask = np.zeros((75, 100), bool)
    hole_mask[30:40, 40:50] = True
    plain = Inpainter(generator).inpaint(rgb, hole_mask)
    grown = Inpainter(generator, dilate=3).inpaint(rgb, hole_mask)
    # a disc of radius 3: everything within 3 pixels of the hole, corners rounded off
    distance = cv2.distanceTransform((~hole_mask).astype(np.uint8), cv2.DIST_L2, 5)
    assert np.all(grown.hole_mask[distance <= 2.9]) and not np.any(grown.hole_mask[distance > 3.2])
    assert np.array_equal(grown.pixels[~grown.hole_mask], rgb[~grown.hole_mask])
    assert not np.array_equal(grown.pixels, plain.pixels)
    with pytest.raises(ValueError, match="dilate"):
        Inpainter(generator, dilate=-1)
