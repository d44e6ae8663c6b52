"""Shared test fixtures: paths to the repository's examples and the optional ../shared data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# One thread: small convolutions get far slower, not faster, when two threads
# compete with other work on a small shared machine.
torch.set_num_threads(1)

# The Hub fixtures (isolated environment, loopback Hub, small models) for every test folder.
from tests.fake_hub import *  # noqa: E402,F401,F403

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the checkout has none beside it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (../shared beside the checkout; CI has it, a user's clone may not)")
    return path


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts on one intra-op thread and leaves it so (a command under test may set
    its own): on a busy 2-core machine OpenMP threads waiting on each other made a 32x32
    convolution 200x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
