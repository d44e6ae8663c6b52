"""What a training run is given: the run's settings (``TrainConfig``), its loss weights and its
data (``TrainData``), each checked when it is made, before any image is read or network built.
No torch here, so the command line takes its defaults from these without loading it.

Errors are ``SettingError`` naming the setting as these classes spell it; the command line
shows its flag instead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ATTENTION_MODES, PRESETS, PTGFillConfig, preset
from ..errors import SettingError
from ..runtime.choices import PRECISIONS

MODES: tuple[str, ...] = ("generator", "discriminator", "joint", "finetune")
PERCEPTUAL_NETWORKS: tuple[str, ...] = ("vgg", "mobilenet", "none")
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")


@dataclass(frozen=True)
class LossWeights:
    """The published weights (``L_refined = valid + 6 hole + 0.05 perceptual + 120 style + 0.05 tv``,
    coarse ``valid + 6 hole``, adversarial 0.1). ``hole_mse`` is not the paper's: a squared-error
    term over the hole (0 by default), which PSNR, a squared-error measure, rewards directly."""

    valid: float = 1.0
    hole: float = 6.0
    hole_mse: float = 0.0
    perceptual: float = 0.05
    style: float = 120.0
    tv: float = 0.05
    coarse: float = 1.0
    adversarial: float = 0.1

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise SettingError(f"losses.{item.name}", f"must be a finite weight of 0 or more, not {value!r}")


# Default (perceptual, style) weights per feature network. VGG16's are the published ones.
# MobileNetV2's features are larger (linear bottleneck outputs, ReLU6 up to 6): unweighted,
# its perceptual and style terms came to 22.3 and 1.03 at step 50 of a fine-tune of the
# bundled face model on the general mix (128 px crops), against 0.5 for all the L1 terms.
# These weights make them about 0.09 and 0.15 there, the share the VGG16 terms are meant to have.
PERCEPTUAL_WEIGHTS: dict[str, tuple[float, float]] = {"vgg": (0.05, 120.0), "mobilenet": (0.004, 0.15)}


def loss_weights_for(network: str, /, **given: float | None) -> LossWeights:
    """The loss weights for a perceptual feature network: its perceptual and style defaults, the
    published ones for the rest, with the ``given`` weights (those not None) in their place."""
    perceptual_weight, style_weight = PERCEPTUAL_WEIGHTS.get(network, PERCEPTUAL_WEIGHTS["vgg"])
    chosen = {"perceptual": perceptual_weight, "style": style_weight}
    chosen.update({name: value for name, value in given.items() if value is not None})
    return LossWeights(**chosen)


# The lowest whole number each count may be (TrainConfig's, then TrainData's); the checks and the
# command line's help read these.
AT_LEAST: dict[str, int] = {
    "batch_size": 1, "steps": 1, "log_every": 1, "checkpoint_every": 1, "keep_last": 1,
    "lr_warmup": 0, "sample_every": 0, "val_every": 0, "num_workers": 0, "seed": 0,
}
DATA_AT_LEAST: dict[str, int] = {"val_count": 0}
UNIT_INTERVAL = ("ema_decay", "val_fraction", "test_fraction")  # in [0, 1)


def range_text(setting: str) -> str:
    """The values ``setting`` may take, as help text says them (from the checks' own tables)."""
    lowest = {**AT_LEAST, **DATA_AT_LEAST}.get(setting)
    if lowest is not None:
        return f"{lowest} or more"
    if setting in UNIT_INTERVAL:
        return "from 0 to under 1"
    if setting in ("lr_g", "lr_d"):
        return "above 0"
    if setting.startswith("losses."):
        return "0 or more"
    if setting == "size":
        model = preset(default_of(TrainConfig, "preset"))
        return f"{model.min_side} or more, a multiple of {model.size_multiple} for the presets"
    raise KeyError(setting)


def _choice(setting: str, value: object, choices: tuple[str, ...] | list[str]) -> None:
    if value not in choices:
        raise SettingError(setting, f"must be one of {', '.join(choices)}, not {value!r}")


def _at_least(setting: str, value: object, lowest: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise SettingError(setting, f"must be a whole number of at least {lowest}, not {value!r}")


@dataclass
class TrainConfig:
    """Everything a training run is given; saved into every checkpoint."""

    out_dir: str = "runs/ptgfill"
    preset: str = "lite"
    attention: str = "tokens"
    size: int = 256
    load_size: int | None = None
    batch_size: int = 8  # global, across all processes
    steps: int = 10_000
    mode: str = "joint"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_warmup: int = 0  # steps of linear learning-rate warm-up from the first step of this run's optimiser
    lr_schedule: str = "constant"  # LR_SCHEDULES: after the warm-up, constant or cosine decay to the last step
    weight_decay: float = 0.01
    losses: LossWeights = field(default_factory=LossWeights)
    perceptual: str = "vgg"  # PERCEPTUAL_NETWORKS
    crop_scale: tuple[float, float] | None = None  # random resized crops: fraction of the photo's area
    time_limit: float | None = None  # seconds of wall-clock time for this process, then stop cleanly
    ema_decay: float = 0.999
    precision: str = "fp32"
    channels_last: bool = False
    seed: int = 0
    num_workers: int = 2
    log_every: int = 25
    sample_every: int = 500
    val_every: int = 500
    checkpoint_every: int = 500
    keep_last: int = 3
    device: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.losses, dict):  # as a checkpoint stores it
            self.losses = LossWeights(**self.losses)
        _choice("preset", self.preset, sorted(PRESETS))
        _choice("attention", self.attention, ATTENTION_MODES)
        _choice("mode", self.mode, MODES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("perceptual", self.perceptual, PERCEPTUAL_NETWORKS)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        multiple = self.model_config().size_multiple
        _at_least("size", self.size, self.model_config().min_side)
        if self.size % multiple:
            raise SettingError("size", f"must be a multiple of {multiple}, not {self.size}")
        if self.load_size is not None:
            _at_least("load_size", self.load_size, self.size)
        for setting, lowest in AT_LEAST.items():
            _at_least(setting, getattr(self, setting), lowest)
        for setting in ("lr_g", "lr_d"):
            rate = getattr(self, setting)
            if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
                raise SettingError(setting, f"must be a positive learning rate, not {rate!r}")
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay)
                and self.weight_decay >= 0):
            raise SettingError("weight_decay", f"must be 0 or more, not {self.weight_decay!r}")
        if not (isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1):  # UNIT_INTERVAL
            raise SettingError("ema_decay", f"must be in [0, 1), not {self.ema_decay!r}")
        if self.crop_scale is not None:
            scale = tuple(float(x) for x in self.crop_scale)
            if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
                raise SettingError("crop_scale", f"must be LO,HI with 0 < LO <= HI <= 1, not {self.crop_scale}")
            self.crop_scale = scale  # type: ignore[assignment]
        if self.time_limit is not None and not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise SettingError("time_limit", f"must be a positive duration, not {self.time_limit}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def model_config(self) -> PTGFillConfig:
        return preset(self.preset, attention=self.attention)


@dataclass(frozen=True)
class TrainData:
    """Where a run's images and masks come from, and what is held out of them.

    ``sources``: folders, ``.txt`` lists of paths or catalogue sets, sampled in proportion to
    ``source_weights`` (default: their image counts). Validation uses ``val_data``, else the
    next ``val_fraction`` of each source by file-name hash after the first ``test_fraction``,
    which is a test set neither trained nor validated on. ``masks``: ``generated`` or a folder.
    """

    sources: tuple[str, ...]
    source_weights: tuple[float, ...] | None = None
    data_root: Path | None = None
    val_data: str | None = None
    val_fraction: float = 0.05
    test_fraction: float = 0.0
    val_count: int = 64
    masks: str = "generated"

    def __post_init__(self) -> None:
        sources = (self.sources,) if isinstance(self.sources, str) else tuple(self.sources)
        object.__setattr__(self, "sources", sources)
        if not sources:
            raise SettingError("sources", "must name at least one folder, list or catalogue set")
        for setting in UNIT_INTERVAL[1:]:
            value = getattr(self, setting)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise SettingError(setting, f"must be in [0, 1), not {value!r}")
        if self.val_fraction + self.test_fraction >= 1:
            raise SettingError("val_fraction", f"and test_fraction must sum to under 1, not "
                                               f"{self.val_fraction} + {self.test_fraction}")
        for setting, lowest in DATA_AT_LEAST.items():
            _at_least(setting, getattr(self, setting), lowest)
        if self.source_weights is not None:
            weights = tuple(float(w) for w in self.source_weights)
            if len(weights) != len(sources):
                raise SettingError("source_weights", f"must give one weight per source: {len(weights)} for "
                                                     f"{len(sources)} sources")
            if not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
                raise SettingError("source_weights", f"must be finite, 0 or more and not all 0, not {weights}")
            object.__setattr__(self, "source_weights", weights)


def default_of(cls: type, name: str) -> Any:
    """A dataclass field's default value (what the command line offers when a flag is not given)."""
    item = next(f for f in dataclasses.fields(cls) if f.name == name)
    if item.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return item.default_factory()  # type: ignore[misc]
    return item.default
