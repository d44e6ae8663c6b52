"""ptgfill: image inpainting with PTG-Fill.

The public API is imported lazily so that ``ptgfill --help`` and ``--version``
answer without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

_EXPORTS = {
    "PTGFillConfig": ("ptgfill_cli.config", "PTGFillConfig"),
    "PRESETS": ("ptgfill_cli.config", "PRESETS"),
    "preset": ("ptgfill_cli.config", "preset"),
    "PTGFillGenerator": ("ptgfill_cli.models.generator", "PTGFillGenerator"),
    "SNPatchGANDiscriminator": ("ptgfill_cli.models.discriminator", "SNPatchGANDiscriminator"),
    "build_generator": ("ptgfill_cli.models.factory", "build_generator"),
    "Inpainter": ("ptgfill_cli.inference.inpainter", "Inpainter"),
    "load_model": ("ptgfill_cli.weights.resolve", "load_model"),
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from .config import PRESETS, PTGFillConfig, preset
    from .inference.inpainter import Inpainter
    from .weights.resolve import load_model
    from .models.discriminator import SNPatchGANDiscriminator
    from .models.factory import build_generator
    from .models.generator import PTGFillGenerator


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module, attribute = _EXPORTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'ptgfill_cli' has no attribute {name!r}")
