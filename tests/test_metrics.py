"""Known-answer tests for the evaluation metrics: PSNR, SSIM, L1, hole PSNR, 8-bit rounding,
the Fréchet distance, LPIPS and the FID network (architecture and weight files)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ptgfill_cli import metrics
from ptgfill_cli.data.grids import to_uint8
from ptgfill_cli.errors import WeightsError
from ptgfill_cli.evaluation import inception, lpips
from tests.conftest import EXAMPLES


def photo(name: str, size: int = 96) -> torch.Tensor:
    """A real photo, centre square resized to ``size``, as (1, 3, size, size) float64 in [0, 1]."""
    with Image.open(EXAMPLES / name) as image:
        rgb = image.convert("RGB")
        side = min(rgb.size)
        left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
        rgb = rgb.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BOX)
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].double() / 255


# ---------------------------------------------------------------- pixel metrics


def test_psnr_of_a_known_error() -> None:
    truth = torch.full((2, 3, 16, 16), 100 / 255, dtype=torch.float64)
    output = truth + 10 / 255  # every pixel off by 10 levels: MSE = (10/255)^2
    expected = 20 * math.log10(255 / 10)
    assert metrics.psnr(output, truth).tolist() == pytest.approx([expected, expected], abs=1e-9)


def test_psnr_region_counts_only_that_region() -> None:
    truth = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    output = truth.clone()
    output[..., :4, :] = 0.5  # error only in the top half
    top = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    top[..., :4, :] = 1
    assert metrics.psnr(output, truth, region=top).item() == pytest.approx(10 * math.log10(1 / 0.25))
    assert metrics.psnr(output, truth).item() == pytest.approx(10 * math.log10(1 / 0.125))


def test_psnr_and_ssim_agree_with_scikit_image_on_real_photos() -> None:
    skimage_metrics = pytest.importorskip("skimage.metrics")
    truth = photo("astronaut.png")
    damaged = metrics.quantize(truth + 0.08 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(0)))
    x = damaged[0].permute(1, 2, 0).numpy()
    y = truth[0].permute(1, 2, 0).numpy()
    assert metrics.psnr(damaged, truth).item() == pytest.approx(
        skimage_metrics.peak_signal_noise_ratio(y, x, data_range=1), abs=1e-9)
    expected_ssim = skimage_metrics.structural_similarity(
        y, x, data_range=1, channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert metrics.ssim(damaged, truth).item() == pytest.approx(expected_ssim, abs=1e-10)


def test_ssim_of_an_image_with_itself_is_one_and_drops_with_damage() -> None:
    truth = photo("coffee.png")
    assert metrics.ssim(truth, truth).item() == pytest.approx(1.0, abs=1e-12)
    blurred = torch.nn.functional.avg_pool2d(truth, 5, stride=1, padding=2, count_include_pad=False)
    assert metrics.ssim(blurred, truth).item() < 0.95


def test_ssim_per_image_of_a_batch_and_of_a_narrow_image_agrees_with_scikit_image() -> None:
    skimage_metrics = pytest.importorskip("skimage.metrics")
    truth = torch.cat([photo("china.jpg", 72), photo("rocket.jpg", 72)])
    damaged = metrics.quantize(truth.flip(-1) * 0.3 + truth * 0.7)

    def reference(x: torch.Tensor, y: torch.Tensor) -> float:
        return skimage_metrics.structural_similarity(
            y.permute(1, 2, 0).numpy(), x.permute(1, 2, 0).numpy(), data_range=1, channel_axis=2,
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False)

    assert metrics.ssim(damaged, truth).tolist() == pytest.approx(
        [reference(damaged[i], truth[i]) for i in range(2)], abs=1e-10)
    narrow, narrow_truth = damaged[..., :40, :23], truth[..., :40, :23]
    assert metrics.ssim(narrow, narrow_truth)[0].item() == pytest.approx(reference(narrow[0], narrow_truth[0]), abs=1e-10)


def test_l1_percent_of_a_known_error() -> None:
    truth = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)).double() * 0.5
    assert metrics.l1_percent(truth + 0.1, truth).tolist() == pytest.approx([10.0, 10.0])


def test_hole_psnr_ignores_the_known_pixels() -> None:
    truth = photo("chelsea.png", 32)
    known = torch.ones(1, 1, 32, 32, dtype=torch.float64)
    known[..., 8:16, 8:24] = 0
    output = truth.clone()
    output[..., 8:16, 8:24] += 0.05  # the hole is off by 0.05 ...
    output = output + (known * 0.3)  # ... and the known part by much more
    assert metrics.hole_psnr(output, truth, known).item() == pytest.approx(20 * math.log10(1 / 0.05))


def test_quantize_rounds_like_saved_images() -> None:
    values = torch.tensor([0.0, 0.5 / 255, 1.49 / 255, 1.5 / 255, 254.5 / 255, 1.0, 1.2, -0.1], dtype=torch.float64)
    levels = (metrics.quantize(values) * 255).round().tolist()
    assert levels == [0, 1, 1, 2, 255, 255, 255, 0]
    images = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(to_uint8(metrics.quantize(images).float()), to_uint8(images))
    assert torch.equal(metrics.quantize(metrics.quantize(images)), metrics.quantize(images))


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_one_dimensional_gaussians() -> None:
    # (m1 - m2)^2 + s1 + s2 - 2 sqrt(s1 s2) for variances s1, s2.
    value = metrics.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]]))
    assert value == pytest.approx(9 + 4 + 9 - 2 * 6)


def test_frechet_distance_of_diagonal_gaussians() -> None:
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert metrics.frechet_distance(mean_a, np.diag(a), mean_b, np.diag(b)) == pytest.approx(expected)


def test_frechet_distance_matches_the_scipy_sqrtm_formula_and_is_symmetric() -> None:
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mean_x, cov_x, mean_y, cov_y = x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    root = linalg.sqrtm(cov_x @ cov_y).real
    expected = np.sum((mean_x - mean_y) ** 2) + np.trace(cov_x) + np.trace(cov_y) - 2 * np.trace(root)
    assert metrics.frechet_distance(mean_x, cov_x, mean_y, cov_y) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(mean_y, cov_y, mean_x, cov_x) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(mean_x, cov_x, mean_x, cov_x) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_with_singular_covariances_is_finite() -> None:
    rng = np.random.default_rng(1)
    few = rng.normal(size=(5, 40))  # fewer samples than dimensions: rank 4
    other = few + rng.normal(scale=0.1, size=few.shape)
    value = metrics.frechet_distance(few.mean(0), np.cov(few, rowvar=False), other.mean(0), np.cov(other, rowvar=False))
    assert math.isfinite(value) and value > 0
    with pytest.raises(ValueError, match="mismatched"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


@pytest.mark.parametrize("count", [5, 60])  # fewer and more vectors than dimensions
def test_frechet_distance_of_samples_equals_that_of_their_moments(count: int) -> None:
    rng = np.random.default_rng(count)
    a = rng.normal(size=(count, 7))
    b = rng.normal(size=(count + 3, 7)) * 1.5 + 0.2
    expected = metrics.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    # rel 1e-7: with singular covariances the eigenvalue route takes square roots of round-off.
    assert metrics.frechet_distance_of_samples(a, b) == pytest.approx(expected, rel=1e-7)
    assert metrics.frechet_distance_of_samples(a, a) == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance_of_samples(a[:1], b)


# ---------------------------------------------------------------- LPIPS


def torchvision_alexnet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with the key names of torchvision's published AlexNet file and the shapes
    of its ``features`` (written out here, not taken from our module), random values."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for index, shape in {0: (64, 3, 11, 11), 3: (192, 64, 5, 5), 6: (384, 192, 3, 3),
                         8: (256, 384, 3, 3), 10: (256, 256, 3, 3)}.items():
        fan_in = shape[1] * shape[2] * shape[3]
        state[f"features.{index}.weight"] = torch.randn(shape, generator=generator) * (2 / fan_in) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(shape[0])
    for name in ("classifier.1", "classifier.4", "classifier.6"):  # ignored by LPIPS: kept tiny here
        state[f"{name}.weight"] = torch.zeros(2, 2)
        state[f"{name}.bias"] = torch.zeros(2)
    return state


def lpips_heads_state(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {f"lin{k}.model.1.weight": torch.rand((1, c, 1, 1), generator=generator)
            for k, c in enumerate((64, 192, 384, 256, 256))}


@pytest.fixture(scope="module")
def lpips_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("lpips")
    trunk, heads = folder / lpips.BACKBONE_FILENAME, folder / "heads.pth"
    torch.save(torchvision_alexnet_state(), trunk)
    torch.save(lpips_heads_state(), heads)
    return trunk, heads


def test_lpips_of_an_image_with_itself_is_zero_and_it_is_symmetric(lpips_files: tuple[Path, Path]) -> None:
    network = lpips.load_lpips(lpips_files)
    a = photo("astronaut.png", 64).float()
    b = photo("coffee.png", 64).float()
    pair = torch.cat([a, b])
    assert network(pair, pair).abs().max().item() < 1e-7
    forward, backward = network(a, b), network(b, a)
    assert forward.item() > 0.01
    assert forward.item() == pytest.approx(backward.item(), rel=1e-5)
    blurred = torch.nn.functional.avg_pool2d(a, 3, stride=1, padding=1, count_include_pad=False)
    assert 0 < network(blurred, a).item() < forward.item()


def test_lpips_matches_its_definition_layer_by_layer(lpips_files: tuple[Path, Path]) -> None:
    network = lpips.load_lpips(lpips_files)
    a, b = photo("chelsea.png", 64).float(), photo("flower.jpg", 64).float()
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    fa, fb = network.net((2 * a - 1 - shift) / scale), network.net((2 * b - 1 - shift) / scale)
    assert [f.shape[1] for f in fa] == [64, 192, 384, 256, 256]
    heads = lpips_heads_state()
    expected = 0.0
    for k, (x, y) in enumerate(zip(fa, fb)):
        x = x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        y = y / (y.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        expected += ((x - y) ** 2 * heads[f"lin{k}.model.1.weight"].view(1, -1, 1, 1)).sum(1).mean().item()
    assert network(a, b).item() == pytest.approx(expected, rel=1e-5)


def test_the_published_lpips_heads_file_loads_when_installed(lpips_files: tuple[Path, Path]) -> None:
    heads = lpips.bundled_heads_file()
    if heads is None:
        pytest.skip("neither the lpips nor the torchmetrics package (which ship alex.pth v0.1) is installed")
    parts = lpips.read_weight_parts(heads)
    assert sorted(parts.heads) == [f"lin{k}.model.1.weight" for k in range(5)] and not parts.backbone
    network = lpips.load_lpips([lpips_files[0], heads])
    assert torch.equal(network.lin2.model[1].weight, parts.heads["lin2.model.1.weight"].float())


def test_a_whole_lpips_state_dict_loads_strictly(tmp_path: Path, lpips_files: tuple[Path, Path]) -> None:
    network = lpips.load_lpips(lpips_files)
    # The lpips package's own model saves its scaling buffers beside the weights.
    state = {**network.state_dict(), "scaling_layer.shift": torch.zeros(1, 3, 1, 1),
             "scaling_layer.scale": torch.ones(1, 3, 1, 1)}
    whole = tmp_path / "lpips_alex_full.pth"
    torch.save(state, whole)
    again = lpips.load_lpips([whole])
    for key, value in network.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_lpips_weight_files_that_do_not_fit_are_refused(tmp_path: Path, lpips_files: tuple[Path, Path]) -> None:
    with pytest.raises(WeightsError, match="lack"):
        lpips.load_lpips([lpips_files[0]])  # no heads
    wrong = torchvision_alexnet_state()
    wrong["features.3.weight"] = torch.zeros(192, 64, 3, 3)
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(WeightsError, match="features|slice2"):
        lpips.load_lpips([tmp_path / "wrong.pth", lpips_files[1]])
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="neither"):
        lpips.read_weight_parts(tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="no such"):
        lpips.read_weight_parts(tmp_path / "missing.pth")


# ---------------------------------------------------------------- FID network


def test_fid_inception_has_the_published_architecture() -> None:
    network = inception.FIDInceptionV3()
    assert sum(p.numel() for p in network.parameters()) == 23_850_960
    shapes = {key: tuple(value.shape) for key, value in network.state_dict().items()}
    # Key names and shapes of pytorch-fid's pt_inception-2015-12-05 file (torchvision's names).
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert shapes["Conv2d_4a_3x3.bn.running_var"] == (192,)
    assert shapes["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert shapes["Mixed_6b.branch7x7_2.conv.weight"] == (128, 128, 1, 7)
    assert shapes["Mixed_7a.branch3x3_2.conv.weight"] == (320, 192, 3, 3)
    assert shapes["Mixed_7c.branch3x3dbl_3b.conv.weight"] == (384, 384, 3, 1)
    assert shapes["fc.weight"] == (1008, 2048)
    assert not any(key.startswith("AuxLogits") for key in shapes)


def test_fid_inception_features_and_weight_file_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = inception.FIDInceptionV3(resize_input=False)
    for module in network.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    file = tmp_path / "inception.pth"
    torch.save(network.state_dict(), file)
    loaded = inception.load_fid_inception(file)
    loaded.resize_input = False
    images = torch.cat([photo("rocket.jpg", 75), photo("coffee.png", 75)]).float()
    with torch.no_grad():
        features, again = network(images), loaded(images)
    assert features.shape == (2, inception.FEATURE_DIM)
    assert torch.allclose(features, again) and (features >= 0).all()
    broken = network.state_dict()
    del broken["Mixed_6c.branch_pool.bn.weight"]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(WeightsError, match="not the FID Inception weights"):
        inception.load_fid_inception(tmp_path / "broken.pth")
