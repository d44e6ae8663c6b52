"""Building a generator from a state dict, with a clear error when the weights do not fit."""

from __future__ import annotations

from typing import Mapping

import torch

from ..config import PRESETS, PTGFillConfig
from ..errors import WeightsError
from ..models.generator import PTGFillGenerator

_SHOWN_KEYS = 3


def describe_config(config: PTGFillConfig) -> str:
    """'paper preset, per-token attention', or 'custom config' when no preset matches."""
    for name, candidate in PRESETS.items():
        if candidate.replace(attention=config.attention) == config:
            return f"{name} preset, {config.attention} attention"
    return f"custom config, {config.attention} attention"


def generator_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: PTGFillConfig, source: str
) -> PTGFillGenerator:
    """A generator built for ``config`` holding ``state_dict``: keys and shapes must match
    exactly and every value must be finite. ``source`` names the weights in errors."""
    generator = PTGFillGenerator(config)
    expected = generator.state_dict()
    problems = mismatch_report(state_dict, expected)
    if problems:
        raise WeightsError(
            f"{source} does not fit the generator ({describe_config(config)}): {problems}"
        )
    for name, tensor in state_dict.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{source}: tensor {name} holds NaN or infinite values")
    generator.load_state_dict(state_dict, strict=True)
    return generator


def mismatch_report(
    state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]
) -> str:
    """'' when keys and shapes agree, else a one-line summary naming the first bad keys."""
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    not_tensors = [key for key in state_dict if not isinstance(state_dict[key], torch.Tensor)]
    wrong_shape = [
        f"{key} {tuple(state_dict[key].shape)} (expected {tuple(expected[key].shape)})"
        for key in expected
        if key in state_dict
        and isinstance(state_dict[key], torch.Tensor)
        and state_dict[key].shape != expected[key].shape
    ]
    parts = [
        _summarise(label, keys)
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("not tensors", not_tensors),
            ("wrong shape", wrong_shape),
        )
        if keys
    ]
    return "; ".join(parts)


def _summarise(label: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    more = f", and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else ""
    return f"{len(keys)} {label}: {shown}{more}"
