"""The evaluator and `ptgfill evaluate`: tables, grid and chart; scores that a recomputation
from the saved images reproduces; LPIPS / FID with networks built here and n/a without
weights; resuming; replaying pairs; failures and exit codes."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ptgfill_cli import metrics
from ptgfill_cli.evaluation.catalogue import fit_image
from ptgfill_cli.data.datasets import read_rgb
from ptgfill_cli.data.masks import write_mask_set
from ptgfill_cli.evaluation import metric_info
from ptgfill_cli.evaluation.baselines import OpenCVMethod, PTGFillMethod, build_methods
from ptgfill_cli.errors import EvaluationError
from ptgfill_cli.evaluation.evaluator import evaluate
from ptgfill_cli.evaluation.settings import EvaluationSettings
from ptgfill_cli.inference.upscale import enlarged, reduced
from ptgfill_cli.errors import PTGFillError
from ptgfill_cli.weights.store import save_model
from ptgfill_cli.evaluation import inception
from ptgfill_cli.models.factory import build_generator
from tests.conftest import EXAMPLES

TWO_BUCKETS = ((0.1, 0.2), (0.3, 0.4))


@pytest.fixture(autouse=True)
def quiet_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """One torch thread, and an empty torch hub cache, so no LPIPS / FID weights are found by chance."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torch-hub"))
    yield
    torch.set_num_threads(threads)


class OracleMethod:
    """Fills every hole with the original: a perfect method, for known answers."""

    name = "oracle"
    description = "the original pixels"

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return image.clone()

    def check_size(self, height: int, width: int) -> None:
        return None


class InterruptingMethod(OracleMethod):
    """Like the oracle, but the run is interrupted at its second batch."""

    name = "interrupted"

    def __init__(self) -> None:
        self.calls = 0

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().fill(image, known)


def settings_for(tmp_path: Path, **changes: object) -> EvaluationSettings:
    base = EvaluationSettings(
        dataset=str(EXAMPLES), output=tmp_path / "out", masks="irregular", mask_seed=0, buckets=TWO_BUCKETS,
        size=64, limit=3, metrics=("psnr", "ssim", "l1", "hole_psnr"), batch_size=4, grid_cases=1,
    )
    return replace(base, **changes)


