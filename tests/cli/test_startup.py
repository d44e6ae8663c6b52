"""``--help`` and ``--version`` answer without loading torch, OpenCV, numpy or Pillow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("torch", "cv2", "numpy", "PIL", "huggingface_hub")
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("LOADED=" + json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr))
sys.argv = ["ptgfill", *{args!r}]
from ptgfill_cli.cli.app import main
main()
"""


@pytest.mark.parametrize("args", [
    ["--version"], ["--help"], ["inpaint", "--help"], ["make-masks", "--help"], ["train", "--help"],
    ["evaluate", "--help"], ["benchmark", "--help"], ["export", "--help"], ["weights", "list", "--help"],
])
def test_help_and_version_load_no_heavy_library(args: list[str]) -> None:
    finished = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    loaded = next(line for line in finished.stderr.splitlines() if line.startswith("LOADED="))
    assert json.loads(loaded.removeprefix("LOADED=")) == []


def test_a_library_warning_is_one_ptgfill_line(tmp_path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 48)).save(tmp_path / "photo.png")
    Image.new("L", (64, 48)).save(tmp_path / "mask.png")  # no hole: copied
    probe = ("import sys, warnings\nsys.argv = ['ptgfill', 'inpaint', sys.argv[1], '-m', sys.argv[2], '-o', sys.argv[3], '-q']\n"
             "from ptgfill_cli.cli import app\n"
             "original = app.app\n"
             "def noisy(**options):\n    warnings.warn('a library complains\\nwith a second line', UserWarning)\n    return original(**options)\n"
             "app.app = noisy\napp.main()\n")
    finished = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "photo.png"), str(tmp_path / "mask.png"),
                               str(tmp_path / "out.png")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr.strip() == "ptgfill: warning: a library complains"
