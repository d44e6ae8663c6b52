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


def test_flip_average_adds_a_flip_averaged_inpaint_path_row():
    result = CliRunner().invoke(
        app, ["benchmark", "--model", "lite", "--size", "64", "--warmup", "0", "--repeats", "1", "--json",
              "--no-compare", "--no-inpaint-path", "--flip-average", "--path-images", "2"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["implementation"] for r in report["results"]] == ["ptgfill", "inpaint path (flip-average)"]
    flipped = report["results"][1]
    assert flipped["median_s"] > 0 and flipped["gflop"] is None
    assert report["speedups"] == []  # the inpaint path is not a rival of the generator


def test_benchmark_rejects_a_missing_device():
    result = CliRunner().invoke(app, ["benchmark", "--device", "cuda", "--size", "64"])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "0"], "--size must be a multiple of 32"), (["--size", "17"], "--size must be a multiple of 32"),
    (["--size", "-64"], "--size must be a multiple of 32"), (["--size", "99999"], "--size must be a multiple of 32"),
    (["--batch-size", "0"], "--batch-size must be 1 or more"), (["--repeats", "0"], "--repeats must be 1 or more"),
    (["--warmup", "-1"], "--warmup must be 0 or more"), (["--threads", "0"], "--threads must be 1 or more"),
    (["--path-images", "0"], "--path-images must be 1 or more"),
    (["--attention", "bogus"], "--attention: 'bogus' is not one of 'tokens', 'per-token'"),
    (["--precision", "fp8"], "--precision: 'fp8' is not one of"), (["--bogus"], "no such option: --bogus"),
])
def test_bad_options_are_one_line_errors_before_any_model_is_built(run_cli, args, message):
    result = run_cli("benchmark", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("ptgfill: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr and not result.stdout


def test_help_states_the_ranges_the_checks_apply():
    from ptgfill_cli.benchmark_settings import AT_LEAST, MAX_SIDE

    result = CliRunner().invoke(app, ["benchmark", "--help"], env={"COLUMNS": "250"})
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│ --")}
    assert f"to {MAX_SIDE})" in lines["--size"] and f"({AT_LEAST['warmup']} or more)" in lines["--warmup"]
    assert "(1 or more)" in lines["--repeats"] and "<tokens|per-token>" in lines["--attention"]
