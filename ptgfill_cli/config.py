"""Model configuration: one flat dataclass and its named presets. No torch here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import SettingError

ATTENTION_MODES: tuple[str, ...] = ("tokens", "per-token")


@dataclass(frozen=True)
class PTGFillConfig:
    """Shapes and settings of a PTG-Fill generator and discriminator.

    The defaults are the published network (``paper`` preset). ``attention``
    selects how the transformer bridger mixes tokens:

    - ``tokens``: self-attention across the tokens of each image, as the paper
      describes; the mode for models trained by this project.
    - ``per-token``: what the authors' code computes at inference (its encoder
      layer is fed batch-first tensors with ``batch_first=False``, so each token
      attends only to itself at batch size 1). Required to reproduce the
      authors' checkpoints, and independent of the batch size here.
    """

    base_channels: int = 64  # encoder1 width; encoders 2-5 use x2, x4, x8, x8
    encoder5_convs: int = 5
    patch_size: int = 16  # bridger tokens cover patch x patch pixels at full size
    patch_channels: int = 3  # channels each token is reshaped into per level
    bridger_layers: int = 2
    bridger_heads: int = 8
    bridger_ff_mult: int = 2  # feed-forward width = mult x token dim
    bridger_dropout: float = 0.1
    attention: str = "tokens"
    refine_channels: int = 64  # refine network width at H/2; x2 at H/4
    disc_channels: int = 64  # first discriminator width; then x2, x4, x4, x4, x4

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_MODES:
            raise SettingError("attention", f"must be one of {', '.join(ATTENTION_MODES)}, not {self.attention!r}")
        if self.patch_size % 16 != 0:
            raise SettingError("patch_size", f"must be a multiple of 16, not {self.patch_size}")
        for name in ("base_channels", "refine_channels", "disc_channels", "patch_size", "patch_channels", "encoder5_convs",
                     "bridger_layers", "bridger_heads", "bridger_ff_mult"):
            if getattr(self, name) < 1:
                raise SettingError(name, f"must be positive, not {getattr(self, name)}")
        if not 0 <= self.bridger_dropout < 1:
            raise SettingError("bridger_dropout", f"must be in [0, 1), not {self.bridger_dropout}")
        if self.token_dim % self.bridger_heads != 0:
            raise SettingError("bridger_heads", f"{self.bridger_heads} do not divide the token dim {self.token_dim}")

    @property
    def token_dim(self) -> int:
        return self.patch_size * self.patch_size * self.patch_channels

    @property
    def size_multiple(self) -> int:
        """Height and width of the network input must be multiples of this."""
        return max(32, self.patch_size)

    @property
    def min_side(self) -> int:
        """The smallest input side: at one size multiple the bottleneck is 1x1, where instance
        normalisation has a single value and fails."""
        return 2 * self.size_multiple

    def replace(self, **changes: Any) -> "PTGFillConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> "PTGFillConfig":
        """A config from its JSON form, every field checked for its type (a file may say anything)."""
        if not isinstance(values, dict):
            raise SettingError("config", f"must be an object of fields, not {type(values).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        for name, value in values.items():
            kind = known[name].type
            if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
                raise SettingError(name, f"must be a whole number, not {value!r}")
            if kind == "float" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                raise SettingError(name, f"must be a number, not {value!r}")
            if kind == "str" and not isinstance(value, str):
                raise SettingError(name, f"must be text, not {value!r}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "PTGFillConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


PRESETS: dict[str, PTGFillConfig] = {
    # The published shapes: 44.8 M generator parameters, keys equal to the
    # authors' checkpoints.
    "paper": PTGFillConfig(),
    # Fewer channels everywhere, for CPU use and the bundled default.
    "lite": PTGFillConfig(
        base_channels=16,
        patch_channels=1,
        bridger_heads=4,
        refine_channels=24,
        disc_channels=32,
    ),
}


# Between the two: 1.5x lite's coarse width and 1.33x its refine width.
PRESETS["base"] = PRESETS["lite"].replace(base_channels=24, refine_channels=32)


def preset(name: str, **overrides: Any) -> PTGFillConfig:
    """A named preset, optionally with some fields changed."""
    try:
        config = PRESETS[name]
    except KeyError:
        raise SettingError("preset", f"must be one of {', '.join(sorted(PRESETS))}, not {name!r}") from None
    return config.replace(**overrides) if overrides else config
