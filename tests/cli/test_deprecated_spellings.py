"""Old spellings keep working for scripts, each with one line saying what to write instead."""

from __future__ import annotations

from typer.testing import CliRunner

from ptgfill_cli.cli.app import app


def test_make_masks_takes_its_folder_positionally_still(tmp_path):
    result = CliRunner().invoke(app, ["make-masks", str(tmp_path / "set"), "--count", "1", "--size", "32", "-q"])
    assert result.exit_code == 0, result.output
    assert "ptgfill: warning: the folder as a positional argument is deprecated" in result.stderr
    assert len(list((tmp_path / "set").rglob("*.png"))) == 6
    both = CliRunner().invoke(app, ["make-masks", str(tmp_path / "a"), "-o", str(tmp_path / "b")])
    assert both.exit_code == 2 and "give the folder once" in both.stderr


def test_benchmark_takes_m_for_model_still():
    result = CliRunner().invoke(app, ["benchmark", "-m", "lite", "--size", "64", "--warmup", "0", "--repeats", "1",
                                      "--no-compare", "--no-inpaint-path", "--json"])
    assert result.exit_code == 0, result.output
    assert "ptgfill: warning: -m for --model is deprecated" in result.stderr
    assert '"model": "lite (tokens)"' in result.stdout or "lite (tokens)" in result.stdout


def test_train_takes_out_still(tmp_path):
    result = CliRunner().invoke(app, ["train", str(tmp_path / "none"), "--out", str(tmp_path / "run"), "--size", "0"])
    assert result.exit_code == 2
    assert "ptgfill: warning: --out is deprecated" in result.stderr and "--size must be" in result.stderr
