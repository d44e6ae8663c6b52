"""The `ptgfill benchmark` command: generator speed beside the straightforward computation."""

from __future__ import annotations

import json
from typing import Annotated, List, Optional

import typer

from ..benchmark_settings import check_benchmark_settings, range_text
from .inpaint import Backend
from .options import Attention, Device, Precision, PrecisionChoice, json_flag, table_console, warn_deprecated, with_range


def command(
    model: Optional[List[str]] = typer.Option(None, "--model", help="Preset (paper, base, lite) or NAME|PATH|hf://...; repeatable (default: lite).", show_default=False),
    model_short: Optional[List[str]] = typer.Option(None, "-m", hidden=True),  # deprecated: -m is --mask in inpaint
    size: List[int] = typer.Option([256, 512], "--size", help=with_range("Square input size; repeatable.", range_text("size"))),
    batch_size: List[int] = typer.Option([1], "--batch-size", "-b", help=with_range("Batch size; repeatable.", range_text("batch_size"))),
    device: Device = "auto",
    precision: PrecisionChoice = Precision.fp32,
    attention: Optional[Attention] = typer.Option(None, help="For presets: the bridger's attention (default: per-token for paper, as the authors' checkpoints; else tokens)."),
    warmup: int = typer.Option(2, help=with_range("Untimed runs first.", range_text("warmup"))),
    repeats: int = typer.Option(5, help=with_range("Timed runs; the median is reported.", range_text("repeats"))),
    compare: bool = typer.Option(True, help="Also time the straightforward published computation and OpenCV Telea."),
    compile_model: bool = typer.Option(False, "--compile", help="torch.compile the generator (compile time reported), timed beside the eager one."),
    backend: List[Backend] = typer.Option([Backend.torch], "--backend", help="torch, and onnxruntime to also time the generator exported to ONNX (fp32, CPU) in the same run; repeatable."),
    channels_last: Optional[bool] = typer.Option(None, "--channels-last/--no-channels-last", show_default=False, help="Channels-last memory format (default: on for CPU, as inpaint)."),
    inpaint_path: bool = typer.Option(True, help="Also time the whole inpaint path (decode to encode), overlapped and serial."),
    flip_average: bool = typer.Option(False, "--flip-average", help="Also time the inpaint path with inpaint --flip-average (two network passes per image), even with --no-inpaint-path."),
    path_images: int = typer.Option(4, help=with_range("Images per timed run of the inpaint path.", range_text("path_images"))),
    threads: Optional[int] = typer.Option(None, help=f"CPU threads of torch and onnxruntime, {range_text('threads')} (default: their choice, one per core)."),
    peak_gflops: Optional[float] = typer.Option(None, min=0.001, help="The device's peak GFLOP/s at this precision (its spec sheet): adds the fraction of peak reached."),
    json_output: Annotated[bool, json_flag("Print the results as JSON.")] = False,
) -> None:
    """Time the generator; ratios against the other implementations come from the same run."""
    import torch

    from ..runtime.allocator import allocator_state
    from ..benchmark import (
        benchmark_generator, benchmark_inpaint_path, load_benchmark_model, onnx_network_for, speedups,
    )
    from ..runtime.device import resolve_device

    if model_short:
        warn_deprecated("-m for --model", "--model (-m is --mask in inpaint)")
    model = [*(model or []), *(model_short or [])] or ["lite"]
    attention = attention.value if attention else None
    check_benchmark_settings(sizes=size, batch_sizes=batch_size, warmup=warmup, repeats=repeats, threads=threads,
                             attention=attention, path_images=path_images)
    precision = precision.value
    if threads:
        torch.set_num_threads(threads)
    target = resolve_device(device)
    path_variants = [{"overlap": overlap} for overlap in ((True, False) if compare else (True,))] if inpaint_path else []
    if flip_average:
        path_variants.append({"flip_average": True})
    results = []
    for position, spec in enumerate(model):
        generator, name = load_benchmark_model(spec, attention)
        onnx_network = onnx_network_for(generator, threads) if Backend.onnxruntime in backend else None
        for s in size:
            for b in batch_size:
                results += benchmark_generator(
                    generator, name, s, b, target, precision=precision, warmup=warmup, repeats=repeats,
                    compare=compare, compile_model=compile_model, channels_last=channels_last,
                    telea=compare and position == 0, onnx_network=onnx_network,
                )
            for variant in path_variants:
                results.append(benchmark_inpaint_path(
                    generator, name, s, target, precision=precision, images=path_images, warmup=1,
                    repeats=repeats, channels_last=channels_last, compile_model=compile_model, **variant,
                ))
    ratios = speedups(results)
    if json_output:
        rows = [r.to_dict() for r in results]
        if peak_gflops:
            for row in rows:
                rate = row["gflop_per_s"]
                row["fraction_of_peak"] = None if rate is None else rate / peak_gflops
        typer.echo(json.dumps({
            "torch": torch.__version__, "threads": torch.get_num_threads(), "allocator": allocator_state(),
            "peak_gflops": peak_gflops, "results": rows, "speedups": ratios,
        }))
        return
    _print(results, ratios, torch.get_num_threads(), allocator_state(), peak_gflops)


def _print(results, ratios, threads: int, allocator: str, peak_gflops: Optional[float]) -> None:
    from rich.table import Table

    table = Table(
        title=f"generator timings ({threads} CPU threads, allocator {allocator}; median of repeats; "
        "inpaint path: seconds per image)"
    )
    columns = ["implementation", "model", "size", "batch", "precision", "median s", "spread s", "img/s", "GFLOP",
               "GFLOP/s"]
    if peak_gflops:
        columns.append("of peak")
    for column in (*columns, "peak MB", "max |diff|"):
        table.add_column(column, justify="right")
    for r in results:
        diff = "" if r.max_abs_diff_vs_straightforward is None else f"{r.max_abs_diff_vs_straightforward:.1e}"
        memory = "" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}"
        rate = r.gflop_per_s
        arithmetic = ["", ""] if rate is None else [f"{r.gflop:.1f}", f"{rate:.0f}"]
        if peak_gflops:
            arithmetic.append("" if rate is None else f"{rate / peak_gflops:.0%}")
        table.add_row(r.implementation, r.model, str(r.size), str(r.batch_size), r.precision,
                      f"{r.median_s:.4f}", f"{r.min_s:.4f}-{r.max_s:.4f}", f"{r.images_per_s:.2f}", *arithmetic,
                      memory, diff)
    console = table_console()
    console.print(table)
    if allocator == "keep-freed" and results and results[0].device == "cpu":
        console.print("peak MB: the process's resident high-water mark (freed memory is kept); "
                      "PTGFILL_ALLOCATOR=default measures each case on its own.")
    if ratios:
        ratio_table = Table(title="ptgfill speed-up (same run, same inputs)")
        for column in ("model", "size", "batch", "versus", "speed-up"):
            ratio_table.add_column(column, justify="right")
        for row in ratios:
            ratio_table.add_row(row["model"], str(row["size"]), str(row["batch_size"]), row["versus"], f"{row['speedup']:.2f}x")
        console.print(ratio_table)
