"""The straightforward computation of the published code, for benchmarks and checks.

Full-width mask convolutions, and per-token attention computed literally (query
and key projections and a softmax over the batch axis, as the authors' encoder
layer does), eager fp32. Same weights, same outputs at batch size 1.
"""

from __future__ import annotations

from .generator import PTGFillGenerator


def straightforward_copy(model: PTGFillGenerator) -> PTGFillGenerator:
    """A copy of ``model`` that computes the way the published code does."""
    reference = PTGFillGenerator(model.config, mask_path="full")
    reference.load_state_dict(model.state_dict())
    for layer in reference.pc2ftransformer.transformer.layers:
        layer.literal = True
    return reference.eval()
