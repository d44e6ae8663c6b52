"""The command process keeps freed memory: a second large tensor costs no page faults."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import torch
from ptgfill_cli.runtime.allocator import keep_freed_memory
state = keep_freed_memory() if sys.argv[1] == "keep" else "default"
def faults_of_a_fresh_64mb_tensor():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20)  # 64 MB, written, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
for _ in range(12):  # glibc's aligned blocks settle into reuse after a few rounds
    faults_of_a_fresh_64mb_tensor()
print(state, faults_of_a_fresh_64mb_tensor())
"""


def _probe(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_without_page_faults():
    assert _probe("keep") == ("keep-freed", pytest.approx(0, abs=64))
    state, faults = _probe("default")
    assert state == "default" and faults > 10_000  # 16,384 pages of 4 KB by default


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_turned_off_by_the_environment():
    import os

    assert _probe("keep", {**os.environ, "PTGFILL_ALLOCATOR": "default"})[0] == "default"
