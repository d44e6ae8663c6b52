"""A plain wheel install carries the bundled model and finds it outside any checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_wheel_carries_and_resolves_the_bundled_weights(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO_ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob("ptgfill-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    manifest = json.loads((REPO_ROOT / "weights" / "manifest.json").read_text())
    bundled = target / "ptgfill_cli" / "bundled_weights"
    for entry in manifest["models"].values():
        assert (bundled / entry["file"]).is_file()
    probe = "from ptgfill_cli.weights.manifest import default_weights_dir; print(default_weights_dir())"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(target)}, timeout=120, check=True)
    assert result.stdout.strip() == str(bundled)


def test_the_readme_layout_map_names_every_package_and_module():
    readme = (REPO_ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):].split("```")[1]
    package = REPO_ROOT / "ptgfill_cli"
    names = [f"{path.name}/" for path in package.iterdir() if (path / "__init__.py").is_file()]
    names += [path.name for path in package.glob("*.py") if path.name != "__main__.py"]
    missing = [name for name in names if name not in layout]
    assert not missing, f"README layout map lacks {missing}"
