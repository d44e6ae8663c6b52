"""The ptgfill on-disk model format: safetensors weights plus a small JSON config.

A model is either

- a file ``X.safetensors`` with a sidecar ``X.json``, or
- a folder (the layout of a Hub repository) holding ``model.safetensors`` and ``config.json``.

The ``.safetensors`` file holds the generator's state dict (float32, contiguous) and
carries the config itself in its metadata: ``{"format": "ptgfill", "format_version": "1",
"config": <PTGFillConfig JSON>, "card": <model card JSON>}``, so the sidecar is a
convenience for people and tools. A sidecar / ``config.json`` is
``{"format": "ptgfill", "format_version": 1, "config": {...}, "card": {...}}``, or, as
``weights export-hub`` writes it for the Hub, flat: the config's fields beside "format".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as serialise_tensors
from torch import nn

from ..atomic import write_bytes_atomically, write_text_atomically
from ..config import PRESETS, PTGFillConfig
from ..errors import WeightsError
from ..models.generator import PTGFillGenerator
from .format import CONFIG_FILENAME, FORMAT_NAME, FORMAT_VERSION, MODEL_FILENAME, WEIGHTS_SUFFIX


@dataclass(frozen=True)
class ModelDescription:
    """The config and model card stored with a weights file."""

    config: PTGFillConfig
    card: dict[str, Any] = field(default_factory=dict)


def save_model(generator: nn.Module, path: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Save a generator (anything with a ``config`` and a state dict) in the ptgfill format.

    ``path`` ending in ``.safetensors`` writes that file and a sidecar ``.json``; any
    other path is a folder that gets ``model.safetensors`` and ``config.json``.
    Returns the path of the ``.safetensors`` file."""
    config = getattr(generator, "config", None)
    if not isinstance(config, PTGFillConfig):
        raise TypeError("save_model needs a generator with a PTGFillConfig 'config' attribute")
    return save_state_dict(generator.state_dict(), config, path, card)


def save_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    config: PTGFillConfig,
    path: str | Path,
    card: dict[str, Any] | None = None,
) -> Path:
    """Save a generator state dict and its config in the ptgfill format (see ``save_model``)."""
    weights_path, sidecar_path = model_file_paths(Path(path))
    card = dict(card or {})
    try:
        card_json = json.dumps(card, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise WeightsError(f"the model card is not JSON-serialisable: {error}") from error
    tensors = {name: _storable(tensor) for name, tensor in state_dict.items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(config.to_dict(), sort_keys=True),
        "card": card_json,
    }
    description = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "card": card,
    }
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    # Serialised in memory and written by Python so the file gets the usual
    # permissions (safetensors' own writer makes it owner-only).
    data = _with_sorted_metadata(serialise_tensors(tensors, metadata))
    write_bytes_atomically(weights_path, data)
    write_text_atomically(sidecar_path, json.dumps(description, indent=2) + "\n")
    return weights_path


def model_file_paths(path: Path) -> tuple[Path, Path]:
    """The weights file and the sidecar that ``save_model`` writes for ``path``."""
    if path.suffix == WEIGHTS_SUFFIX:
        return path, path.with_suffix(".json")
    if path.suffix and not path.is_dir():
        raise WeightsError(
            f"cannot save a model to {path}: give a {WEIGHTS_SUFFIX} file or a folder"
        )
    return path / MODEL_FILENAME, path / CONFIG_FILENAME


def sidecar_candidates(weights_path: Path) -> list[Path]:
    """Where a weights file's config may lie, most specific first: ``X.json``, ``config.json``."""
    candidates = [weights_path.with_suffix(".json"), weights_path.parent / CONFIG_FILENAME]
    return list(dict.fromkeys(candidates))


def description_from_metadata(metadata: Mapping[str, str], source: Path) -> ModelDescription | None:
    """The config and card in a safetensors file's metadata; None if it is not a ptgfill file."""
    if metadata.get("format") != FORMAT_NAME or "config" not in metadata:
        return None
    try:
        config = PTGFillConfig.from_dict(json.loads(metadata["config"]))
        card = json.loads(metadata.get("card", "{}"))
    except (TypeError, ValueError) as error:
        raise WeightsError(f"{source}: bad config in the safetensors metadata: {error}") from error
    if not isinstance(card, dict):
        raise WeightsError(f"{source}: the model card in the metadata is not an object")
    return ModelDescription(config, card)


