"""The ptgfill on-disk format without torch: its names, and reading a safetensors file's
header (tensor names, shapes, metadata). Saving and loading the weights: ``store``."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsError

FORMAT_NAME = "ptgfill"  # the "format" value in metadata and config files
FORMAT_VERSION = 1
MODEL_FILENAME = "model.safetensors"  # the weights in a folder or Hub repository
CONFIG_FILENAME = "config.json"  # the config beside them
WEIGHTS_SUFFIX = ".safetensors"

# safetensors itself refuses headers above 100 MB.
_MAX_HEADER_BYTES = 100_000_000


@dataclass(frozen=True)
class SafetensorsHeader:
    """The JSON header of a safetensors file."""

    metadata: dict[str, str]
    shapes: dict[str, tuple[int, ...]]


def read_safetensors_header(path: Path) -> SafetensorsHeader:
    """Parse the header: an 8-byte little-endian length, then that many bytes of JSON."""
    try:
        with open(path, "rb") as stream:
            prefix = stream.read(8)
            if len(prefix) != 8:
                raise WeightsError(f"{path} is not a safetensors file (too short)")
            (length,) = struct.unpack("<Q", prefix)
            if length > _MAX_HEADER_BYTES:
                raise WeightsError(f"{path} is not a safetensors file (header length {length})")
            raw = stream.read(length)
    except OSError as error:
        raise WeightsError(f"cannot read {path}: {error}") from error
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"{path} is not a safetensors file (bad header: {error})") from error
    if not isinstance(document, dict):
        raise WeightsError(f"{path} is not a safetensors file (header is not an object)")
    metadata = document.pop("__metadata__", None) or {}
    shapes = {
        name: tuple(info.get("shape", ()))
        for name, info in document.items()
        if isinstance(info, dict)
    }
    return SafetensorsHeader(metadata=metadata, shapes=shapes)
