"""What models are available where: the manifest's models with their status, and
the ptgfill files in the Hub cache. Reads files only, never the network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from ..errors import WeightsError
from ..hub.cache import cached_hub_file, hub_cache_dir
from ..hub.download import hub_endpoint, hub_offline
from ..hub.spec import HubFileRef
from .format import FORMAT_NAME, WEIGHTS_SUFFIX, read_safetensors_header
from .manifest import Manifest, ModelEntry

Availability = Literal["bundled", "cached", "missing"]


@dataclass(frozen=True)
class ModelStatus:
    """A manifest model and whether its weights are on this machine."""

    entry: ModelEntry
    is_default: bool
    availability: Availability
    path: Path | None  # the local file when bundled or cached
    size: int | None

    @property
    def source(self) -> str:
        """Where the weights come from: the bundled file and/or the pinned Hub id."""
        sources = []
        if self.entry.file:
            sources.append(self.entry.file)
        if self.entry.hub is not None:
            sources.append(self.entry.hub.uri)
        return " | ".join(sources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.entry.name,
            "default": self.is_default,
            "status": self.availability,
            "path": str(self.path) if self.path else None,
            "size": self.size,
            "source": self.source,
            "sha256": self.entry.sha256,
            "description": self.entry.description,
            "trained_on": self.entry.trained_on,
        }


@dataclass(frozen=True)
class WeightsInventory:
    """Everything ``ptgfill weights list`` reports."""

    manifest: Manifest
    models: list[ModelStatus]
    cached_files: list[CachedHubFile]
    cache_dir: Path
    endpoint: str
    offline: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest.path),
            "default": self.manifest.default,
            "models": [status.to_dict() for status in self.models],
            "cache_dir": str(self.cache_dir),
            "endpoint": self.endpoint,
            "offline": self.offline,
            "cached_hub_files": [
                {
                    "uri": cached.ref.uri,
                    "path": str(cached.path),
                    "size": cached.size,
                    "branches": list(cached.branches),
                }
                for cached in self.cached_files
            ],
        }


def model_status(manifest: Manifest, entry: ModelEntry) -> ModelStatus:
    """Whether an entry's weights are bundled, in the Hub cache, or missing (hashes unchecked)."""
    is_default = manifest.default == entry.name
    bundled = manifest.bundled_path(entry)
    if bundled is not None and bundled.is_file():
        return ModelStatus(entry, is_default, "bundled", bundled, bundled.stat().st_size)
    cached = cached_hub_file(entry.hub) if entry.hub is not None else None
    if cached is not None:
        return ModelStatus(entry, is_default, "cached", cached, cached.stat().st_size)
    return ModelStatus(entry, is_default, "missing", None, None)


def weights_inventory(manifest: Manifest) -> WeightsInventory:
    return WeightsInventory(
        manifest=manifest,
        models=[model_status(manifest, entry) for entry in manifest.models.values()],
        cached_files=cached_ptgfill_files(),
        cache_dir=hub_cache_dir(),
        endpoint=hub_endpoint(),
        offline=hub_offline(),
    )


# ---------------------------------------------------------------- ptgfill files in the Hub cache


@dataclass(frozen=True)
class CachedHubFile:
    """A ptgfill weights file in the Hub cache; ``ref.revision`` is its commit."""

    ref: HubFileRef
    path: Path
    size: int
    branches: tuple[str, ...]  # the branches or tags that pointed at the commit when fetched


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