def baselines() -> list:
    return build_methods(["opencv-telea", "opencv-ns"], torch.device("cpu"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# ---------------------------------------------------------------- a baselines-only run


def test_a_baselines_only_run_writes_tables_grid_and_chart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, metrics=metric_info.METRICS)
    result = evaluate(settings, baselines())
    out = settings.output
    assert [(r.method, r.bucket, r.count) for r in result.rows] == [
        ("opencv-telea", "010-020", 3), ("opencv-telea", "030-040", 3),
        ("opencv-ns", "010-020", 3), ("opencv-ns", "030-040", 3)]
    telea = {r.bucket: r for r in result.rows if r.method == "opencv-telea"}
    assert 0.1 <= telea["010-020"].mean_hole_ratio < 0.2 <= 0.3 <= telea["030-040"].mean_hole_ratio < 0.4
    assert telea["010-020"].values["psnr"] > telea["030-040"].values["psnr"] > 10
    assert telea["010-020"].values["l1"] < telea["030-040"].values["l1"]
    assert telea["010-020"].values["lpips"] is None and telea["010-020"].values["fid"] is None
    assert result.notes["lpips"].startswith("n/a: no ") and result.notes["fid"].startswith("n/a: no FID Inception")

    table = read_csv(out / "metrics.csv")
    assert len(table) == 4 and table[0]["count"] == "3" and table[0]["lpips"] == "" and float(table[0]["psnr"]) > 10
    assert len(read_csv(out / "per_image.csv")) == 12 and len(read_csv(out / "pairs.csv")) == 6
    markdown = (out / "metrics.md").read_text()
    assert "| opencv-ns | 30-40 % | 3 |" in markdown and "n/a" in markdown and "LPIPS: n/a: no" in markdown
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["rows"][0]["count"] == 3 and saved["run"]["images"] == 3
    with Image.open(out / "comparison.png") as sheet:  # input | 2 methods | original; one case per bucket
        assert sheet.width == 4 * (160 + 4) + 4 and sheet.height > 2 * 160
    with Image.open(out / "metrics_vs_hole_ratio.png") as chart:
        assert chart.width == 920 and chart.height > 600  # four panels: PSNR, SSIM, L1, hole PSNR


def test_scores_equal_a_recomputation_from_the_saved_images(tmp_path: Path) -> None:
    skimage_metrics = pytest.importorskip("skimage.metrics")
    settings = settings_for(tmp_path, save_images=True, limit=2)
    evaluate(settings, build_methods(["opencv-telea"], torch.device("cpu")))
    rows = read_csv(settings.output / "per_image.csv")
    assert len(rows) == 4
    for row in rows:
        truth = fit_image(read_rgb(EXAMPLES / row["image"]), 64, "crop")
        saved = settings.output / "filled" / "opencv-telea" / row["bucket"] / (
            f"{int(row['image_index']):06d}_{Path(row['image']).stem}.png")
        filled = np.asarray(Image.open(saved).convert("RGB"))
        changed = (filled != truth).any(axis=2)
        assert 0 < changed.mean() <= float(row["hole_ratio"])  # only hole pixels differ
        assert float(row["psnr"]) == pytest.approx(skimage_metrics.peak_signal_noise_ratio(truth, filled), abs=1e-9)
        as_tensor = [torch.from_numpy(a.copy()).permute(2, 0, 1)[None].double() / 255 for a in (filled, truth)]
        assert float(row["ssim"]) == pytest.approx(metrics.ssim(*as_tensor).item(), abs=1e-12)
        assert float(row["l1"]) == pytest.approx(np.abs(filled / 255 - truth / 255).mean() * 100, abs=1e-9)


def test_a_perfect_method_and_a_ptgfill_model(tmp_path: Path) -> None:
    model_file = save_model(build_generator("lite", seed=0), tmp_path / "m.safetensors")
    methods = build_methods([str(model_file)], torch.device("cpu"), upscale="off") + [OracleMethod()]
    assert isinstance(methods[0], PTGFillMethod) and methods[0].name == "m"
    result = evaluate(settings_for(tmp_path, limit=2, buckets=((0.1, 0.2),), save_images=True), methods)
    oracle = next(r for r in result.rows if r.method == "oracle")
    assert oracle.values["ssim"] == pytest.approx(1.0) and oracle.values["l1"] == 0.0
    untrained = next(r for r in result.rows if r.method == "m")
    assert untrained.count == 2 and untrained.values["ssim"] < 1.0
    filled = np.asarray(Image.open(next((result.output / "filled" / "m").rglob("*.png"))).convert("RGB"))
    assert filled.shape == (64, 64, 3)
    with pytest.raises(PTGFillError, match="not a multiple of 32"):
        evaluate(settings_for(tmp_path, size=48, output=tmp_path / "other"), methods)


# ---------------------------------------------------------------- LPIPS and FID


def calibrated_inception() -> inception.FIDInceptionV3:
    """The FID network with random weights and batch-norm statistics taken from four real
    photos (with the default statistics its features all but vanish)."""
    torch.manual_seed(0)
    network = inception.FIDInceptionV3()
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    photos = [fit_image(read_rgb(EXAMPLES / name), 96, "crop") for name in ("astronaut.png", "china.jpg",
                                                                           "flower.jpg", "rocket.jpg")]
    batch = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float() / 255
    network.train()
    with torch.no_grad():
        network(batch)
    return network.eval()


def test_lpips_and_fid_through_the_evaluator_with_networks_built_here(tmp_path: Path) -> None:
    from tests.test_metrics import lpips_heads_state, torchvision_alexnet_state

    torch.save(torchvision_alexnet_state(), tmp_path / "alexnet.pth")
    torch.save(lpips_heads_state(), tmp_path / "heads.pth")
    torch.save(calibrated_inception().state_dict(), tmp_path / "inception.pth")
    settings = settings_for(
        tmp_path, limit=2, buckets=((0.3, 0.4),), metrics=("psnr", "lpips", "fid"), grid_cases=0,
        lpips_weights=(tmp_path / "alexnet.pth", tmp_path / "heads.pth"), fid_weights=tmp_path / "inception.pth",
    )
    result = evaluate(settings, [OracleMethod(), OpenCVMethod("opencv-telea", 0, "Telea")])
    oracle, telea = result.rows
    assert oracle.values["lpips"] == pytest.approx(0, abs=1e-6) and oracle.values["fid"] == pytest.approx(0, abs=1e-3)
    assert telea.values["lpips"] > 1e-3 and telea.values["fid"] > 1e-3
    assert "not the published" in result.notes["fid"] and "not torchvision's published" in result.notes["lpips"]
    assert len(list((settings.output / "fid-features").glob("*/*.npz"))) == 3  # truth, oracle, telea
    lpips_column = [float(r["lpips"]) for r in read_csv(settings.output / "per_image.csv") if r["method"] == "oracle"]
    assert lpips_column == pytest.approx([0, 0], abs=1e-6)


def test_explicit_weights_that_do_not_load_are_an_error(tmp_path: Path) -> None:
    torch.save({"something": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(PTGFillError, match="bad.pth"):
        evaluate(settings_for(tmp_path, metrics=("psnr", "fid"), fid_weights=tmp_path / "bad.pth"), baselines())


# ---------------------------------------------------------------- resuming, replaying


def test_an_interrupted_run_resumes_without_redoing_finished_cases(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        evaluate(settings, [InterruptingMethod()])
    assert len(read_csv(settings.output / "per_image.csv")) == 2  # the first batch was kept

    resumed_method = InterruptingMethod()
    resumed_method.calls = 10  # no more interruptions
    result = evaluate(settings, [resumed_method])
    assert result.cases_resumed == 2 and result.cases_evaluated == 4
    rows = read_csv(settings.output / "per_image.csv")
    assert sorted(r["case"] for r in rows) == sorted({r["case"] for r in rows}) and len(rows) == 6

    fresh = evaluate(replace(settings, output=tmp_path / "fresh"), [OracleMethod()])
    assert [r.values for r in result.rows] == [r.values for r in fresh.rows]


def test_more_images_extend_a_run_and_other_settings_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, limit=2)
    evaluate(settings, baselines())
    grown = evaluate(replace(settings, limit=3), baselines())
    assert grown.cases_resumed == 8 and grown.cases_evaluated == 4
    with pytest.raises(EvaluationError, match="size differ"):
        evaluate(replace(settings, size=32), baselines())
    replaced = evaluate(replace(settings, size=32, overwrite=True), baselines())
    assert replaced.cases_resumed == 0 and replaced.run["size"] == 32
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(EvaluationError, match="holds no evaluation"):
        evaluate(replace(settings, output=tmp_path / "busy"), baselines())


def test_a_pairs_file_replays_a_run_exactly(tmp_path: Path) -> None:
    write_mask_set(tmp_path / "masks", "box", 3, TWO_BUCKETS, size=(64, 64), seed=2)
    first = settings_for(tmp_path, masks=str(tmp_path / "masks"), pair_seed=9, output=tmp_path / "first")
    evaluate(first, baselines())
    replay = replace(first, output=tmp_path / "replay", pair_seed=None, limit=None,
                     pairs_file=tmp_path / "first" / "pairs.csv")
    evaluate(replay, baselines())
    assert (tmp_path / "replay" / "pairs.csv").read_text() == (tmp_path / "first" / "pairs.csv").read_text()
    assert read_csv(tmp_path / "replay" / "per_image.csv") == read_csv(tmp_path / "first" / "per_image.csv")
    with pytest.raises(PTGFillError, match="mask-seed|--masks"):
        evaluate(replace(replay, masks="box", output=tmp_path / "wrong"), baselines())


def test_garbage_and_tampered_pairs_files_are_refused_before_any_work(tmp_path: Path) -> None:
    write_mask_set(tmp_path / "masks", "box", 3, TWO_BUCKETS, size=(64, 64), seed=2)
    first = settings_for(tmp_path, masks=str(tmp_path / "masks"), output=tmp_path / "first")
    evaluate(first, baselines())
    lines = (tmp_path / "first" / "pairs.csv").read_text().splitlines()
    header, row = lines[0], lines[1].split(",")
    outside, negative, swapped = list(row), list(row), list(row)
    outside[3] = "/etc/hostname"
    negative[2] = "-1"
    swapped[2] = str(int(row[2]) + 1)  # the index of another image than the one named
    tampered = {
        "binary": (np.random.default_rng(0).bytes(3000), "not UTF-8 text"),
        "no header": (b"a,b,c\n1,2,3\n", "not a pairs file"),
        "outside": (f"{header}\n{','.join(outside)}\n".encode(), "not those of"),
        "negative": (f"{header}\n{','.join(negative)}\n".encode(), "negative index"),
        "swapped": (f"{header}\n{','.join(swapped)}\n".encode(), "not those of"),
        "empty": (f"{header}\n".encode(), "no pairs"),
    }
    for name, (content, message) in tampered.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content)
        with pytest.raises(PTGFillError, match=message) as error:
            evaluate(replace(first, output=tmp_path / name, pairs_file=path, limit=None), baselines())
        assert "\n" not in str(error.value) and not (tmp_path / name).exists(), name


def test_flip_averaged_methods_are_named_apart_and_fill_with_the_mean_of_both_fills(tmp_path: Path) -> None:
    model_file = save_model(build_generator("lite", seed=0), tmp_path / "m.safetensors")
    (plain,) = build_methods([str(model_file)], torch.device("cpu"), upscale="off")
    averaged, telea = build_methods([str(model_file), "opencv-telea"], torch.device("cpu"), flip_average=True,
                                    upscale="off")
    assert (plain.name, averaged.name, telea.name) == ("m", "m+flip", "opencv-telea")
    assert averaged.flip_average and "mirrored" in averaged.description
    truth = torch.from_numpy(fit_image(read_rgb(EXAMPLES / "chelsea.png"), 64, "crop")).permute(2, 0, 1)[None] / 255
    known = torch.ones(1, 1, 64, 64)
    known[..., 10:30, 5:25] = 0
    expected = (plain.fill(truth, known) + plain.fill(truth.flip(-1), known.flip(-1)).flip(-1)) / 2
    assert torch.allclose(averaged.fill(truth, known), expected, atol=1e-5)
    result = evaluate(settings_for(tmp_path, limit=1, buckets=((0.1, 0.2),)), [plain, averaged])
    assert {row.method for row in result.rows} == {"m", "m+flip"}


def test_upscaled_methods_are_named_apart_and_fill_thin_holes_enlarged(tmp_path: Path) -> None:
    model_file = save_model(build_generator("lite", seed=0), tmp_path / "m.safetensors")
    cpu = torch.device("cpu")
    (plain,), (auto, telea), (thin,) = (build_methods([str(model_file)], cpu, upscale="off"),
                                        build_methods([str(model_file), "opencv-telea"], cpu),
                                        build_methods([str(model_file)], cpu, upscale="thin"))
    assert (plain.name, auto.name, thin.name, telea.name) == ("m", "m+up", "m+up-thin", "opencv-telea")
    assert "enlarged 2x" in auto.description and "enlarged" not in plain.description
    (flipped,) = build_methods([str(model_file)], cpu, flip_average=True)
    assert flipped.name == "m+up+flip"
    truth = torch.from_numpy(fit_image(read_rgb(EXAMPLES / "chelsea.png"), 64, "crop")).permute(2, 0, 1)[None] / 255
    truth = truth.repeat(2, 1, 1, 1)
    known = torch.ones(2, 1, 64, 64)
    known[0, :, 30:33, 4:60] = 0  # a scratch: thin
    known[1, :, 10:40, 10:40] = 0  # a square: thick
    filled = auto.fill(truth, known)
    big = plain.fill(enlarged(truth), enlarged(known))
    assert torch.allclose(filled[:1], reduced(big)[:1], atol=1e-5)
    assert torch.allclose(filled[1:], plain.fill(truth[1:], known[1:]), atol=1e-5)
    assert (filled[:1] - plain.fill(truth[:1], known[:1])).abs().max() > 0.01
