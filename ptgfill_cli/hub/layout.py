"""The names of the ptgfill on-disk format, importable without torch (see ``store``)."""

from __future__ import annotations

FORMAT_NAME = "ptgfill"  # the "format" value in metadata and config files
FORMAT_VERSION = 1
MODEL_FILENAME = "model.safetensors"  # the weights in a folder or Hub repository
CONFIG_FILENAME = "config.json"  # the config beside them
WEIGHTS_SUFFIX = ".safetensors"
