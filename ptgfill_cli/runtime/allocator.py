"""The C allocator's treatment of freed memory, for the command-line process.

The setting is process-wide, so only the ``ptgfill`` command turns it on (an
application importing ptgfill keeps its own); ``PTGFILL_ALLOCATOR=default`` turns
it off there. No torch import: the command's ``--help`` stays fast.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_state = "default"


def keep_freed_memory() -> str:
    """Let glibc's malloc reuse freed memory instead of returning it to the system.

    By default every block over 32 MB (a 64-channel 512x512 float activation is
    64 MB) is a fresh ``mmap`` whose pages fault in one by one as they are first
    written: ~170,000 page faults per 512x512 image with the paper network on the
    README's machine. Serving large blocks from the heap, and not trimming it,
    removes them; the price is that the process keeps its peak memory until it
    exits. Returns the state: "keep-freed", or "default" (not glibc, or turned off
    with ``PTGFILL_ALLOCATOR=default``).
    """
    global _state
    if _state == "keep-freed" or os.environ.get("PTGFILL_ALLOCATOR") == "default":
        return _state
    if not sys.platform.startswith("linux"):
        return _state
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # a libc without mallopt (musl)
        return _state
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1:
        _state = "keep-freed"
    return _state


def allocator_state() -> str:
    """"keep-freed" once :func:`keep_freed_memory` took effect in this process, else "default"."""
    return _state
