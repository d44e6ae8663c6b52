"""What models are available where: the manifest's models with their status, and
the ptgfill files in the Hub cache. Reads files only, never the network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .cache import CachedHubFile, cached_hub_file, cached_ptgfill_files, hub_cache_dir
from .download import hub_endpoint, hub_offline
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