def read_description_file(path: Path) -> ModelDescription:
    """Read a sidecar / ``config.json`` written by ``save_model``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"cannot read model config {path}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise WeightsError(
            f"{path} is not a ptgfill model config (expected {{\"format\": \"{FORMAT_NAME}\", "
            "\"config\": {...}})"
        )
    card = document.get("card", {})
    if not isinstance(card, dict):
        raise WeightsError(f"{path}: 'card' must be an object")
    if "config" not in document:  # the flat form of a Hub folder (export-hub): fields at the top level
        document = {"config": {key: value for key, value in document.items()
                               if key not in ("format", "format_version", "model_type", "card")}}
    try:
        return ModelDescription(PTGFillConfig.from_dict(document["config"]), card)
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsError(f"{path}: bad 'config': {error}") from error


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, on the CPU."""
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"cannot read weights {path}: {error}") from error


def _storable(tensor: torch.Tensor) -> torch.Tensor:
    """float32 (integer tensors unchanged), on the CPU, contiguous."""
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    return tensor.contiguous()


def _with_sorted_metadata(data: bytes) -> bytes:
    """The same safetensors bytes with the metadata keys in sorted order.

    safetensors writes metadata in hash-map order, which changes from run to run;
    sorted, equal weights give equal files and so equal sha256 for the manifest."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"] = dict(sorted(header.get("__metadata__", {}).items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > length:
        raise WeightsError("internal error: the reordered safetensors header grew")
    # Same length, padded with spaces as safetensors pads its header.
    return data[:8] + text.ljust(length, b" ") + data[8 + length :]


# ---------------------------------------------------------------- building a generator from weights


_SHOWN_KEYS = 3


def describe_config(config: PTGFillConfig) -> str:
    """'paper preset, per-token attention', or 'custom config' when no preset matches."""
    for name, candidate in PRESETS.items():
        if candidate.replace(attention=config.attention) == config:
            return f"{name} preset, {config.attention} attention"
    return f"custom config, {config.attention} attention"


def expected_shapes(config: PTGFillConfig) -> dict[str, tuple[int, ...]]:
    """The generator's tensor names and shapes for ``config``, built on the meta device:
    nothing is allocated, whatever widths the config claims."""
    with torch.device("meta"):
        generator = PTGFillGenerator(config)
    return {name: tuple(tensor.shape) for name, tensor in generator.state_dict().items()}


def check_shapes_fit(shapes: Mapping[str, tuple[int, ...]], config: PTGFillConfig, source: str) -> None:
    """Raise WeightsError unless a file's tensor names and shapes (its safetensors header) are
    exactly the generator's for ``config``: checked before any tensor is read or network built."""
    problems = mismatch_report(shapes, expected_shapes(config))
    if problems:
        raise WeightsError(f"{source} does not fit the generator ({describe_config(config)}): {problems}")


def generator_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: PTGFillConfig, source: str
) -> PTGFillGenerator:
    """A generator built for ``config`` holding ``state_dict``: keys and shapes must match
    exactly and every value must be finite. ``source`` names the weights in errors."""
    not_tensors = [key for key, value in state_dict.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise WeightsError(f"{source} does not fit the generator: {_summarise('not tensors', not_tensors)}")
    check_shapes_fit({key: tuple(value.shape) for key, value in state_dict.items()}, config, source)
    for name, tensor in state_dict.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{source}: tensor {name} holds NaN or infinite values")
    generator = PTGFillGenerator(config)
    generator.load_state_dict(state_dict, strict=True)
    return generator


def mismatch_report(given: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]]) -> str:
    """'' when tensor names and shapes agree, else a one-line summary naming the first bad ones."""
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    wrong_shape = [
        f"{key} {tuple(given[key])} (expected {tuple(expected[key])})"
        for key in expected
        if key in given and tuple(given[key]) != tuple(expected[key])
    ]
    parts = [
        _summarise(label, keys)
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
        if keys
    ]
    return "; ".join(parts)


def _summarise(label: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    more = f", and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else ""
    return f"{len(keys)} {label}: {shown}{more}"
