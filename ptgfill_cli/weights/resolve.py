"""From a ``--model`` value to a file (``resolve_model_file``) and to a model (``load_model``).

Resolution order for ``spec``:

1. ``None``: the manifest's default model, if it names one and it can be found.
2. ``hf://owner/repo[/file][@revision]``: the Hub (cache first when offline).
3. an existing local path: a ``.safetensors`` file, a folder holding
   ``model.safetensors``, or an authors' ``.pth``.
4. a model name of the manifest: its bundled file, else its pinned Hub source.

A value with a '/', a leading '.' or '~', or a weights suffix is only ever a path.
A bare word that is both an existing path and a manifest name is refused as
ambiguous (write ``./word`` for the path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from ..config import PTGFillConfig
from ..errors import ModelNotFoundError, WeightsError
from ..models.generator import PTGFillGenerator
from .authors import (
    AUTHORS_CONFIG,
    AUTHORS_SUFFIXES,
    authors_card,
    is_authors_checkpoint_path,
    read_authors_checkpoint,
)
from ..hub.download import HubDownload, fetch_hub_file
from .store import check_shapes_fit, describe_config, generator_from_state_dict
from .format import read_safetensors_header
from ..hub.download import check_sha256
from .manifest import Manifest, ModelEntry, load_manifest
from ..hub.spec import HF_SYNTAX, HubFileRef, ModelSpecError, is_hub_uri, parse_hub_uri
from .format import CONFIG_FILENAME, MODEL_FILENAME, WEIGHTS_SUFFIX
from .store import (
    ModelDescription,
    description_from_metadata,
    read_description_file,
    read_state_dict,
    sidecar_candidates,
)

MODEL_OPTION_SYNTAX = f"NAME|PATH|{HF_SYNTAX}"
NO_DEFAULT_MESSAGE = (
    f"no default model is installed; pass --model {MODEL_OPTION_SYNTAX} "
    "(see: ptgfill weights list)"
)
_PATH_SUFFIXES = (WEIGHTS_SUFFIX, ".json", *AUTHORS_SUFFIXES)

Origin = Literal["path", "bundled", "hub"]


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's weights file was found, and how."""

    spec: str | None  # as given; None for the default model
    name: str
    path: Path  # a .safetensors file or an authors' checkpoint
    origin: Origin
    entry: ModelEntry | None = None  # for manifest models
    download: HubDownload | None = None  # for Hub files
    config_path: Path | None = None  # a config.json fetched beside a Hub file without one inside

    @property
    def location(self) -> str:
        """Where the weights came from, for messages: a path or a pinned Hub id."""
        if self.download is not None:
            ref = self.download.ref
            return HubFileRef(ref.repo_id, ref.filename, self.download.commit).uri
        return str(self.path)


@dataclass
class LoadedModel:
    """A generator as its weights are (eval mode, on its device) and what it is. Whoever runs
    it prepares it for inference once (``PTGFillGenerator.prepare_for_inference``: the
    Inpainter, evaluation and export do); its state dict is the file's."""

    generator: PTGFillGenerator
    config: PTGFillConfig
    name: str
    source: Path  # the weights file it was read from
    origin: Origin
    card: dict[str, Any] = field(default_factory=dict)


def resolve_model_file(
    spec: str | os.PathLike[str] | None = None, manifest_path: str | Path | None = None
) -> ResolvedModel:
    """Find the weights file for a ``--model`` value (see the module docstring),
    downloading and verifying it if it comes from the Hub. A ``Path`` is a file or folder, never a name."""
    if isinstance(spec, os.PathLike):  # a bare "ptgfill-lite-general" would otherwise read as the name
        spec = os.fspath(spec)
        spec = spec if _reads_as_path(spec) else os.path.join(".", spec)
    if spec is None:
        return _resolve_default(load_manifest(manifest_path))
    if not spec.strip():
        raise ModelSpecError(f"empty model name; pass --model {MODEL_OPTION_SYNTAX}")
    if is_hub_uri(spec):
        return _resolve_hub_uri(spec)
    if spec.startswith("hf:"):
        raise ModelSpecError(f"malformed Hub id {spec!r}: expected {HF_SYNTAX}")

    path = Path(spec).expanduser()
    if _reads_as_path(spec):
        if not path.exists():
            raise ModelNotFoundError(f"no model file or folder {path.resolve()}")
        return _resolve_local_path(path, spec)
    manifest = load_manifest(manifest_path)
    entry = manifest.models.get(spec)
    if path.exists():
        if entry is not None:
            raise ModelSpecError(
                f"{spec!r} is both a path ({path.resolve()}) and a model in {manifest.path}; "
                f"write ./{spec} for the path"
            )
        return _resolve_local_path(path, spec)
    if entry is not None:
        return _resolve_entry(manifest, entry, spec)
    raise ModelNotFoundError(_not_found_message(spec, path, manifest))


def load_model(
    spec: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    manifest_path: str | Path | None = None,
) -> LoadedModel:
    """Resolve ``spec`` (None: the default model), check the weights fit their config,
    and return the generator in eval mode on ``device``, not yet prepared for inference."""
    resolved = resolve_model_file(spec, manifest_path)
    if is_authors_checkpoint_path(resolved.path):
        checkpoint = read_authors_checkpoint(resolved.path)
        config = AUTHORS_CONFIG
        card = authors_card(checkpoint)
        state = checkpoint.generator_state
    else:
        description = _description_for(resolved)
        config, card = description.config, description.card
        check_shapes_fit(read_safetensors_header(resolved.path).shapes, config, resolved.location)
        state = read_state_dict(resolved.path)
    generator = generator_from_state_dict(state, config, resolved.location)
    generator.to(torch.device(device)).eval()
    return LoadedModel(
        generator=generator,
        config=config,
        name=resolved.name,
        source=resolved.path,
        origin=resolved.origin,
        card=card,
    )


