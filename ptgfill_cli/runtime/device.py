"""Choosing the torch device: ``auto`` picks the best one present; an explicit
accelerator that is missing is an error, never a silent fall back to the CPU."""

from __future__ import annotations

import re

import torch

from ..errors import PTGFillError
from .choices import DEVICE_CHOICES



def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The device ``spec`` names: ``auto`` (CUDA, else MPS, else CPU), ``cpu``,
    ``cuda``, ``cuda:N`` or ``mps``. Raises PTGFillError when it is not available."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    cuda = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if cuda:
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
            raise PTGFillError(
                f"device {spec}: CUDA is not available here (PyTorch {torch.__version__}, "
                f"{build}); use cpu or auto instead"
            )
        index = int(cuda.group(1) or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise PTGFillError(f"device {spec}: there are only {count} CUDA device(s)")
        return torch.device("cuda", index)
    if spec == "mps":
        if not _mps_available():
            raise PTGFillError("device mps: Apple MPS is not available here; use cpu or auto instead")
        return torch.device("mps")
    raise PTGFillError(f"unknown device {spec!r}; use {DEVICE_CHOICES}")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
