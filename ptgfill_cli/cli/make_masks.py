"""The `ptgfill make-masks` command: write a set of hole masks in hole-ratio buckets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..data.mask_spec import MASK_KINDS, MAX_SIDE, MIN_SIDE, parse_border, parse_buckets, parse_size
from .options import choices, table_console, warn_deprecated

Kind = choices("Kind", MASK_KINDS)
PROTOCOL_BUCKETS = "1-10,10-20,20-30,30-40,40-50,50-60"


def command(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder to write the masks and manifest.json/.csv into.", show_default=False),
    out_dir: Optional[Path] = typer.Argument(None, hidden=True, show_default=False),  # the old positional form of --output
    kind: Kind = typer.Option("irregular", "--kind", help="Mask generator; 'mix' picks one per mask."),
    count: int = typer.Option(100, "--count", min=1, help="Masks per bucket."),
    size: str = typer.Option("512", "--size", help=f"N for NxN, or HEIGHTxWIDTH such as 384x512 (sides from {MIN_SIDE} to {MAX_SIDE})."),
    buckets: str = typer.Option(
        PROTOCOL_BUCKETS, "--buckets", help="Hole-ratio ranges LO-HI, in percent or as fractions (0.1-0.2)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Same seed, same files."),
    border: str = typer.Option("0", "--border", help="Hole-free border in pixels, or 'auto' (50 px at 512)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into a non-empty folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary to stdout."),
) -> None:
    """Write PNG hole masks (white = hole) in hole-ratio buckets, with their measured ratios."""
    from ..data import masks
    from ..errors import PTGFillError, SettingError

    if out_dir is not None:
        if output is not None:
            raise PTGFillError("give the folder once: --output DIR")
        warn_deprecated("the folder as a positional argument", "--output DIR (or -o), as every command")
    out_dir = output or out_dir
    if out_dir is None:
        raise PTGFillError("give --output DIR: the folder to write the masks into")

    try:
        height, width = parse_size(size)
    except ValueError as error:
        raise PTGFillError(f"--size: {error}") from None
    try:
        records = masks.write_mask_set(
            out_dir, kind.value, count, parse_buckets(buckets), (height, width),
            seed, parse_border(border, height, width), overwrite,
        )
    except SettingError:
        raise
    except ValueError as error:
        raise PTGFillError(str(error)) from None
    except OSError as error:
        raise PTGFillError(f"{out_dir}: {error.strerror or error}") from None
    summary = masks.bucket_summary(records)
    if as_json:
        typer.echo(json.dumps({
            "out_dir": str(out_dir), "manifest": str(out_dir / masks.MANIFEST_JSON), "kind": kind.value,
            "count": len(records), "height": height, "width": width, "seed": seed,
            "border": records[0].border, "buckets": summary,
        }))
    elif not quiet:
        _print_table(summary, out_dir)


def _print_table(summary: list[dict], out_dir: Path) -> None:
    from rich.table import Table

    table = Table(title=f"masks written to {out_dir}")
    for column in ("bucket %", "masks", "mean hole %", "min %", "max %"):
        table.add_column(column, justify="right")
    for row in summary:
        table.add_row(row["bucket"], str(row["count"]), *(
            f"{row[key] * 100:.2f}" for key in ("mean_hole_ratio", "min_hole_ratio", "max_hole_ratio")
        ))
    table_console().print(table)
