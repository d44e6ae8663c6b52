"""Device choice: auto picks what is there; a missing accelerator is an error."""

from __future__ import annotations

import pytest
import torch

from ptgfill_cli.runtime.device import resolve_device
from ptgfill_cli.errors import PTGFillError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None and not torch.backends.mps.is_available():
        expected = "cpu"
    if expected is not None:
        assert resolve_device("auto").type == expected


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:1", "CUDA:0"])
def test_cuda_without_cuda_is_an_error_not_a_cpu_run(spec):
    with pytest.raises(PTGFillError, match=r"CUDA is not available"):
        resolve_device(spec)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_is_an_error():
    with pytest.raises(PTGFillError, match="MPS is not available"):
        resolve_device("mps")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "tpu", ""])
def test_unknown_devices_are_refused(spec):
    with pytest.raises(PTGFillError, match="unknown device"):
        resolve_device(spec)
