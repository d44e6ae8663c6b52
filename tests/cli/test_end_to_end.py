"""The foundation's acceptance path on real photos: an authors' checkpoint converted and used.

The authors' real checkpoints cannot be downloaded here, so the `.pth` is built in
their format ({"generator", "discriminator", "epoch"}) with the reference's
deterministic weights; what is tested is the path, not the picture quality.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from typer.testing import CliRunner

from ptgfill_cli.models.init import golden_state_dict
from tests.conftest import REPO_ROOT, shared_path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ptgfill_cli", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_converted_authors_checkpoint_inpaints_a_folder_of_real_faces(tmp_path):
    keys = json.loads(shared_path("reference", "official_state_dict_keys.json").read_text())
    checkpoint = tmp_path / "celeba_authors.pth"
    torch.save({"generator": golden_state_dict(keys["generator"]),
                "discriminator": golden_state_dict(keys["discriminator"], seed=1), "epoch": 7}, checkpoint)
    converted = tmp_path / "paper.safetensors"
    result = _run("weights", "convert", str(checkpoint), str(converted))
    assert result.returncode == 0, result.stderr

    photos = tmp_path / "photos"
    photos.mkdir()
    for face in sorted(shared_path("data", "faces", "utkface").glob("*.jpg"))[:3]:
        shutil.copy(face, photos / face.name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    hole = np.zeros((200, 200), np.uint8)
    hole[60:130, 50:150] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")

    out = tmp_path / "out"
    result = _run("inpaint", str(photos), "--mask", str(tmp_path / "hole.png"), "-o", str(out),
                  "--model", str(converted), "--device", "cpu", "--json")
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    failed = [line for line in lines if line["status"] != "ok"]
    assert [line["input"].endswith("broken.jpg") for line in failed] == [True]
    assert "broken.jpg" in result.stderr
    written = sorted(out.glob("*.png"))
    assert len(written) == 3
    for path in written:
        filled = np.asarray(Image.open(path).convert("RGB"))
        original = np.asarray(Image.open(photos / f"{path.stem}.jpg").convert("RGB"))
        outside = hole == 0
        assert np.array_equal(filled[outside], original[outside])
        assert not np.array_equal(filled[~outside], original[~outside])


def test_every_command_and_subcommand_renders_its_help():
    import typer.main

    from ptgfill_cli.cli.app import app

    def paths(group, prefix=()):
        for name, command in getattr(group, "commands", {}).items():
            yield (*prefix, name)
            yield from paths(command, (*prefix, name))

    runner = CliRunner()
    commands = list(paths(typer.main.get_command(app)))
    assert ("export",) in commands and ("weights", "export-hub") in commands
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output
