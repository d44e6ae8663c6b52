"""The `ptgfill inpaint` command: plan the jobs, load the model, run, report."""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Iterator, Optional

import typer

from ..errors import PTGFillError
from ..runtime.choices import DEFAULT_UPSCALE
from ..runtime.memory import DEFAULT_MAX_PIXELS
from .messages import error_line
from .options import Device, Precision, PrecisionChoice, Quiet, Upscale, json_flag

if TYPE_CHECKING:  # pragma: no cover
    from ..inference.batch import FileResult


class Strategy(str, Enum):
    auto = "auto"
    original = "original"
    resize = "resize"
    crop = "crop"


class Backend(str, Enum):
    # engine.inpainter.BACKENDS
    torch = "torch"
    onnxruntime = "onnxruntime"


class OutputFormat(str, Enum):
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"
    bmp = "bmp"
    same = "same"


def command(
    images: Annotated[
        list[str],
        typer.Argument(help="Image files, folders or glob patterns; - reads one image from standard input.", show_default=False),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", show_default=False,
            help="Output folder (created), a file name for a single image, or - for standard output.",
        ),
    ],
    mask: Annotated[
        Optional[Path],
        typer.Option(
            "--mask", "-m", show_default=False,
            help="Mask file for every image, or a folder of masks paired with the images by "
            "file stem (photo.jpg: photo.* or photo_mask.*). White = hole.",
        ),
    ] = None,
    alpha_mask: Annotated[
        bool,
        typer.Option("--alpha-mask", help="Use each image's alpha channel as its mask (transparent = hole)."),
    ] = False,
    invert_mask: Annotated[
        bool, typer.Option("--invert-mask", help="Mask files mark holes in black instead of white.")
    ] = False,
    dilate: Annotated[
        int,
        typer.Option(
            "--dilate", min=0,
            help="Grow every hole by N pixels before filling (object outlines drawn tight leave "
            "the object's edge behind); pixels outside the grown hole stay exact.",
        ),
    ] = 0,
    flip_average: Annotated[
        bool,
        typer.Option(
            "--flip-average",
            help="Average each fill with the mirrored fill of the mirrored image: closer to the "
            "truth on average (measured in the model card) for twice the network time.",
        ),
    ] = False,
    upscale: Annotated[
        Upscale,
        typer.Option(
            "--upscale",
            help="Thin holes (scratches, strokes) are filled on the working image enlarged 2x, "
            "sharper at their edges (measured in the model card): auto while the enlarged image "
            "has at most 512x512 pixels, thin at any size (up to 8x the time, and at 512x512 it lost "
            "with the bundled model: see its card), off never.",
        ),
    ] = Upscale(DEFAULT_UPSCALE),
    model: Annotated[
        Optional[str],
        typer.Option(
            "--model", show_default=False,
            help="Model name, weights path, or hf://owner/repo\\[/file]\\[@revision]. "
            "Default: the installed default model.",
        ),
    ] = None,
    device: Device = "auto",
    strategy: Annotated[
        Strategy,
        typer.Option(
            "--strategy",
            help="Working image: original (whole, padded), resize (whole, scaled down to "
            "--max-side), crop (around the holes), auto (original up to --max-side, else crop).",
        ),
    ] = Strategy.auto,
    max_side: Annotated[
        int,
        typer.Option("--max-side", min=32, help="Longest side the network works on for auto, resize and crop."),
    ] = 1024,  # engine.working.DEFAULT_MAX_SIDE, not imported: --help stays light
    crop_margin: Annotated[
        int,
        typer.Option(
            "--crop-margin", min=0,
            help="Context around the holes for crop, in pixels (at least half the holes' extent).",
        ),
    ] = 128,  # engine.working.DEFAULT_CROP_MARGIN
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", min=1, help="Images of one working size per network batch.")
    ] = 1,
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels", min=0,
            help="Images and masks with more pixels fail unread (a 10000x10000 photo takes about 3.7 GB to fill); "
                 "0: no limit.",
        ),
    ] = DEFAULT_MAX_PIXELS,
    precision: PrecisionChoice = Precision.fp32,
    threads: Annotated[
        Optional[int],
        typer.Option(
            "--threads", min=1, show_default=False,
            help="CPU threads for the network (default: the backend's choice, one per core); "
            "lower it when running several ptgfill processes side by side.",
        ),
    ] = None,
    backend: Annotated[
        Backend,
        typer.Option(
            "--backend",
            help="torch, or onnxruntime to run an ONNX file made by `ptgfill export` "
            "(--model FILE.onnx; needs no PyTorch).",
        ),
    ] = Backend.torch,
    compile_model: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="torch.compile the network: pays off over many images of one working size "
            "(each new size compiles again, tens of seconds on a CPU).",
        ),
    ] = False,
    output_format: Annotated[
        Optional[OutputFormat],
        typer.Option(
            "--format", show_default=False,
            help="Output format; default png, or the suffix of an output file name.",
        ),
    ] = None,
    name: Annotated[
        Optional[str],
        typer.Option(
            "--name", show_default=False,
            help="Output file names in a folder, from {stem} and {ext}, e.g. '{stem}_filled.{ext}' "
            "(default '{stem}.{ext}').",
        ),
    ] = None,
    suffix: Annotated[
        Optional[str],
        typer.Option("--suffix", show_default=False, help="Shorthand for --name '{stem}SUFFIX.{ext}', e.g. _filled."),
    ] = None,
    quality: Annotated[int, typer.Option("--quality", min=1, max=100, help="JPEG and WebP quality.")] = 95,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing outputs instead of failing those images.")
    ] = False,
    skip_existing: Annotated[
        bool,
        typer.Option("--skip-existing", help="Leave images whose outputs exist alone: resumes an interrupted batch."),
    ] = False,
    recursive: Annotated[
        bool,
        typer.Option("--recursive", "-r", help="Image folders' subfolders too; the output mirrors their tree, "
                                               "and a mask folder's matching subfolder is looked in first."),
    ] = False,
    save_coarse: Annotated[
        bool, typer.Option("--save-coarse", help="Also write the coarse network's fill as {stem}_coarse.")
    ] = False,
    quiet: Quiet = False,
    json_lines: Annotated[bool, json_flag("Print one JSON object per image on stdout, nothing else.")] = False,
) -> None:
    """Fill the holes of IMAGES, marked by --mask or by their alpha channel.

    Pixels outside the holes are copied from the input unchanged.

    Exit status: 0 all filled, 1 some failed (the others are written), 2 usage error.
    """
    from ..inference.batch import FileOptions, inpaint_files, plan_files
    from ..inference.inpainter import Inpainter

    report = _Report(quiet=quiet, json_lines=json_lines)
    with ExitStack() as cleanup:
        try:
            spool = None
            if "-" in (*images, str(output)):  # standard streams go through files the pipeline can use
                spool = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ptgfill-stdio-")))
            images, written = _through_files(images, output, output_format, json_lines, spool)
            options = FileOptions(
                output=written, mask=mask, alpha_mask=alpha_mask, invert_mask=invert_mask, name=name, suffix=suffix,
                output_format=None if output_format is None else output_format.value, quality=quality,
                overwrite=overwrite, skip_existing=skip_existing, recursive=recursive, save_coarse=save_coarse,
                max_pixels=max_pixels or None,
            )
            plan = plan_files(images, options)
            inpainter = Inpainter.from_pretrained(
                model, device=device, backend=backend.value, threads=threads, strategy=strategy.value,
                max_side=max_side, crop_margin=crop_margin, batch_size=batch_size, dilate=dilate,
                flip_average=flip_average, upscale=upscale.value, precision=precision.value, compile=compile_model,
            )
        except PTGFillError as error:
            report.usage_error(error)
            raise typer.Exit(2) from None

        with report.progress(len(plan.jobs)) as advance:
            for result in inpaint_files(inpainter, plan):
                report.add(result)
                advance()
        report.summary()
        if written != output and not report.failures:
            sys.stdout.buffer.write(written.read_bytes())
            sys.stdout.buffer.flush()
    raise typer.Exit(1 if report.failures else 0)


