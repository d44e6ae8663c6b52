"""The installed version, read from the package metadata (pyproject.toml is its one source)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ptgfill")
except metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree never installed
    __version__ = "0+unknown"
