"""The devices and precisions a network can run on, named without importing torch (``--help``)."""

from __future__ import annotations

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")  # fp32, or autocast to bf16 / fp16
