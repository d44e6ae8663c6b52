"""The bundled model registry, ``weights/manifest.json``: named models and where to get them.

Schema (documented for users in ``weights/README.md``)::

    {
      "default": null | "<name>",
      "models": {
        "<name>": {
          "file": "<path relative to weights/>.safetensors",      # bundled, and/or
          "hf": {"repo": "owner/repo", "filename": "model.safetensors", "revision": "<commit>"},
          "sha256": "<64 hex digits of the .safetensors file>",
          "config": "<preset name>" | {<PTGFillConfig fields>},
          "description": "...",
          "trained_on": "...",
          "card": {...}                                            # optional
        }
      }
    }
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import PTGFillConfig, preset
from ..errors import PTGFillError
from ..hub.download import SHA256_PATTERN
from ..hub.spec import (
    DEFAULT_HUB_FILENAME,
    HubFileRef,
    ModelSpecError,
    check_hub_filename,
    check_repo_id,
)

WEIGHTS_DIR_ENV = "PTGFILL_WEIGHTS_DIR"
MANIFEST_FILENAME = "manifest.json"
# Names cannot contain '/' or start with 'hf:' so that they never read as a path or Hub id.
MODEL_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_TOP_LEVEL_KEYS = {"default", "models"}
_ENTRY_KEYS = {"file", "hf", "sha256", "config", "description", "trained_on", "card"}
_REQUIRED_ENTRY_KEYS = ("sha256", "config", "description", "trained_on")
_HF_KEYS = {"repo", "filename", "revision"}


class ManifestError(PTGFillError):
    """The model manifest is missing, unreadable or does not follow its schema."""


@dataclass(frozen=True)
class ModelEntry:
    """One named model of the manifest."""

    name: str
    sha256: str
    config: PTGFillConfig
    description: str
    trained_on: str
    file: str | None = None  # relative to the manifest's folder
    hub: HubFileRef | None = None  # revision always set: manifest entries are pinned
    card: dict[str, Any] = field(default_factory=dict)

    def model_card(self) -> dict[str, Any]:
        """The entry's card fields, with its name, description and training data."""
        return {
            **self.card,
            "name": self.name,
            "description": self.description,
            "trained_on": self.trained_on,
        }


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest; ``path`` may not exist (then it has no models)."""

    path: Path
    default: str | None
    models: dict[str, ModelEntry]

    @property
    def weights_dir(self) -> Path:
        """The folder bundled files are relative to."""
        return self.path.parent

    def bundled_path(self, entry: ModelEntry) -> Path | None:
        return self.weights_dir / entry.file if entry.file else None


def default_weights_dir() -> Path:
    """``$PTGFILL_WEIGHTS_DIR``, else the ``weights/`` folder of the source checkout,
    else the copy installed with the package (``ptgfill_cli.bundled_weights``)."""
    override = os.environ.get(WEIGHTS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    checkout = Path(__file__).resolve().parents[2] / "weights"
    if (checkout / "manifest.json").is_file():
        return checkout
    # An installed wheel carries weights/ as the data folder ptgfill_cli/bundled_weights.
    return Path(__file__).resolve().parents[1] / "bundled_weights"


def default_manifest_path() -> Path:
    return default_weights_dir() / MANIFEST_FILENAME


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate a manifest. Without ``path``, the default manifest, which
    may be absent (an installation without ``weights/``): then it has no models."""
    manifest_path = Path(path).expanduser() if path is not None else default_manifest_path()
    if not manifest_path.is_file():
        if path is None:
            return Manifest(manifest_path, None, {})
        raise ManifestError(f"no manifest at {manifest_path}")
    try:
        document = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"cannot read manifest {manifest_path}: {error}") from error
    return parse_manifest(document, manifest_path)


