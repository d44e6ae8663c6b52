"""An exported ONNX file (``ptgfill export``) run by onnxruntime as an Inpainter's network.

No torch here: with the ``onnxruntime`` install extra the whole inpainting pipeline runs
where PyTorch is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PTGFillError, WeightsError, first_line
from ..export.onnx_metadata import INPUT_NAMES, OnnxModelInfo

DEVICES = ("auto", "cpu", "cuda")


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise PTGFillError(
            "onnxruntime is not installed: pip install 'ptgfill[onnxruntime]'"
        ) from None
    return onnxruntime


def execution_providers(device: str) -> list[str]:
    """onnxruntime's providers for ``device``: auto (CUDA when onnxruntime has it, else the
    CPU), cpu or cuda (an error where onnxruntime has no CUDA provider)."""
    available = import_onnxruntime().get_available_providers()
    device = device.strip().lower()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("auto", "cuda") or device.startswith("cuda:"):
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if device == "auto":
            return ["CPUExecutionProvider"]
        raise PTGFillError(
            f"device {device}: this onnxruntime has no CUDA provider (it has {', '.join(available)}); "
            "install onnxruntime-gpu or use cpu"
        )
    raise PTGFillError(f"unknown device {device!r} for onnxruntime; use {', '.join(DEVICES)}")


class OnnxNetwork:
    """``generate(image, known)`` through an onnxruntime session of a ptgfill ONNX file.
    A file exported at a fixed size gets every input padded to that size (known pixels
    mirrored in) and its output cut back."""

    backend = "onnxruntime"

    def __init__(self, path: str | Path, *, device: str = "auto", threads: int | None = None) -> None:
        onnxruntime = import_onnxruntime()
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"{path}: no such ONNX file")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: its warnings are about its own fusions
        providers = execution_providers(device)
        try:
            self.session = onnxruntime.InferenceSession(os.fspath(path), options, providers=providers)
        except Exception as error:  # onnxruntime raises its own unrelated exception types
            raise WeightsError(f"{path}: onnxruntime cannot load it ({first_line(error)})") from None
        self.info = OnnxModelInfo.from_metadata(self.session.get_modelmeta().custom_metadata_map, str(path))
        names = tuple(node.name for node in self.session.get_inputs())
        if names != INPUT_NAMES:
            raise WeightsError(f"{path}: inputs are {', '.join(names)}, not {', '.join(INPUT_NAMES)}")
        self.path = path
        self.name = self.info.name
        self.fixed_size = self.info.fixed_size

    @property
    def size_multiple(self) -> int:
        return self.info.size_multiple

    @property
    def runs_on_cpu(self) -> bool:
        return self.session.get_providers()[0] == "CPUExecutionProvider"

    def generate(self, image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[-2:]
        if self.fixed_size is not None and (height, width) != self.fixed_size:
            image, known = _pad_to(image, known, self.fixed_size)
        feed = {"image": np.ascontiguousarray(image, np.float32), "known": np.ascontiguousarray(known, np.float32)}
        try:
            refined, coarse = self.session.run(None, feed)
        except Exception as error:  # onnxruntime's own exception types
            if "alloc" in str(error).lower():
                raise MemoryError(first_line(error)) from None
            raise
        return refined[..., :height, :width], coarse[..., :height, :width]


def _pad_to(image: np.ndarray, known: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[-2:]
    if height > size[0] or width > size[1]:
        raise PTGFillError(f"a {height}x{width} working image does not fit the model's fixed {size[0]}x{size[1]}")
    pad = ((0, 0), (0, 0), (0, size[0] - height), (0, size[1] - width))
    # symmetric, not reflect: reflect cannot pad by more than the side minus one
    return np.pad(image, pad, mode="symmetric"), np.pad(known, pad, mode="symmetric")
