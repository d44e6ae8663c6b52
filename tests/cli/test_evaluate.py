"""`ptgfill evaluate` as a command: exit codes, one-line errors, help, the console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app
from ptgfill_cli.errors import PTGFillError
from tests.conftest import EXAMPLES


def test_the_command_reports_failed_images_with_exit_code_1(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png"):
        shutil.copy(EXAMPLES / name, photos / name)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    result = CliRunner().invoke(app, [
        "evaluate", "--dataset", str(photos), "--model", "none", "--compare", "opencv-telea",
        "--size", "64", "--buckets", "10-20", "-o", str(tmp_path / "out"), "--json",
    ])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"][0]["count"] == 2
    assert summary["failures"][0]["image"] == "broken.jpg" and "cannot read image" in summary["failures"][0]["error"]
    assert "broken.jpg" in (tmp_path / "out" / "metrics.md").read_text()


def test_without_a_model_or_compare_methods_there_is_nothing_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from ptgfill_cli.cli import evaluate as evaluate_command

    class NoDefault:
        default = None

    monkeypatch.setattr("ptgfill_cli.weights.manifest.load_manifest", lambda *a, **k: NoDefault())
    with pytest.raises(PTGFillError, match="no default PTG-Fill model"):
        evaluate_command._method_specs(None, None, quiet=True)
    assert evaluate_command._method_specs(None, "opencv-telea, opencv-ns", quiet=True) == ["opencv-telea", "opencv-ns"]
    assert evaluate_command._method_specs(["none"], "opencv-ns", quiet=True) == ["opencv-ns"]


def test_the_help_renders() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0, result.output
    assert "--compare" in result.output and "hf://datasets/owner/name[" in result.output


def test_the_console_script_lists_datasets_and_exits_2_on_usage_errors(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ptgfill")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "ptgfill_cli"]
    env = {**os.environ, "PTGFILL_DATA_ROOT": str(tmp_path)}
    listed = subprocess.run([*command, "evaluate", "--list-datasets", "--json"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = [entry["name"] for entry in json.loads(listed.stdout)]
    assert names == ["celeba-hq", "ffhq", "psv", "places2"]
    missing = subprocess.run([*command, "evaluate", "--dataset", "ffhq", "-o", str(tmp_path / "out"),
                              "--model", "none", "--compare", "opencv-telea", "--quiet"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.startswith("ptgfill: error: dataset ffhq:") and len(missing.stderr.splitlines()) == 1
    assert str(tmp_path / "ffhq") in missing.stderr


def test_the_dataset_list_is_never_cut_when_piped() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--list-datasets"])
    assert result.exit_code == 0, result.output
    assert "the last 2,000 of the 30,000 images (the 28,000 / 2,000 train / test split" in result.output
    assert "…" not in result.output


def test_upscaled_and_plain_runs_share_an_output_under_their_own_names(tmp_path: Path, model_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(EXAMPLES / "chelsea.png", photos / "chelsea.png")
    base = ["evaluate", "--dataset", str(photos), "--model", str(model_path), "--size", "64", "--buckets", "1-10",
            "--masks", "strokes", "--metrics", "psnr", "-o", str(tmp_path / "out"), "--json"]
    names = set()
    for extra in ([], ["--upscale", "off"]):
        result = CliRunner().invoke(app, base + extra)
        assert result.exit_code == 0, result.output
        names |= {row["method"] for row in json.loads(result.stdout)["rows"]}
    assert names == {"lite+up", "lite"}
    refused = CliRunner().invoke(app, base + ["--upscale", "always"])
    assert refused.exit_code == 2 and "always" in refused.output
