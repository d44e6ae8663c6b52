"""Where Hub downloads go, and what is already there.

The cache has the layout of ``huggingface_hub``: ``$PTGFILL_CACHE`` if set, else the
Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``). The variables are read on every call, not at import.
"""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import constants, try_to_load_from_cache

from .spec import HubFileRef

PTGFILL_CACHE_ENV = "PTGFILL_CACHE"


def hub_cache_dir() -> Path:
    """The folder Hub downloads are cached in (see the module docstring)."""
    for variable in (PTGFILL_CACHE_ENV, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(variable)
        if value:
            return Path(value).expanduser()
    hf_home = os.environ.get("HF_HOME")
    if hf_home:
        return Path(hf_home).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def cached_hub_file(ref: HubFileRef) -> Path | None:
    """The cached copy of a Hub file at ``ref.revision``, if there is one (no network)."""
    found = try_to_load_from_cache(
        ref.repo_id, ref.filename, cache_dir=str(hub_cache_dir()), revision=ref.revision
    )
    return Path(found) if isinstance(found, str) else None


def remove_cached_file(snapshot_path: Path) -> None:
    """Delete a cached file: its snapshot entry and the blob it points to."""
    blob = Path(os.path.realpath(snapshot_path))
    snapshot_path.unlink(missing_ok=True)
    if blob != snapshot_path:
        blob.unlink(missing_ok=True)


def torch_hub_checkpoint(filename: str) -> Path:
    """Where ``torch.hub`` keeps a downloaded checkpoint of this name (``$TORCH_HOME/hub/checkpoints``),
    whether or not it is there: the one place the perceptual networks look for their weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / filename
