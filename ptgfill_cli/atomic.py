"""Writing files all at once or not at all: a temporary file beside the target, then a rename.

An interrupted write leaves the previous file (or none), never half a file, and
no temporary file behind.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Callable


def replace_atomically(target: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary)`` on a path beside ``target``, flush it to disk, rename it."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_bytes_atomically(target: str | Path, data: bytes) -> Path:
    return replace_atomically(target, lambda temporary: temporary.write_bytes(data))


def write_text_atomically(target: str | Path, text: str) -> Path:
    return write_bytes_atomically(target, text.encode("utf-8"))
