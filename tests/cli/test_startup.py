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