def _through_files(
    images: list[str], output: Path, output_format: Optional[OutputFormat], json_lines: bool, spool: Optional[Path]
) -> tuple[list[str], Path]:
    """The images and output file to run on: ``-`` as the image is standard input spooled into
    ``spool``; ``-o -`` is a file there whose bytes go to standard output afterwards."""
    if spool is None:
        return images, output
    if images == ["-"]:
        images = [str(_spooled_stdin(spool))]
    elif "-" in images:
        raise PTGFillError("'-' (standard input) must be the only image")
    if str(output) != "-":
        return images, output
    if json_lines:
        raise PTGFillError("-o - writes the image to standard output, where --json would go too: drop one")
    if len(images) != 1 or Path(images[0]).is_dir():
        raise PTGFillError("-o - (standard output) takes exactly one image")
    return images, spool / f"stdout.{'png' if output_format in (None, OutputFormat.same) else output_format.value}"


def _spooled_stdin(spool: Path) -> Path:
    """Standard input's bytes as a file named for their format (so that ``same`` keeps it)."""
    from PIL import Image, UnidentifiedImageError

    from ..data.image_io import PIL_FORMATS

    data = sys.stdin.buffer.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            pil_format = image.format
    except (UnidentifiedImageError, OSError):
        raise PTGFillError("standard input: not an image in a known format") from None
    canonical = {name: ours for ours, name in PIL_FORMATS.items()}.get(pil_format, "png")
    path = spool / f"stdin.{canonical}"
    path.write_bytes(data)
    return path


