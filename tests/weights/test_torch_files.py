"""Every reader of .pt/.pth files refuses random and malicious files in one line, running nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ptgfill_cli.errors import PTGFillError, WeightsError
from ptgfill_cli.evaluation.inception import load_fid_inception
from ptgfill_cli.evaluation.lpips import read_weight_parts
from ptgfill_cli.models.vgg import load_vgg16_features
from ptgfill_cli.training.trainer import read_checkpoint
from ptgfill_cli.weights.authors import read_authors_checkpoint
from tests.conftest import EXAMPLES
from tests.weights.test_authors import _TouchesFile

READERS = {
    "checkpoint": read_checkpoint,
    "authors' checkpoint": read_authors_checkpoint,
    "VGG16": lambda path: load_vgg16_features(path, download=False),
    "LPIPS": read_weight_parts,
    "FID Inception": load_fid_inception,
}


def _hostile_files(folder: Path) -> dict[str, Path]:
    files = {
        "random": folder / "random.pth",
        "truncated": folder / "truncated.pth",
        "malicious": folder / "malicious.pth",
        "a list": folder / "list.pth",
        "empty": folder / "empty.pth",
    }
    files["random"].write_bytes(np.random.default_rng(0).bytes(5000))
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, files["truncated"])
    files["truncated"].write_bytes(files["truncated"].read_bytes()[:300])
    torch.save({"features.0.weight": torch.zeros(1), "hook": _TouchesFile(folder / "code-ran")}, files["malicious"])
    torch.save([torch.zeros(2)], files["a list"])
    files["empty"].write_bytes(b"")
    return files


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_hostile_torch_files_are_one_line_weights_errors(tmp_path, reader):
    for kind, path in _hostile_files(tmp_path).items():
        with pytest.raises(WeightsError) as error:
            reader(path)
        message = str(error.value)
        assert str(path) in message, (kind, message)
        assert "\n" not in message and "weights_only=False" not in message, (kind, message)
    assert not (tmp_path / "code-ran").exists()
    with pytest.raises(PTGFillError, match="no such"):
        reader(tmp_path / "missing.pth")


def test_evaluate_refuses_hostile_lpips_and_fid_weights_before_any_work(tmp_path, run_cli):
    files = _hostile_files(tmp_path)
    for flag in ("--lpips-weights", "--fid-weights"):
        result = run_cli("evaluate", "--dataset", str(EXAMPLES), "--masks", "object", "--limit", "1",
                         "--size", "64", "--metrics", "psnr,fid" if flag == "--fid-weights" else "psnr,lpips",
                         flag, str(files["malicious"]), "-o", str(tmp_path / "out"), "--quiet")
        assert result.exit_code == 2, (flag, result.stderr)
        assert result.stderr.count("\n") == 1 and str(files["malicious"]) in result.stderr, result.stderr
    assert not (tmp_path / "code-ran").exists()
