"""The straightforward computation of the published code, for benchmarks and checks.

Masks with a real channel per feature channel, carried from layer to layer,
with the full-width mask convolution, channel mean and update of the published
partial convolution; swish as ``x * sigmoid(x)``; per-token attention computed
literally (query and key projections and a softmax over the batch axis, as the
authors' encoder layer does); NCHW, eager fp32. Same weights, same outputs at
batch size 1.
"""

from __future__ import annotations

from ..layers.gated_conv import DistinctiveGatedConv2d
from .generator import PTGFillGenerator


def straightforward_copy(model: PTGFillGenerator) -> PTGFillGenerator:
    """A copy of ``model`` that computes the way the published code does."""
    reference = PTGFillGenerator(model.config, mask_path="full")
    reference.load_state_dict(model.state_dict())
    for layer in reference.pc2ftransformer.transformer.layers:
        layer.literal = True
    for module in reference.modules():
        if isinstance(module, DistinctiveGatedConv2d):
            module.literal = True
    return reference.eval()
