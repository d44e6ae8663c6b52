"""MobileNetV2 (width 1.0) feature stages for the perceptual and style losses.

The one ImageNet classifier this project can ship: its weights are converted once
(``scripts/convert_mobilenet_tflite.py``, dequantised) from Google's Apache-2.0 TFLite file
``mobilenet_v2_1.0_224_quant.tflite`` and bundled beside this module with the licence
notice. Batch norm is folded into the convolutions and ReLU6 follows them, as in that
file; convolutions pad like TensorFlow's ``SAME`` (strided ones more at the bottom and
right), so features line up with the original's. Inputs are images in [0, 1].

Only the stages the losses use are defined: the outputs at strides 2, 4, 8 and 16
(16, 24, 32 and 96 channels), the counterparts of VGG16's pool1-pool3 and one deeper.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError, first_line

WEIGHTS_FILE = Path(__file__).with_name("mobilenet_v2_features.safetensors")
LICENSE_FILE = Path(__file__).with_name("MOBILENET_V2_LICENSE.txt")
# (expansion, output channels, repeats, first stride) of MobileNetV2's bottleneck stages.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
# Block indices (0 = the stem) whose outputs are returned: strides 2, 4, 8, 16.
FEATURE_BLOCKS = (1, 3, 6, 13)


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's ``SAME`` padding, then ReLU6 unless ``linear``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, linear: bool = False):
        super().__init__(cin, cout, kernel, stride=stride, groups=groups, bias=True)
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        pads = []
        for size in (x.shape[-1], x.shape[-2]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        x = super().forward(F.pad(x, pads) if any(pads) else x)
        return x if self.linear else F.relu6(x)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = SameConv(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = SameConv(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = SameConv(hidden, cout, 1, linear=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class MobileNetV2Features(nn.Module):
    """``forward(x)`` (images in [0, 1]) returns the stride-2, 4, 8 and 16 activations."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = [SameConv(3, 32, 3, stride=2)]
        channels = 32
        for expansion, cout, repeats, stride in STAGES:
            for index in range(repeats):
                blocks.append(InvertedResidual(channels, cout, stride if index == 0 else 1, expansion))
                channels = cout
        self.blocks = nn.ModuleList(blocks[: FEATURE_BLOCKS[-1] + 1])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x * 2 - 1  # MobileNet's input range is [-1, 1]
        outputs = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in FEATURE_BLOCKS:
                outputs.append(x)
        return outputs


def load_mobilenet_features(path: str | Path = WEIGHTS_FILE) -> MobileNetV2Features:
    """The bundled ImageNet MobileNetV2 feature stages, frozen, in eval mode."""
    from safetensors.torch import load_file

    model = MobileNetV2Features()
    try:
        state = load_file(str(path))
    except Exception as error:  # safetensors raises its own error type for a corrupt file
        raise WeightsError(f"{path}: cannot read MobileNetV2 weights ({error})") from error
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise WeightsError(f"{path}: not MobileNetV2 feature weights ({first_line(error)})") from None
    return model.eval().requires_grad_(False)
