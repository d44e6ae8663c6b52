"""The methods an evaluation compares: PTG-Fill models and the classical OpenCV baselines.

A method maps a batch, ``image`` (B, 3, H, W) floats in [0, 1] and ``known`` (B, 1, H, W)
with 1 = known pixel, to a filled image of the same shape. The evaluator composites the
known pixels back (``known * image + (1 - known) * filled``), so every method is scored
on its holes alone.

- ``PTGFillMethod``: ``generator(image * known, known).refined`` under
  ``torch.inference_mode()``, on the model's device.
- ``OnnxMethod``: an ONNX file made by ``ptgfill export``, on onnxruntime (for
  measuring what an fp16 or 8-bit export costs in quality).
- ``upscale`` (auto, the default, thin or off) fills images with thin holes on the image
  enlarged 2x, as ``inpaint --upscale`` does (``inference.upscale``); auto and thin are
  named with ``+up`` and ``+up-thin``, off keeps the bare name (the network alone).
- With ``flip_average`` both average each fill with the mirrored fill of the mirrored image
  (``inference.flip_average``) and are named with ``+flip``, so their results never mix with
  the plain model's in a result store.
- ``OpenCVMethod``: ``cv2.inpaint`` on the 8-bit RGB image with an 8-bit hole mask,
  radius 3: ``opencv-telea`` (Telea 2004, fast marching) and ``opencv-ns`` (Bertalmio
  et al. 2001, Navier-Stokes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np
import torch

from ..data.grids import to_uint8
from ..errors import PTGFillError
from ..inference.upscale import check_mode, fill_as_asked, mode_for, upscale_choices
from ..models.generator import PTGFillGenerator
from ..runtime.choices import DEFAULT_UPSCALE

if TYPE_CHECKING:  # pragma: no cover
    from ..inference.onnx_network import OnnxNetwork

OPENCV_RADIUS = 3
FLIP_SUFFIX = "+flip"  # a flip-averaged network's method name ends with it
# Per upscale mode: the name suffix (before any FLIP_SUFFIX) and the words the description ends with.
UPSCALE_VARIANTS = {"auto": ("+up", ", thin holes filled enlarged 2x up to 512x512 pixels"),
                    "thin": ("+up-thin", ", thin holes filled enlarged 2x"), "off": ("", "")}
OPENCV_METHODS: dict[str, tuple[int, str]] = {
    "opencv-telea": (cv2.INPAINT_TELEA, "OpenCV Telea (fast marching), radius 3"),
    "opencv-ns": (cv2.INPAINT_NS, "OpenCV Navier-Stokes, radius 3"),
}


class InpaintingMethod(Protocol):
    name: str
    description: str

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Filled images (B, 3, H, W) in [0, 1], on the CPU."""

    def check_size(self, height: int, width: int) -> None:
        """Raise PTGFillError when the method cannot work at this size."""


@dataclass
class OpenCVMethod:
    """A classical inpainting baseline from OpenCV, one image at a time."""

    name: str
    flag: int
    description: str
    radius: int = OPENCV_RADIUS

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        rgb = to_uint8(image)
        holes = ((known.detach().cpu()[:, 0] < 0.5).numpy().astype(np.uint8)) * 255
        filled = np.stack([cv2.inpaint(rgb[i], holes[i], self.radius, self.flag) for i in range(rgb.shape[0])])
        return torch.from_numpy(filled).permute(0, 3, 1, 2).float() / 255

    def check_size(self, height: int, width: int) -> None:
        return None


