"""The authors' checkpoints: ``.pth`` files holding
``{"generator": state_dict, "discriminator": state_dict, "epoch": int}``.

They are read with ``torch.load(weights_only=True)``, which refuses any pickled
object other than tensors and plain containers. Their generator computes the
bridger per token (see ``PTGFillConfig``), so they load with ``attention="per-token"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from ..version import __version__
from ..config import PTGFillConfig, preset
from ..errors import InputError, WeightsError
from .store import generator_from_state_dict
from ..hub.download import sha256_of_file
from .store import save_model
from .torch_files import read_torch_file

AUTHORS_SUFFIXES = (".pth", ".pt")
AUTHORS_CONFIG: PTGFillConfig = preset("paper", attention="per-token")
_DDP_PREFIX = "module."


@dataclass(frozen=True)
class AuthorsCheckpoint:
    """The generator part of an authors' checkpoint."""

    path: Path
    generator_state: dict[str, torch.Tensor]
    epoch: int | None


def is_authors_checkpoint_path(path: Path) -> bool:
    return path.suffix in AUTHORS_SUFFIXES


def read_authors_checkpoint(path: str | Path) -> AuthorsCheckpoint:
    """Load the generator state dict of an authors' ``.pth`` without unpickling objects."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such checkpoint file: {path}")
    document = read_torch_file(path, "checkpoint")
    if not isinstance(document, Mapping) or "generator" not in document:
        if isinstance(document, Mapping):
            found = "keys " + ", ".join(map(str, list(document)[:5]))
        else:
            found = type(document).__name__
        raise WeightsError(
            f"{path} is not an authors' checkpoint: expected a dict with a 'generator' "
            f"state dict, found {found}"
        )
    state = document["generator"]
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: 'generator' is not a state dict")
    epoch = document.get("epoch")
    return AuthorsCheckpoint(
        path=path,
        generator_state=_without_ddp_prefix(dict(state)),
        epoch=epoch if isinstance(epoch, int) else None,
    )


def authors_card(checkpoint: AuthorsCheckpoint) -> dict[str, Any]:
    """Model card fields saying where the weights came from."""
    card: dict[str, Any] = {
        "name": checkpoint.path.stem,
        "source": "authors' checkpoint (zeyuwang-zju/PTG-Fill)",
        "checkpoint": checkpoint.path.name,
    }
    if checkpoint.epoch is not None:
        card["epoch"] = checkpoint.epoch
    return card


def convert_authors_checkpoint(
    pth_path: str | Path, out_path: str | Path, card: dict[str, Any] | None = None
) -> Path:
    """Convert an authors' ``.pth`` to the ptgfill format (safetensors + config);
    ``card`` fields are added to the recorded provenance. Returns the weights path."""
    checkpoint = read_authors_checkpoint(pth_path)
    generator = generator_from_state_dict(
        checkpoint.generator_state, AUTHORS_CONFIG, str(checkpoint.path)
    )
    provenance = {
        **authors_card(checkpoint),
        "checkpoint_sha256": sha256_of_file(checkpoint.path),
        "converted_with": f"ptgfill {__version__}",
    }
    return save_model(generator, out_path, {**provenance, **(card or {})})


def _without_ddp_prefix(state: dict[str, Any]) -> dict[str, Any]:
    # Checkpoints saved from a DistributedDataParallel wrapper prefix every key.
    if state and all(isinstance(key, str) and key.startswith(_DDP_PREFIX) for key in state):
        return {key[len(_DDP_PREFIX) :]: value for key, value in state.items()}
    return state
