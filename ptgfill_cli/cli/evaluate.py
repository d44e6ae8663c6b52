"""The `ptgfill evaluate` command: options in, ``engine.evaluator.evaluate``, a table out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import PTGFillError
from ..evaluation.settings import FITS
from ..runtime.choices import DEFAULT_UPSCALE
from .options import Device, Quiet, Upscale, choices, json_flag, table_console, warn_deprecated

Fit = choices("Fit", FITS)

NO_MODEL = "none"


def command(
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="celeba-hq, ffhq, psv, places2 (their test splits), a folder or .txt list of images, or hf://datasets/owner/name\\[/folder]\\[@revision].", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Results folder (created; an earlier run there with the same settings is resumed).", show_default=False)] = None,
    data_root: Annotated[Optional[Path], typer.Option("--data-root", help="Where the named datasets are (default: $PTGFILL_DATA_ROOT, else ~/.local/share/ptgfill/datasets).", show_default=False)] = None,
    size: Annotated[int, typer.Option("--size", min=32, help="Evaluation size (square).")] = 256,
    fit: Annotated[Optional[Fit], typer.Option("--fit", help="crop (shorter side to SIZE, centre crop) or resize (whole image to SIZE x SIZE). Default: the dataset's (resize for psv, crop otherwise).", show_default=False)] = None,
    masks: Annotated[str, typer.Option("--masks", help="A mask folder (the NVIDIA test set, a make-masks set, or any masks), a make-masks kind drawn from --mask-seed (irregular, strokes, box, center, object, mix), or LaMa's thin, medium, thick (comma-separated) or lama.")] = "irregular",
    mask_seed: Annotated[int, typer.Option("--mask-seed", min=0, help="Seed of generated masks.")] = 0,
    buckets: Annotated[Optional[str], typer.Option("--buckets", help="Hole-ratio buckets to report, e.g. '10-20,20-30,30-40,40-50' (default: the six of 1-60 %).", show_default=False)] = None,
    by_border: Annotated[bool, typer.Option("--by-border", help="NVIDIA masks: report each bucket's border-free (N) and border (B) halves apart.")] = False,
    pair_stride: Annotated[int, typer.Option("--pair-stride", min=1, help="Image i gets mask (i * stride + offset) mod the bucket's size.")] = 1,
    pair_offset: Annotated[int, typer.Option("--pair-offset", min=0, help="See --pair-stride.")] = 0,
    pair_seed: Annotated[Optional[int], typer.Option("--pair-seed", min=0, help="Pair through a seeded permutation of each bucket's masks instead.", show_default=False)] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help="Replay the image/mask pairs of an earlier run's pairs.csv (with its --dataset and --masks).", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Evaluate only the first N images (of each bucket).", show_default=False)] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="PTG-Fill model: NAME, PATH, hf://owner/repo\\[/file]\\[@revision] or an exported FILE.onnx (onnxruntime); repeatable; 'none' for baselines only. Default: the installed default model.", show_default=False)] = None,
    model_short: Annotated[Optional[list[str]], typer.Option("-m", hidden=True)] = None,  # deprecated: -m is --mask in inpaint
    compare: Annotated[Optional[str], typer.Option("--compare", help="More methods on the same pairs, comma-separated: opencv-telea, opencv-ns, or other PTG-Fill weights.", show_default=False)] = None,
    flip_average: Annotated[bool, typer.Option("--flip-average", help="Average each PTG-Fill fill with the mirrored fill of the mirrored image (as inpaint --flip-average); those methods are named NAME+flip, so a run in the same OUTPUT without it resumes beside them.")] = False,
    upscale: Annotated[Upscale, typer.Option("--upscale", help="Fill PTG-Fill's thin-hole images enlarged 2x, as inpaint --upscale: auto (while the enlarged image has at most 512x512 pixels; named NAME+up), thin (any size; NAME+up-thin) or off (the network alone; NAME).")] = Upscale(DEFAULT_UPSCALE),
    metrics: Annotated[str, typer.Option("--metrics", help="psnr, ssim, l1, hole-psnr, lpips, fid (comma-separated) or all.")] = "all",
    lpips_weights: Annotated[Optional[list[Path]], typer.Option("--lpips-weights", help="LPIPS weights: torchvision's alexnet-owt-7be5be79.pth and/or the lpips v0.1 alex.pth heads (repeatable).", show_default=False)] = None,
    fid_weights: Annotated[Optional[Path], typer.Option("--fid-weights", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth.", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Cases per batch.")] = 8,
    device: Device = "auto",
    save_images: Annotated[bool, typer.Option("--save-images", help="Also write every filled image under OUTPUT/filled/.")] = False,
    grid_cases: Annotated[int, typer.Option("--grid-cases", min=0, help="Cases per bucket in comparison.png.")] = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier evaluation in OUTPUT instead of resuming it.")] = False,
    list_datasets: Annotated[bool, typer.Option("--list-datasets", help="Print the dataset catalogue (splits, where expected) and exit.")] = False,
    quiet: Quiet = False,
    json_output: Annotated[bool, json_flag("Print the results as JSON, nothing else.")] = False,
) -> None:
    """Score inpainting methods on an image set with a mask protocol.

    PSNR, SSIM, L1, hole PSNR, LPIPS and FID per hole-ratio bucket, for every method on the same image/mask pairs.

    Exit status: 0 when every case was evaluated, 1 when some failed, 2 for usage errors.
    """
    from ..evaluation.catalogue import describe_catalogue
    from ..data.mask_spec import parse_buckets

    if model_short:
        warn_deprecated("-m for --model", "--model (-m is --mask in inpaint)")
        model = [*(model or []), *model_short]
    if list_datasets:
        _print_catalogue(describe_catalogue(data_root), json_output)
        return
    if dataset is None or output is None:
        raise PTGFillError("give --dataset and --output (or --list-datasets)")
    fit = fit.value if fit else None
    if pairs is not None and (limit is not None or pair_seed is not None):
        raise PTGFillError("--pairs replays a pairing as it is: drop --limit and --pair-seed")
    try:
        ranges = parse_buckets(buckets) if buckets else None
    except ValueError as error:
        raise PTGFillError(f"--buckets: {error}") from None

    from ..evaluation.baselines import build_methods
    from ..runtime.device import resolve_device
    from ..evaluation.evaluator import evaluate
    from ..evaluation.metric_info import parse_metrics
    from ..evaluation.settings import EvaluationSettings

    target = resolve_device(device)
    chosen_metrics = parse_metrics(metrics)
    specs = _method_specs(model, compare, quiet or json_output)
    methods = build_methods(specs, target, flip_average, upscale.value)
    settings = EvaluationSettings(
        dataset=dataset, output=output, data_root=data_root, masks=masks, mask_seed=mask_seed,
        buckets=ranges, by_border=by_border, size=size, fit=fit, pair_stride=pair_stride,
        pair_offset=pair_offset, pair_seed=pair_seed, pairs_file=pairs, limit=limit, metrics=chosen_metrics,
        lpips_weights=tuple(lpips_weights or ()), fid_weights=fid_weights, batch_size=batch_size,
        save_images=save_images, grid_cases=grid_cases, overwrite=overwrite,
    )
    with _Progress(enabled=not (quiet or json_output)) as progress:
        result = evaluate(settings, methods, target, progress)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), default=str))
    elif not quiet:
        _print_result(result)
    if result.failures:
        typer.echo(f"ptgfill: {len(result.failures)} case(s) failed; see {output / 'metrics.md'}", err=True)
        raise typer.Exit(1)


def _method_specs(models: Optional[list[str]], compare: Optional[str], quiet: bool) -> list[str]:
    """PTG-Fill models first, then --compare; without --model, the default model if one is installed."""
    from ..weights.manifest import load_manifest

    extra = [part.strip() for part in (compare or "").split(",") if part.strip()]
    if models:
        chosen = [spec for spec in models if spec != NO_MODEL]
        return chosen + extra
    if load_manifest().default is not None:
        return [None, *extra]  # type: ignore[list-item]  # load_model(None): the default model
    if not extra:
        raise PTGFillError("no default PTG-Fill model is installed: pass --model NAME|PATH|hf://..., "
                           "or --model none with --compare opencv-telea,opencv-ns")
    if not quiet:
        typer.echo("ptgfill: no default PTG-Fill model is installed; evaluating the --compare methods only "
                   "(pass --model to add one)", err=True)
    return extra


class _Progress:
    """A Rich progress bar on stderr: cases done of all, time left."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("[bold]evaluate"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, total: int, done: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("evaluate", total=total, completed=done)

    def advance(self, count: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)


def _print_result(result: Any) -> None:
    from rich.table import Table

    from ..evaluation.report import long_table

    console = table_console()
    header, rows = long_table(result)
    run = result.run
    table = Table(title=f"{run['dataset']}: {run['images']} images at {run['size']}x{run['size']} ({run['fit']}), "
                        f"masks {run['masks'].get('protocol')}")
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index < 2 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for metric, note in result.notes.items():
        console.print(f"[dim]{metric}: {note}[/dim]", highlight=False)
    if result.cases_resumed:
        console.print(f"resumed: {result.cases_resumed} case(s) were already done", highlight=False)
    for name, path in result.files.items():
        console.print(f"{name}: {path}", highlight=False)


def _print_catalogue(entries: list[dict[str, object]], json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(entries))
        return
    from rich.table import Table

    table = Table(title="evaluation datasets")
    for column in ("name", "split", "images", "resolution (HxW)", "fit", "expected at", "present"):
        table.add_column(column)
    for entry in entries:
        table.add_row(str(entry["name"]), str(entry["split"]), str(entry["count"]), str(entry["resolution"]),
                      str(entry["fit"]), str(entry["expected_at"]), "yes" if entry["present"] else "no")
    table_console().print(table)
