"""A PTG-Fill generator in PyTorch as the network an Inpainter runs (the default backend)."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import SettingError
from ..models.generator import PTGFillGenerator
from ..runtime.device import resolve_device
from ..runtime.precision import AUTOCAST_DTYPES, compiled_for_inference


class TorchNetwork:
    """``generate(image, known)`` on numpy batches through a generator on ``device``,
    under autocast ``precision``, optionally ``torch.compile``\\ d."""

    backend = "torch"
    fixed_size: tuple[int, int] | None = None  # any multiple of size_multiple

    def __init__(
        self,
        generator: PTGFillGenerator,
        *,
        device: str | torch.device | None = None,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool = False,
    ) -> None:
        if precision not in AUTOCAST_DTYPES:
            raise SettingError("precision", f"must be one of {', '.join(AUTOCAST_DTYPES)}, not {precision!r}")
        self.device = next(generator.parameters()).device if device is None else resolve_device(device)
        if precision == "fp16" and self.device.type == "cpu":
            raise SettingError("precision", "fp16 does not run on the CPU (its activations overflow to NaN "
                                            "there); use fp32 or bf16")
        if channels_last is None:  # measured faster on CPU (`ptgfill benchmark`); GPUs vary
            channels_last = self.device.type == "cpu"
        self.generator = generator.to(self.device).prepare_for_inference(channels_last=channels_last)
        self.precision = precision
        self._module = compiled_for_inference(self.generator) if compile else self.generator

    @property
    def size_multiple(self) -> int:
        return self.generator.config.size_multiple

    @property
    def runs_on_cpu(self) -> bool:
        return self.device.type == "cpu"

    def generate(self, image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(refined, coarse) float32 (B, 3, H, W) for image (B, 3, H, W) in [0, 1] and
        known (B, 1, H, W), 1 = known."""
        image_tensor, known_tensor = torch.from_numpy(image), torch.from_numpy(known)
        if self.device.type == "cuda":  # page-locked, so the copies can run asynchronously
            image_tensor, known_tensor = image_tensor.pin_memory(), known_tensor.pin_memory()
        dtype = AUTOCAST_DTYPES[self.precision]
        with torch.inference_mode(), torch.autocast(self.device.type, dtype, enabled=dtype is not None):
            output = self._module(
                image_tensor.to(self.device, non_blocking=True), known_tensor.to(self.device, non_blocking=True)
            )
        return output.refined.float().cpu().numpy(), output.coarse.float().cpu().numpy()
