"""Weight initialisation: the published rule, and the deterministic rule of the golden vectors."""

from __future__ import annotations

import torch
from torch import nn


def init_published(module: nn.Module) -> None:
    """xavier_normal (gain 0.02) on every Conv/Linear weight, biases zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weight = getattr(m, "weight_orig", m.weight)
            nn.init.xavier_normal_(weight, gain=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.MultiheadAttention):
            nn.init.xavier_normal_(m.in_proj_weight, gain=0.02)
            nn.init.zeros_(m.in_proj_bias)


def golden_state_dict(
    keys_and_shapes: list[tuple[str, list[int]]], seed: int = 20241121
) -> dict[str, torch.Tensor]:
    """The reference's deterministic weights: one generator walks the keys in order;
    norm weights get 1 + 0.05 r, everything else 0.05 r."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in keys_and_shapes:
        r = torch.randn(shape, generator=generator)
        parts = key.split(".")
        is_norm_weight = parts[-1] == "weight" and len(parts) >= 2 and "norm" in parts[-2]
        state[key] = 1 + 0.05 * r if is_norm_weight else 0.05 * r
    return state
