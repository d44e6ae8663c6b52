"""Reading ``.pt``/``.pth`` files (checkpoints, third-party weights) without running code.

Every such file goes through :func:`read_torch_file`: ``torch.load(weights_only=True)``,
which refuses pickled objects, and one-line errors naming the file. torch's own message
for a refused file advises loading it unsafely; that advice is dropped, the reason kept.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError, first_line

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def unpickling_reason(error: pickle.UnpicklingError) -> str:
    """What torch's weights-only unpickler refused, without its advice."""
    text = _ANSI_ESCAPE.sub("", str(error))
    match = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. Please|\n\n|$)", text, re.DOTALL)
    if match:
        return " ".join(match.group(1).split())
    if text.strip().startswith("Weights only load failed"):
        return "not a file of plain tensors"
    return first_line(error)


def read_torch_file(path: str | Path, what: str = "weights") -> Any:
    """The contents of a torch file, loaded on the CPU without unpickling code.

    Raises :class:`WeightsError` ("PATH: cannot read WHAT (reason)") for a missing, corrupt,
    random or malicious file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such {what} file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise WeightsError(f"{path}: cannot read {what}: it does not load as plain tensors without "
                           f"running code ({unpickling_reason(error)})") from None
    except Exception as error:  # torch raises many types for a damaged file (zip, EOF, runtime)
        raise WeightsError(f"{path}: cannot read {what} ({first_line(error)})") from None
