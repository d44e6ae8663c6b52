"""Where Hub downloads go, and what is already there.

The cache has the layout of ``huggingface_hub``: ``$PTGFILL_CACHE`` if set, else the
Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``). The variables are read on every call, not at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants, scan_cache_dir, try_to_load_from_cache
from huggingface_hub.errors import CacheNotFound

from ..errors import WeightsError
from .header import read_safetensors_header
from .spec import HubFileRef
from .layout import FORMAT_NAME, WEIGHTS_SUFFIX

PTGFILL_CACHE_ENV = "PTGFILL_CACHE"


@dataclass(frozen=True)
class CachedHubFile:
    """A ptgfill weights file in the Hub cache; ``ref.revision`` is its commit."""

    ref: HubFileRef
    path: Path
    size: int
    branches: tuple[str, ...]  # the branches or tags that pointed at the commit when fetched


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


def cached_ptgfill_files() -> list[CachedHubFile]:
    """Every ptgfill-format ``.safetensors`` file in the Hub cache."""
    try:
        cache = scan_cache_dir(hub_cache_dir())
    except CacheNotFound:
        return []
    found: list[CachedHubFile] = []
    for repo in sorted(cache.repos, key=lambda repo: repo.repo_id):
        if repo.repo_type != "model":
            continue
        for revision in sorted(repo.revisions, key=lambda revision: revision.commit_hash):
            for cached in sorted(revision.files, key=lambda cached: str(cached.file_path)):
                relative = cached.file_path.relative_to(revision.snapshot_path).as_posix()
                if relative.endswith(WEIGHTS_SUFFIX) and _is_ptgfill_file(cached.file_path):
                    found.append(
                        CachedHubFile(
                            ref=HubFileRef(repo.repo_id, relative, revision.commit_hash),
                            path=cached.file_path,
                            size=cached.size_on_disk,
                            branches=tuple(sorted(revision.refs)),
                        )
                    )
    return found


@dataclass(frozen=True)
class CacheRemoval:
    revisions: int
    freed_bytes: int


def remove_cached_models(repo_id: str | None = None, revision: str | None = None) -> CacheRemoval:
    """Delete cached ptgfill models: every revision holding a ptgfill file (``repo_id`` None),
    or those of ``repo_id`` (at ``revision``: a commit, branch or tag), with their blobs.
    Other libraries' repositories in a shared Hugging Face cache are never touched."""
    files = [cached for cached in cached_ptgfill_files()
             if repo_id is None or cached.ref.repo_id == repo_id]
    if revision is not None:
        files = [cached for cached in files if revision in (cached.ref.revision, *cached.branches)]
    commits = sorted({cached.ref.revision for cached in files})
    if not commits:
        return CacheRemoval(0, 0)
    strategy = scan_cache_dir(hub_cache_dir()).delete_revisions(*commits)
    freed = strategy.expected_freed_size
    strategy.execute()
    return CacheRemoval(len(commits), freed)


def _is_ptgfill_file(path: Path) -> bool:
    try:
        return read_safetensors_header(path).metadata.get("format") == FORMAT_NAME
    except WeightsError:
        # A shared Hugging Face cache holds other libraries' files; unreadable ones are not ours.
        return False
