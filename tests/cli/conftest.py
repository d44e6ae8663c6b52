"""Fixtures of the inpaint command's tests: a small untrained model file, and no installed models
(used by the files that ask for them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptgfill_cli.models.factory import build_generator
from ptgfill_cli.weights.store import save_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """A small untrained model saved as a file: tests plumbing, not quality."""
    return save_model(build_generator("lite", seed=0), tmp_path_factory.mktemp("model") / "lite.safetensors")


@pytest.fixture
def no_installed_models(tmp_path, monkeypatch):
    """No bundled or cached model is found: each test names its model (pytestmark usefixtures)."""
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    monkeypatch.setenv("PTGFILL_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