class _Report:
    """What the user sees: JSON lines on stdout, or human lines and a progress bar on stderr."""

    def __init__(self, *, quiet: bool, json_lines: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.json_lines = json_lines
        self.verbose = not quiet and not json_lines
        self.results: list[FileResult] = []
        self.failures: list[FileResult] = []
        self.started = time.perf_counter()
        self.progress_shown = False

    def usage_error(self, error: PTGFillError) -> None:
        self.console.print(error_line(error), markup=False, style="red")

    @contextmanager
    def progress(self, total: int) -> Iterator[Callable[[], None]]:
        self.progress_shown = self.verbose and total > 1 and self.console.is_terminal
        if not self.progress_shown:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("inpainting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task("inpainting", total=total)
            yield lambda: bar.advance(task)

    def add(self, result: FileResult) -> None:
        self.results.append(result)
        if self.json_lines:
            typer.echo(json.dumps(result.to_dict()))
        if not result.ok:
            self.failures.append(result)
            self.console.print(f"error: {result.error}", markup=False, style="red")
        elif self.verbose and not self.progress_shown:
            self.console.print(_describe(result), markup=False)
        if result.ok and result.fill is not None and result.fill.note:  # shown even with --quiet
            typer.echo(f"ptgfill: warning: {result.job.image_path}: {result.fill.note}", err=True)

    def summary(self) -> None:
        if not self.verbose or len(self.results) < 2:
            return
        seconds = time.perf_counter() - self.started
        skipped = sum(result.skipped for result in self.results)
        filled = len(self.results) - len(self.failures) - skipped
        kept = f" ({skipped} skipped: their outputs exist)" if skipped else ""
        if not self.failures:
            self.console.print(f"filled {filled} images in {seconds:.1f} s{kept}", markup=False)
            return
        self.console.print(
            f"filled {filled} of {len(self.results)} images in {seconds:.1f} s{kept}; "
            f"{len(self.failures)} failed:",
            markup=False,
            style="red",
        )
        for failure in self.failures:
            self.console.print(f"  {failure.error}", markup=False)


def _describe(result: FileResult) -> str:
    if result.skipped:
        return f"{result.job.image_path} -> {result.job.output_path} (exists, skipped)"
    fill = result.fill
    assert fill is not None  # described only when it succeeded
    if fill.strategy == "copy":
        how = "no hole, copied"
    else:  # sizes as everywhere in ptgfill: HEIGHTxWIDTH
        sizes = ", ".join(f"{height}x{width}" for height, width in fill.working_sizes)
        if fill.strategy == "original":
            padded = [(fill.height, fill.width)] != [tuple(size) for size in fill.working_sizes]
            network = f"whole image, working {sizes}" + (f" (padded from {fill.height}x{fill.width})" if padded else "")
        elif fill.strategy == "resize":
            network = f"whole image resized to {sizes}"
        else:
            count = len(fill.working_sizes)
            network = f"{count} crop{'s' if count > 1 else ''} around the holes, {sizes}"
        if fill.upscaled:
            network += ", enlarged 2x for thin holes"
        how = f"hole {100 * fill.hole_ratio:.1f}%, {network}"
    return f"{result.job.image_path} -> {result.job.output_path} ({how}, {result.seconds:.2f} s)"
