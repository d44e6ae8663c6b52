"""The benchmark: same inputs for every implementation, equal outputs, ratios from one run."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app
from ptgfill_cli.config import preset
from ptgfill_cli.engine.benchmark import benchmark_generator, benchmark_inputs, speedups
from ptgfill_cli.models.factory import build_generator


def test_inputs_are_a_real_photo_with_a_bucketed_hole():
    image, known = benchmark_inputs(64, 2)
    assert image.shape == (2, 3, 64, 64) and known.shape == (2, 1, 64, 64)
    assert torch.equal(image[0], image[1])
    hole = 1 - known[0].mean().item()
    assert 0.3 <= hole < 0.4
    assert image.std() > 0.1  # a photo, not a flat image


def test_benchmark_reports_every_implementation_with_equal_outputs():
    model = build_generator(preset("lite", attention="per-token"), seed=0)
    results = benchmark_generator(model, "lite", 64, 1, torch.device("cpu"), warmup=0, repeats=2)
    assert [r.implementation for r in results] == ["ptgfill", "straightforward", "opencv-telea"]
    assert results[0].max_abs_diff_vs_straightforward < 1e-4
    for r in results:
        assert r.median_s > 0 and r.repeats == 2 and r.images_per_s == r.batch_size / r.median_s
    versus = {row["versus"] for row in speedups(results)}
    assert versus == {"straightforward lite", "opencv-telea"}


def test_benchmark_command_json():
    result = CliRunner().invoke(
        app, ["benchmark", "--model", "lite", "--size", "64", "--warmup", "0", "--repeats", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {r["implementation"] for r in report["results"]} == {
        "ptgfill", "straightforward", "opencv-telea", "inpaint path", "inpaint path (serial)"
    }
    assert report["allocator"] in ("keep-freed", "default")
    assert {row["versus"] for row in report["speedups"]} == {"straightforward lite (tokens)", "opencv-telea"}
    path = next(r for r in report["results"] if r["implementation"] == "inpaint path")
    generator = next(r for r in report["results"] if r["implementation"] == "ptgfill")
    assert path["median_s"] > 0 and path["images_per_s"] == pytest.approx(1 / path["median_s"])
    assert generator["max_abs_diff_vs_straightforward"] < 1e-4


def test_benchmark_rejects_a_missing_device():
    result = CliRunner().invoke(app, ["benchmark", "--device", "cuda", "--size", "64"])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output
