"""The README's commands are the ones CI and a new user run: keep them working."""

from __future__ import annotations

import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / ".ci"))
from readme_command import readme_command  # noqa: E402


def test_ci_runs_the_readme_test_command():
    command = readme_command("test", REPO_ROOT / "README.md")
    assert "pytest" in command and "pip install" in command
    assert "readme_command.py test" in (REPO_ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_quickstart_inpaints_an_example_with_the_bundled_model(tmp_path):
    steps = readme_command("quickstart", REPO_ROOT / "README.md").split(" && ")
    assert steps[0].startswith("pip install")
    words = shlex.split(steps[1])
    assert words[:2] == ["ptgfill", "inpaint"]
    out = words[words.index("-o") + 1]
    words[words.index("-o") + 1] = str(tmp_path / out)
    result = subprocess.run([sys.executable, "-m", "ptgfill_cli", *words[1:]], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    image_arg, mask_arg = words[2], words[words.index("--mask") + 1]
    written = tmp_path / out / (REPO_ROOT / image_arg).with_suffix(".png").name
    filled = np.asarray(Image.open(written).convert("RGB"))
    original = np.asarray(Image.open(REPO_ROOT / image_arg).convert("RGB"))
    hole = np.asarray(Image.open(REPO_ROOT / mask_arg).convert("L")) > 127
    assert np.array_equal(filled[~hole], original[~hole])
    assert not np.array_equal(filled[hole], original[hole])
