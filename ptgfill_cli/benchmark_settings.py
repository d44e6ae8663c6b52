"""What ``ptgfill benchmark`` accepts, without torch: the checks and the ranges its ``--help`` states."""

from __future__ import annotations

from typing import Sequence

from .config import ATTENTION_MODES, PTGFillConfig
from .errors import SettingError

MAX_SIDE = 4096  # a 4096x4096 fp32 paper network needs tens of GB; beyond it is a typo
_MODEL = PTGFillConfig()
MIN_SIDE, SIZE_MULTIPLE = _MODEL.min_side, _MODEL.size_multiple

# The lowest whole number each count may be; the checks and the help read this.
AT_LEAST: dict[str, int] = {"batch_size": 1, "warmup": 0, "repeats": 1, "threads": 1, "path_images": 1}


def range_text(setting: str) -> str:
    """The values ``setting`` may take, as help text says them."""
    if setting == "size":
        return f"a multiple of {SIZE_MULTIPLE} from {MIN_SIDE} to {MAX_SIDE}"
    return f"{AT_LEAST[setting]} or more"


def check_benchmark_settings(
    *, sizes: Sequence[int], batch_sizes: Sequence[int], warmup: int, repeats: int, threads: int | None,
    attention: str | None, path_images: int = 1,
) -> None:
    """Refuse settings a benchmark cannot run, before any model is built (SettingError)."""
    for side in sizes:
        if not MIN_SIDE <= side <= MAX_SIDE or side % SIZE_MULTIPLE:
            raise SettingError("size", f"must be {range_text('size')}, not {side}")
    counts = {"warmup": [warmup], "repeats": [repeats], "path_images": [path_images], "batch_size": batch_sizes,
              "threads": [] if threads is None else [threads]}
    for setting, values in counts.items():
        for value in values:
            if value < AT_LEAST[setting]:
                raise SettingError(setting, f"must be {range_text(setting)}, not {value}")
    if attention is not None and attention not in ATTENTION_MODES:
        raise SettingError("attention", f"must be one of {', '.join(ATTENTION_MODES)}, not {attention!r}")
