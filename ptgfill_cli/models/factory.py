"""Building models from a preset name or a config."""

from __future__ import annotations

import torch

from ..config import PTGFillConfig, preset
from .discriminator import SNPatchGANDiscriminator
from .generator import PTGFillGenerator
from .init import init_published


def build_generator(
    config: PTGFillConfig | str = "paper", mask_path: str = "compact", seed: int | None = None
) -> PTGFillGenerator:
    """A generator with the published initialisation (untrained)."""
    if isinstance(config, str):
        config = preset(config)
    if seed is not None:
        torch.manual_seed(seed)
    model = PTGFillGenerator(config, mask_path=mask_path)
    init_published(model)
    return model


def build_discriminator(config: PTGFillConfig | str = "paper") -> SNPatchGANDiscriminator:
    if isinstance(config, str):
        config = preset(config)
    model = SNPatchGANDiscriminator(config)
    init_published(model)
    return model
