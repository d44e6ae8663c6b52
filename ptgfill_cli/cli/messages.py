"""The one format of the command line's error lines: ``ptgfill: error: ...``.

Library errors name settings as the Python API spells them (``SettingError.setting``, and
others quoted in backticks in its text); here they become the flags a user types.
"""

from __future__ import annotations

import re

from ..errors import PTGFillError, SettingError, first_line

# Settings whose flag is not "--" + the name with dashes.
FLAG_FOR_SETTING: dict[str, str] = {
    "out_dir": "--output",
    "num_workers": "--workers",
    "sources": "DATA",
    "losses.valid": "--w-valid",
    "losses.hole": "--w-hole",
    "losses.hole_mse": "--w-hole-mse",
    "losses.perceptual": "--w-perceptual",
    "losses.style": "--w-style",
    "losses.tv": "--w-tv",
    "losses.coarse": "--w-coarse",
    "losses.adversarial": "--w-adversarial",
}


def flag_for(setting: str) -> str:
    return FLAG_FOR_SETTING.get(setting, "--" + setting.replace("_", "-"))


def describe(error: PTGFillError) -> str:
    """The error as the user should read it: a setting's name replaced by its flag, and an
    error raised in a DataLoader worker (which torch re-raises with the worker's traceback as
    its message) told by its own last line."""
    if isinstance(error, SettingError):
        problem = re.sub(r"`([a-z_.]+)`", lambda match: flag_for(match.group(1)), error.problem)
        return f"{flag_for(error.setting)} {problem}"
    text = str(error)
    if text.startswith("Caught ") and "Original Traceback" in text:
        last = [line for line in text.strip().splitlines() if line.strip()][-1]
        return _WORKER_ERROR_PREFIX.sub("", last)
    return text


_WORKER_ERROR_PREFIX = re.compile(r"^[\w.]+(Error|Exception): ")


def error_line(error: PTGFillError) -> str:
    return f"ptgfill: error: {describe(error)}"


def os_error_line(error: OSError) -> str:
    """An I/O failure no command caught itself (a full disk, a read-only folder) in one line,
    naming the file."""
    reason = (error.strerror or first_line(error)).lower()
    return f"ptgfill: error: {error.filename}: {reason}" if error.filename else f"ptgfill: error: {reason}"


def usage_error_line(message: str, command_path: str | None, flag: str | None = None) -> str:
    """Click's usage error (an unknown option, a value refused, a missing argument) in the same
    one-line format, led by the flag to blame where there is one, with where to look instead of
    Click's framed box."""
    message = message.replace("Value error, ", "").strip().rstrip(".")
    message = message[:1].lower() + message[1:]
    hint = f" (see {command_path} --help)" if command_path else ""
    return f"ptgfill: error: {flag + ': ' if flag else ''}{message}{hint}"
