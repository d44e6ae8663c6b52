"""``ptgfill export --format onnx``: the generator's inference form as an ONNX file.

The exported graph is the one ``ptgfill inpaint`` runs (gated convolutions in their
two-convolution form, low-resolution upsampled convolutions, folded attention
projections, one-channel masks), traced with dynamic batch, height and width unless a
fixed size is asked for. The file names its inputs and outputs and carries the model's
config and card in its metadata (``onnx_metadata``), so ``--backend onnxruntime`` and
other programs know its conventions. fp16 and 8-bit weights are conversions of the
fp32 graph by onnxruntime's own tools; inputs and outputs stay float32. 8-bit is dynamic
quantisation of the transformer bridger's matrix products only (see ``_convert``).
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import replace_atomically
from ..errors import PTGFillError
from ..weights.resolve import load_model
from ..models.generator import PTGFillGenerator
from .onnx_metadata import INPUT_DOCS, INPUT_NAMES, OUTPUT_DOCS, OUTPUT_NAMES, WEIGHT_TYPES, OnnxModelInfo

DEFAULT_OPSET = 17
TRACE_SIDE = 256  # the sample input of a dynamic-size export


@dataclass(frozen=True)
class ExportedOnnx:
    path: Path
    info: OnnxModelInfo
    bytes: int
    max_difference: float  # onnxruntime against PyTorch on a check input, in [0, 1] units
    check_size: tuple[int, int]


class _InferenceForm(nn.Module):
    """The generator with a tuple output, as ONNX has no dataclasses."""

    def __init__(self, generator: PTGFillGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.generator(image, known)
        return output.refined, output.coarse


def export_onnx(
    model: str | None,
    output: str | Path,
    *,
    fixed_size: tuple[int, int] | None = None,
    weights: str = "fp32",
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
) -> ExportedOnnx:
    """Export ``model`` (a NAME, PATH or hf:// as ``--model`` takes it; None: the default)
    to ``output``, written atomically, then check it on onnxruntime against PyTorch."""
    output = Path(output)
    if weights not in WEIGHT_TYPES:
        raise PTGFillError(f"weights must be one of {', '.join(WEIGHT_TYPES)}, not {weights!r}")
    if output.exists() and not overwrite:
        raise PTGFillError(f"{output}: exists; pass --overwrite to replace it")
    if not output.parent.is_dir():
        raise PTGFillError(f"{output.parent}: no such folder")
    loaded = load_model(model, device="cpu")
    info = OnnxModelInfo(loaded.name, loaded.config, weights, fixed_size, loaded.card)
    export_generator_onnx(loaded.generator, info, output, opset=opset)
    # a dynamic export is checked at a size it was not traced at
    check_size = fixed_size or (TRACE_SIDE + loaded.config.size_multiple, TRACE_SIDE - loaded.config.size_multiple)
    difference = _compare(_InferenceForm(loaded.generator).eval(), output, check_size)
    return ExportedOnnx(output, info, output.stat().st_size, difference, check_size)


def export_generator_onnx(
    generator: PTGFillGenerator, info: OnnxModelInfo | str, output: str | Path, *, opset: int = DEFAULT_OPSET
) -> Path:
    """Write ``generator`` (prepared for inference, on the CPU) to ``output`` as ONNX, atomically.
    ``info``: the file's metadata, or just a name (fp32, dynamic size, no card)."""
    output = Path(output)
    if isinstance(info, str):
        info = OnnxModelInfo(info, generator.config, "fp32", None)
    multiple = generator.config.size_multiple
    fixed_size = info.fixed_size
    if fixed_size is not None and any(side < 2 * multiple or side % multiple for side in fixed_size):
        raise PTGFillError(
            f"--size {fixed_size[0]}x{fixed_size[1]}: each side must be a multiple of {multiple}, at least {2 * multiple}"
        )
    # A copy in the contiguous layout (the exporter cannot follow channels-last through
    # instance norm), leaving the caller's generator as it is; eval() on the wrapper too,
    # as the exporter restores the wrapper's mode, recursively, afterwards.
    generator = copy.deepcopy(generator).cpu().prepare_for_inference(channels_last=False)
    network = _InferenceForm(generator).eval().requires_grad_(False)
    sample = _check_input(fixed_size or (TRACE_SIDE, TRACE_SIDE), batch=1)
    with tempfile.TemporaryDirectory(prefix="ptgfill-export-") as folder:
        traced = Path(folder) / "traced.onnx"
        _trace(network, sample, traced, dynamic_size=fixed_size is None, opset=opset)
        final = _convert(traced, info.weights, Path(folder))
        graph = _with_metadata(final, info, opset)
        replace_atomically(output, lambda temporary: temporary.write_bytes(graph))
    return output


def _check_input(size: tuple[int, int], batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth image with fine detail and a mix of holes, the same every time."""
    generator = torch.Generator().manual_seed(0)
    height, width = size
    rows = torch.linspace(0, 1, height)[:, None]
    cols = torch.linspace(0, 1, width)[None, :]
    base = torch.stack([rows * cols, rows.expand(height, width), cols.expand(height, width)])
    image = (0.8 * base + 0.2 * torch.rand(batch, 3, height, width, generator=generator)).clamp(0, 1)
    known = (torch.rand(batch, 1, height // 8, width // 8, generator=generator) > 0.3).float()
    return image, nn.functional.interpolate(known, size=size)


def _trace(network: nn.Module, sample: tuple[torch.Tensor, torch.Tensor], path: Path, *, dynamic_size: bool, opset: int) -> None:
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # TracerWarnings about Python conditions on shapes: each takes the same branch at
        # every size the size rule allows (checked by the parity tests at other sizes).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network, sample, str(path), input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: axes for name in (*INPUT_NAMES, *OUTPUT_NAMES)},
            opset_version=opset, dynamo=False, do_constant_folding=True,
        )


def _convert(traced: Path, weights: str, folder: Path) -> Path:
    if weights == "fp32":
        return traced
    import onnx

    converted = folder / f"{weights}.onnx"
    if weights == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        # keep_io_types: float32 in and out, so callers need not know
        onnx.save(convert_float_to_float16(onnx.load(str(traced)), keep_io_types=True), str(converted))
    else:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        graph = onnx.load(str(traced))
        _constants_as_initializers(graph)
        initialised = folder / "initialised.onnx"
        onnx.save(graph, str(initialised))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its pre-processing hint
            # The bridger's matrices only: 8-bit convolutions (ConvInteger, per tensor or per
            # channel, mask sums kept float or not) put the fill 20 grey levels off on average.
            quantize_dynamic(str(initialised), str(converted), weight_type=QuantType.QUInt8,
                             op_types_to_quantize=["MatMul"])
    return converted


def _constants_as_initializers(graph) -> None:
    """Turn Constant nodes (the folded weights of the inference form) into initializers,
    the only weights onnxruntime's quantiser recognises."""
    from onnx import numpy_helper

    kept = []
    for node in graph.graph.node:
        value = next((attribute.t for attribute in node.attribute if attribute.name == "value"), None)
        if node.op_type == "Constant" and value is not None:
            graph.graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(value), node.output[0]))
        else:
            kept.append(node)
    del graph.graph.node[:]
    graph.graph.node.extend(kept)


def _with_metadata(path: Path, info: OnnxModelInfo, opset: int) -> bytes:
    import onnx

    graph = onnx.load(str(path))
    del graph.metadata_props[:]
    for key, value in {**info.to_metadata(), "ptgfill.opset": str(opset)}.items():
        graph.metadata_props.add(key=key, value=value)
    graph.producer_name = "ptgfill"
    graph.doc_string = (
        f"PTG-Fill inpainting generator {info.name!r} ({info.weights} weights), exported by ptgfill. "
        f"Sizes: {info.to_metadata()['ptgfill.sizes']}."
    )
    docs = {**INPUT_DOCS, **OUTPUT_DOCS}
    for value in (*graph.graph.input, *graph.graph.output):
        value.doc_string = docs.get(value.name, "")
    return graph.SerializeToString()


def _compare(network: nn.Module, path: Path, size: tuple[int, int]) -> float:
    from ..inference.onnx_network import OnnxNetwork

    image, known = _check_input(size, batch=2)
    with torch.no_grad():
        expected = network(image, known)
    onnx_network = OnnxNetwork(path, device="cpu")
    actual = onnx_network.generate(image.numpy(), known.numpy())
    return float(max(np.abs(a - e.numpy()).max() for a, e in zip(actual, expected)))
