"""Writing files all at once or not at all: a temporary file beside the target, then a rename.

An interrupted write leaves the previous file (or none), never half a file, and
no temporary file behind. Temporary names are short and fixed in length
(``.ptgfill-XXXXXXXX.tmp``), so a target whose name is near the file system's limit
can still be written; a process killed outright (SIGKILL) leaves one, which a later
run writing into that folder removes once it is stale.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any, Callable


TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".ptgfill-", ".tmp"
STALE_AFTER_SECONDS = 600  # a write takes seconds; a temporary this old lost its process


def remove_stale_temporaries(folder: str | Path, older_than: float = STALE_AFTER_SECONDS) -> int:
    """Delete this module's temporary files in ``folder`` older than ``older_than`` seconds
    (left by a killed process); returns how many. Others' files are never touched."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        candidates = list(Path(folder).glob(f"{TEMPORARY_PREFIX}*{TEMPORARY_SUFFIX}"))
    except OSError:
        return 0
    for candidate in candidates:
        name = candidate.name[len(TEMPORARY_PREFIX):-len(TEMPORARY_SUFFIX)]
        try:
            if len(name) == 8 and all(c in "0123456789abcdef" for c in name) and candidate.stat().st_mtime < cutoff:
                candidate.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def unwritable_reason(folder: str | Path) -> str | None:
    """Why files cannot be written into ``folder`` (or the folders that would be made for it):
    its nearest existing ancestor is not a folder, is read-only or not ours, or its disk has no
    free space; None when nothing is known against it. Lets a command fail before any work."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        status = os.statvfs(existing)
    except OSError:
        return None
    if status.f_flag & os.ST_RDONLY:
        return "read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return "permission denied"
    if status.f_bavail == 0:
        return "no space left on device"
    return None


def replace_atomically(target: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary)`` on a path beside ``target``, flush it to disk, rename it."""
    target = Path(target)
    temporary = target.with_name(f"{TEMPORARY_PREFIX}{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        # Name the file the caller asked for, not the temporary (a full disk, a read-only folder).
        if error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(target)) from error
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # a read-only folder, where the temporary was never made
            pass
    return target


def write_bytes_atomically(target: str | Path, data: bytes) -> Path:
    return replace_atomically(target, lambda temporary: temporary.write_bytes(data))


def write_text_atomically(target: str | Path, text: str) -> Path:
    return write_bytes_atomically(target, text.encode("utf-8"))