def _resolve_default(manifest: Manifest) -> ResolvedModel:
    if manifest.default is None:
        raise ModelNotFoundError(NO_DEFAULT_MESSAGE)
    entry = manifest.models[manifest.default]
    try:
        return _resolve_entry(manifest, entry, None)
    except ModelNotFoundError as error:
        raise ModelNotFoundError(
            f"no default model is installed ({entry.name}: {error}); "
            f"pass --model {MODEL_OPTION_SYNTAX}"
        ) from error


def _resolve_entry(manifest: Manifest, entry: ModelEntry, spec: str | None) -> ResolvedModel:
    bundled = manifest.bundled_path(entry)
    if bundled is not None and bundled.is_file():
        check_sha256(bundled, entry.sha256, f"bundled model {entry.name}")
        return ResolvedModel(spec, entry.name, bundled, "bundled", entry=entry)
    if entry.hub is not None:
        download = fetch_hub_file(entry.hub, sha256=entry.sha256)
        return ResolvedModel(spec, entry.name, download.path, "hub", entry=entry, download=download)
    raise ModelNotFoundError(
        f"model {entry.name}: its bundled file {bundled} is missing and {manifest.path} "
        "gives no Hub source for it"
    )


def _resolve_hub_uri(spec: str) -> ResolvedModel:
    ref = parse_hub_uri(spec)
    download = fetch_hub_file(ref)
    config_path = None
    if download.path.suffix == WEIGHTS_SUFFIX:
        metadata = read_safetensors_header(download.path).metadata
        if description_from_metadata(metadata, download.path) is None:
            config_path = _fetch_hub_config(download)
    return ResolvedModel(
        spec, ref.repo_id, download.path, "hub", download=download, config_path=config_path
    )


def _fetch_hub_config(download: HubDownload) -> Path:
    # Pinned to the commit the weights came from, so the two always belong together.
    pinned = HubFileRef(download.ref.repo_id, download.ref.filename, download.commit)
    try:
        return fetch_hub_file(pinned.sibling(CONFIG_FILENAME)).path
    except ModelNotFoundError as error:
        raise WeightsError(
            f"{pinned.uri} carries no ptgfill config in its metadata, and its "
            f"{CONFIG_FILENAME} could not be fetched: {error}"
        ) from error


def _resolve_local_path(path: Path, spec: str) -> ResolvedModel:
    if path.is_dir():
        weights = path / MODEL_FILENAME
        if not weights.is_file():
            present = sorted(child.name for child in path.iterdir())[:8]
            raise ModelNotFoundError(
                f"folder {path} holds no {MODEL_FILENAME} "
                f"(it has: {', '.join(present) or 'nothing'})"
            )
        return ResolvedModel(spec, path.resolve().name, weights, "path")
    if path.suffix == WEIGHTS_SUFFIX or is_authors_checkpoint_path(path):
        name = path.resolve().parent.name if path.stem == "model" else path.stem
        return ResolvedModel(spec, name, path, "path")
    raise WeightsError(
        f"{path} is not a model: expected a {WEIGHTS_SUFFIX} file, an authors' "
        f"{'/'.join(AUTHORS_SUFFIXES)} checkpoint or a folder holding {MODEL_FILENAME}"
    )


def _description_for(resolved: ResolvedModel) -> ModelDescription:
    """The config and card for a .safetensors file: from its metadata, else from a
    sidecar beside it; a manifest entry's config must agree and supplies the card."""
    path = resolved.path
    description = description_from_metadata(read_safetensors_header(path).metadata, path)
    if description is None:
        sidecars = [candidate for candidate in sidecar_candidates(path) if candidate.is_file()]
        description = read_description_file(sidecars[0]) if sidecars else None
    entry = resolved.entry
    if entry is None:
        if description is None:
            names = " or ".join(candidate.name for candidate in sidecar_candidates(path))
            raise WeightsError(
                f"{resolved.location} carries no ptgfill config: none in its metadata "
                f"and no {names} beside it"
            )
        return description
    if description is not None and description.config != entry.config:
        raise WeightsError(
            f"{resolved.location}: its config ({describe_config(description.config)}) differs "
            f"from the manifest's for {entry.name} ({describe_config(entry.config)})"
        )
    stored_card = description.card if description is not None else {}
    return ModelDescription(entry.config, {**stored_card, **entry.model_card()})


def _reads_as_path(spec: str) -> bool:
    return (
        "/" in spec
        or os.sep in spec
        or spec.startswith((".", "~"))
        or spec.endswith(_PATH_SUFFIXES)
    )


def _not_found_message(spec: str, path: Path, manifest: Manifest) -> str:
    names = ", ".join(sorted(manifest.models)) or "none"
    return (
        f"no model {spec!r}: no file or folder {path.resolve()}, and not a model name of the "
        f"manifest {manifest.path} (names: {names}; bundled files in {manifest.weights_dir}); "
        f"a Hub model is written {HF_SYNTAX}"
    )
