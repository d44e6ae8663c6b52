"""The `ptgfill export` command: a model as an ONNX file for onnxruntime and other runtimes."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..errors import PTGFillError


class Format(str, Enum):
    onnx = "onnx"


class Quantize(str, Enum):
    none = "none"
    dynamic = "dynamic"


def command(
    model: Optional[str] = typer.Argument(None, metavar="[MODEL]", help="NAME|PATH|hf://owner/repo\\[/file]\\[@revision], as --model takes it (default: the default model)."),
    output: Path = typer.Option(..., "--output", "-o", help="The file to write, e.g. model.onnx."),
    format: Format = typer.Option(Format.onnx, "--format", help="Export format."),
    size: Optional[str] = typer.Option(None, "--size", help="A fixed input size, N or HEIGHTxWIDTH in multiples of 32 (default: dynamic height, width and batch)."),
    fp16: bool = typer.Option(False, "--fp16", help="Half-precision weights and arithmetic (float32 inputs and outputs)."),
    quantize: Quantize = typer.Option(Quantize.none, "--quantize", help="8-bit weights: 'dynamic' (onnxruntime's dynamic quantisation of the transformer's matrices; the convolutions stay float, as 8-bit ones spoil the fill)."),
    opset: int = typer.Option(17, "--opset", min=13, help="ONNX opset."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON line."),
) -> None:
    """Export a model's generator to ONNX (inputs image and known, outputs refined and coarse; see the file's metadata)."""
    from ..data.mask_spec import parse_size
    from ..export.onnx_export import export_onnx

    if fp16 and quantize is not Quantize.none:
        raise PTGFillError("--fp16 and --quantize are alternatives: pick one")
    try:
        fixed_size = parse_size(size) if size else None
    except ValueError as error:
        raise PTGFillError(f"--size: {error}") from None
    weights = "fp16" if fp16 else "int8" if quantize is Quantize.dynamic else "fp32"
    result = export_onnx(model, output, fixed_size=fixed_size, weights=weights, opset=opset, overwrite=overwrite)
    summary = {
        "output": str(result.path), "model": result.info.name, "format": format.value, "weights": weights,
        "opset": opset, "fixed_size": list(fixed_size) if fixed_size else None, "bytes": result.bytes,
        "max_difference": result.max_difference, "check_size": list(result.check_size),
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    sizes = f"fixed {fixed_size[0]}x{fixed_size[1]} (HxW)" if fixed_size else "dynamic size and batch"
    typer.echo(
        f"exported {result.info.name} to {result.path} ({result.bytes / 1e6:.1f} MB, {weights} weights, {sizes}); "
        f"onnxruntime vs PyTorch on a {result.check_size[0]}x{result.check_size[1]} check: "
        f"max difference {result.max_difference * 255:.3g} grey levels",
        err=True,
    )