@dataclass
class PTGFillMethod:
    """A PTG-Fill generator prepared for inference on ``device``."""

    name: str
    generator: PTGFillGenerator
    device: torch.device
    description: str
    flip_average: bool = False
    upscale: str = DEFAULT_UPSCALE

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        image, known = image.to(self.device, torch.float32), known.to(self.device, torch.float32)
        choices = upscale_choices(known, self.upscale)

        def network(image: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor]:
            return (self.generator(image * known, known).refined.float(),)

        with torch.inference_mode():
            (refined,) = fill_as_asked(network, image, known, choices, self.flip_average)
        return refined.cpu()

    def check_size(self, height: int, width: int) -> None:
        multiple, smallest = self.generator.config.size_multiple, self.generator.config.min_side
        if height % multiple or width % multiple or min(height, width) < smallest:
            raise PTGFillError(
                f"{self.name}: the evaluation size {height}x{width} is not a multiple of {multiple} of at "
                f"least {smallest}, which PTG-Fill needs; pick another --size"
            )


@dataclass
class OnnxMethod:
    """An exported ONNX generator (``ptgfill export``) on onnxruntime."""

    name: str
    network: OnnxNetwork
    description: str
    flip_average: bool = False
    upscale: str = DEFAULT_UPSCALE

    def fill(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        known = known.float().numpy()
        image = image.float().numpy() * known
        choices = upscale_choices(known, self.upscale)
        refined, _ = fill_as_asked(self.network.generate, image, known, choices, self.flip_average)
        return torch.from_numpy(refined).float()

    def check_size(self, height: int, width: int) -> None:
        multiple = self.network.size_multiple
        fixed = self.network.fixed_size
        if (fixed is not None and (height, width) != fixed) or height % multiple or width % multiple:
            rule = f"{fixed[0]}x{fixed[1]}" if fixed is not None else f"a multiple of {multiple}"
            raise PTGFillError(f"{self.name}: the evaluation size {height}x{width} is not {rule}; pick another --size")


def build_method(spec: str | None, device: torch.device, flip_average: bool = False,
                 upscale: str = DEFAULT_UPSCALE) -> InpaintingMethod:
    """``opencv-telea`` / ``opencv-ns``, an exported ``.onnx`` file, or a PTG-Fill model (NAME,
    PATH or hf://...; None: the default model) loaded with ``load_model``. ``flip_average``
    and ``upscale`` apply to the networks (named with their suffixes), not to OpenCV."""
    if spec in OPENCV_METHODS:
        flag, description = OPENCV_METHODS[spec]
        return OpenCVMethod(spec, flag, description)
    check_mode(upscale)
    if spec is not None and spec.endswith(".onnx"):
        from pathlib import Path

        from ..inference.onnx_network import OnnxNetwork

        network = OnnxNetwork(spec, device=str(device))
        upscale = mode_for(upscale, network.fixed_size)
        suffix, how = _variant(upscale, flip_average)
        return OnnxMethod(Path(spec).name + suffix, network,
                          f"PTG-Fill {network.name} exported to ONNX ({network.info.weights} weights), "
                          f"onnxruntime: {spec}{how}", flip_average, upscale)
    from ..weights.resolve import load_model

    loaded = load_model(spec, device)
    suffix, how = _variant(upscale, flip_average)
    return PTGFillMethod(loaded.name + suffix, loaded.generator.prepare_for_inference(), device,
                         f"PTG-Fill {loaded.name} ({loaded.origin}: {loaded.source}){how}", flip_average, upscale)


def _variant(upscale: str, flip_average: bool) -> tuple[str, str]:
    """A network method's name suffix and the words its description ends with."""
    suffix, how = UPSCALE_VARIANTS[upscale]
    if flip_average:
        return suffix + FLIP_SUFFIX, how + ", each fill averaged with the mirrored one's"
    return suffix, how


def build_methods(specs: list[str | None], device: torch.device, flip_average: bool = False,
                  upscale: str = DEFAULT_UPSCALE) -> list[InpaintingMethod]:
    """The methods ``specs`` name, in order; names made unique with ``#2``, ``#3``..."""
    methods: list[InpaintingMethod] = []
    seen: dict[str, int] = {}
    for spec in specs:
        method = build_method(spec, device, flip_average, upscale)
        count = seen.get(method.name, 0) + 1
        seen[method.name] = count
        if count > 1:
            method.name = f"{method.name}#{count}"
        methods.append(method)
    return methods
