"""`ptgfill benchmark` as a command: the JSON report, the table, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app


def test_benchmark_command_json():
    result = CliRunner().invoke(
        app, ["benchmark", "--model", "lite", "--size", "64", "--warmup", "0", "--repeats", "1", "--json",
              "--peak-gflops", "1000"]
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
    assert report["peak_gflops"] == 1000
    assert generator["fraction_of_peak"] == pytest.approx(generator["gflop_per_s"] / 1000)
    assert path["gflop"] is None and path["fraction_of_peak"] is None


def test_benchmark_table_shows_the_arithmetic_rate():
    result = CliRunner().invoke(
        app, ["benchmark", "--model", "lite", "--size", "64", "--warmup", "0", "--repeats", "1",
              "--no-inpaint-path", "--peak-gflops", "500"]
    )
    assert result.exit_code == 0, result.output
    assert "GFLOP/s" in result.output and "of peak" in result.output and "spread s" in result.output


def test_benchmark_rejects_a_missing_device():
    result = CliRunner().invoke(app, ["benchmark", "--device", "cuda", "--size", "64"])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "0"], "--size must be a multiple of 32"), (["--size", "17"], "--size must be a multiple of 32"),
    (["--size", "-64"], "--size must be a multiple of 32"), (["--size", "99999"], "--size must be a multiple of 32"),
    (["--batch-size", "0"], "--batch-size must be at least 1"), (["--repeats", "0"], "--repeats must be at least 1"),
    (["--warmup", "-1"], "--warmup must be 0 or more"), (["--threads", "0"], "--threads must be at least 1"),
    (["--attention", "bogus"], "--attention must be one of tokens, per-token"),
])
def test_bad_options_are_one_line_errors_before_any_model_is_built(args, message):
    result = CliRunner().invoke(app, ["benchmark", *args])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [result.output.strip()] and message in result.output
