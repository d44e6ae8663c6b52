"""Tests for `ptgfill make-masks`, in process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app
from ptgfill_cli.data import mask_spec, masks

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["make-masks", "-o", *args])


def test_json_summary_and_files(tmp_path: Path) -> None:
    out = tmp_path / "set"
    result = _run(str(out), "--kind", "strokes", "--count", "2", "--size", "48x64", "--seed", "9", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["kind"], summary["count"], summary["seed"]) == ("strokes", 12, 9)
    assert (summary["height"], summary["width"], summary["border"]) == (48, 64, 0)
    expected_names = [masks.bucket_name(bucket) for bucket in mask_spec.DEFAULT_BUCKETS]
    assert [row["bucket"] for row in summary["buckets"]] == expected_names
    assert all(row["lo"] <= row["mean_hole_ratio"] < row["hi"] for row in summary["buckets"])
    assert len(list(out.rglob("*.png"))) == 12
    assert json.loads((out / "manifest.json").read_text())["masks"][0]["height"] == 48


def test_table_by_default_and_nothing_when_quiet(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "a"), "--kind", "box", "--count", "1", "--size", "32",
                  "--buckets", "10-20,20-40")
    assert result.exit_code == 0, result.output
    assert "010-020" in result.stdout and "020-040" in result.stdout
    quiet = _run(str(tmp_path / "b"), "--count", "1", "--size", "32", "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_border_auto_and_fraction_buckets(tmp_path: Path) -> None:
    out = tmp_path / "set"
    result = _run(str(out), "--kind", "center", "--count", "1", "--size", "256",
                  "--buckets", "0.3-0.35", "--border", "auto", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["border"] == 25
    assert (out / "030-035" / "00000.png").is_file()


@pytest.mark.parametrize("options", [
    ["--buckets", "20-10"],
    ["--buckets", "ten-twenty"],
    ["--size", "512x"],
    ["--border", "300"],
    ["--border", "wide"],
    ["--kind", "blobs"],
    ["--count", "0"],
    ["--seed", "-1"],
    ["--size", "8", "--buckets", "30-30.5"],
    ["--size", "100000"],
    ["--size", "64x9000"],
])
def test_bad_options_exit_2_without_writing(tmp_path: Path, options: list[str]) -> None:
    result = _run(str(tmp_path / "out"), "--count", "1", "--size", "64", *options)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "out").exists()


def test_non_empty_folder_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x")
    refused = _run(str(tmp_path), "--count", "1", "--size", "32")
    assert refused.exit_code == 2
    assert f"--overwrite is needed to write into {tmp_path}: it is not empty" in refused.stderr
    assert _run(str(tmp_path), "--count", "1", "--size", "32", "--overwrite").exit_code == 0


def test_real_subprocess_same_seed_same_bytes(tmp_path: Path) -> None:
    def make(folder: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "ptgfill_cli", "make-masks", "-o", str(tmp_path / folder), "--kind", "mix",
             "--count", "2", "--size", "64x96", "--seed", "5", "--json"],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert make("one")["count"] == make("two")["count"] == 12
    for path in (tmp_path / "one").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes()