def parse_manifest(document: Any, path: Path) -> Manifest:
    """Validate a manifest's JSON document; ``path`` locates bundled files and errors."""
    where = str(path)
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: the manifest must be a JSON object")
    _reject_unknown_keys(document, _TOP_LEVEL_KEYS, where)
    models_document = document.get("models")
    if not isinstance(models_document, dict):
        raise ManifestError(f"{where}: 'models' must be an object of name: entry")
    models = {
        name: _parse_entry(name, entry, f"{where}: model {name!r}")
        for name, entry in models_document.items()
    }
    default = document.get("default")
    if default is not None and not isinstance(default, str):
        raise ManifestError(f"{where}: 'default' must be a model name or null")
    if default is not None and default not in models:
        raise ManifestError(f"{where}: default model {default!r} is not in 'models'")
    return Manifest(path, default, models)


def _parse_entry(name: str, entry: Any, where: str) -> ModelEntry:
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise ManifestError(
            f"{where}: a model name is lower-case letters, digits, '.', '_' and '-'"
        )
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: the entry must be an object")
    _reject_unknown_keys(entry, _ENTRY_KEYS, where)
    missing = [key for key in _REQUIRED_ENTRY_KEYS if key not in entry]
    if missing:
        raise ManifestError(f"{where}: missing {', '.join(missing)}")
    if "file" not in entry and "hf" not in entry:
        raise ManifestError(f"{where}: needs 'file' (bundled) or 'hf' (Hub source), or both")

    sha256 = entry["sha256"]
    if not isinstance(sha256, str) or not SHA256_PATTERN.fullmatch(sha256):
        raise ManifestError(f"{where}: 'sha256' must be 64 lower-case hex digits")
    for key in ("description", "trained_on"):
        if not isinstance(entry[key], str):
            raise ManifestError(f"{where}: {key!r} must be a string")
    card = entry.get("card", {})
    if not isinstance(card, dict):
        raise ManifestError(f"{where}: 'card' must be an object")
    return ModelEntry(
        name=name,
        sha256=sha256,
        config=_parse_config(entry["config"], where),
        description=entry["description"],
        trained_on=entry["trained_on"],
        file=_parse_file(entry["file"], where) if "file" in entry else None,
        hub=_parse_hub(entry["hf"], where) if "hf" in entry else None,
        card=card,
    )


def _parse_config(value: Any, where: str) -> PTGFillConfig:
    try:
        if isinstance(value, str):
            return preset(value)
        if isinstance(value, dict):
            return PTGFillConfig.from_dict(value)
    except (TypeError, ValueError) as error:
        raise ManifestError(f"{where}: bad 'config': {error}") from error
    raise ManifestError(f"{where}: 'config' must be a preset name or an object of config fields")


def _parse_file(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.endswith(".safetensors"):
        raise ManifestError(f"{where}: 'file' must be a .safetensors path relative to the manifest")
    relative = PurePosixPath(value)
    if relative.is_absolute() or any(part in ("", ".", "..") for part in value.split("/")):
        raise ManifestError(f"{where}: 'file' must stay inside the manifest's folder: {value!r}")
    return value


def _parse_hub(value: Any, where: str) -> HubFileRef:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: 'hf' must be an object with repo, filename, revision")
    _reject_unknown_keys(value, _HF_KEYS, f"{where} 'hf'")
    repo = value.get("repo")
    filename = value.get("filename", DEFAULT_HUB_FILENAME)
    revision = value.get("revision")
    if not isinstance(repo, str) or not isinstance(filename, str):
        raise ManifestError(f"{where}: 'hf' needs 'repo' (owner/repo) and a string 'filename'")
    if not isinstance(revision, str) or not revision:
        raise ManifestError(f"{where}: 'hf' needs a pinned 'revision' (a commit hash or tag)")
    try:
        return HubFileRef(check_repo_id(repo), check_hub_filename(filename, where), revision)
    except ModelSpecError as error:
        raise ManifestError(f"{where}: {error}") from error


def _reject_unknown_keys(document: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(document) - known)
    if unknown:
        raise ManifestError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(known))}"
        )
