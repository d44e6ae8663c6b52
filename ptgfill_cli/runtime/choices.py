"""How a network may run (devices, precisions, thin-hole upscaling), named without importing torch,
numpy or OpenCV (``--help``)."""

from __future__ import annotations

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")  # fp32, or autocast to bf16 / fp16

UPSCALE_MODES: tuple[str, ...] = ("auto", "thin", "off")  # see inference.upscale
DEFAULT_UPSCALE = "auto"
