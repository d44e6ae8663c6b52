"""Writing an evaluation's results: ``metrics.csv`` / ``metrics.json`` / ``metrics.md`` (one
row per method and bucket, with counts), the comparison sheet ``comparison.png`` (input |
each method | original, a few cases per bucket) and ``metrics_vs_hole_ratio.png`` (each
metric against the buckets' mean hole ratio, one line per method), drawn with Pillow.

``per_image.csv`` and ``pairs.csv`` are written by the evaluator as it goes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import replace_atomically, write_text_atomically
from ..plotting import draw_line_panels, fitted_text, load_font
from .metric_info import HIGHER_IS_BETTER, METRIC_LABELS, format_value
from .output import CHART_PNG, GRID_PNG, METRICS_CSV, METRICS_JSON, METRICS_MD, PAIRS_FILE, PER_IMAGE_FILE
from .results import ComparisonGrid, EvaluationResult

MAX_GRID_CELL = 256
MIN_GRID_CELL = 160


def write_reports(result: EvaluationResult, grid: ComparisonGrid | None) -> dict[str, str]:
    """Write the tables, the sheet and the chart into ``result.output``; returns name -> path."""
    out = result.output
    files = {
        "metrics_csv": _write_text(out / METRICS_CSV, metrics_csv(result)),
        "metrics_md": _write_text(out / METRICS_MD, metrics_markdown(result)),
        "per_image_csv": str(out / PER_IMAGE_FILE),
        "pairs_csv": str(out / PAIRS_FILE),
    }
    if grid is not None and grid.rows:
        files["comparison_png"] = _save_png(draw_grid(grid), out / GRID_PNG)
    chart = draw_chart(result)
    if chart is not None:
        files["chart_png"] = _save_png(chart, out / CHART_PNG)
    result.files = files
    files["metrics_json"] = str(out / METRICS_JSON)
    _write_text(out / METRICS_JSON, json.dumps(result.to_dict(), indent=1, default=_json_default) + "\n")
    return files


def _json_default(value: object) -> object:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_text(path: Path, text: str) -> str:
    return str(write_text_atomically(path, text))


def _save_png(image: Image.Image, path: Path) -> str:
    return str(replace_atomically(path, lambda temporary: image.save(temporary, format="PNG")))


# ---------------------------------------------------------------------------
# Tables


def metrics_csv(result: EvaluationResult) -> str:
    """One row per method and bucket: counts, mean hole ratio, and each metric's mean (empty: n/a)."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["method", "bucket", "label", "count", "mean_hole_ratio", *result.metrics])
    for row in result.rows:
        values = ["" if row.values.get(m) is None else repr(float(row.values[m])) for m in result.metrics]  # type: ignore[arg-type]
        writer.writerow([row.method, row.bucket, row.label, row.count, repr(row.mean_hole_ratio), *values])
    return table.getvalue()


def _header(metric: str) -> str:
    return f"{METRIC_LABELS[metric]} {'↑' if HIGHER_IS_BETTER[metric] else '↓'}"


def long_table(result: EvaluationResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the method x bucket table (as printed and in metrics.md)."""
    header = ["method", "bucket", "n", "hole %", *(_header(m) for m in result.metrics)]
    rows = [
        [row.method, row.label, str(row.count),
         "n/a" if math.isnan(row.mean_hole_ratio) else f"{row.mean_hole_ratio * 100:.1f}",
         *(format_value(m, row.values.get(m)) for m in result.metrics)]
        for row in result.rows
    ]
    return header, rows


def metrics_markdown(result: EvaluationResult) -> str:
    """The run, the method x bucket table, one paper-style table per metric, and the notes."""
    run = result.run
    methods = ", ".join(f"`{method['name']}` ({method['description']})" for method in result.methods)
    lines = [
        "# Evaluation",
        "",
        f"- dataset: `{run.get('dataset')}` ({run.get('split')}), {run.get('images')} images, "
        f"{run.get('size')}x{run.get('size')} by `{run.get('fit')}`",
        f"- masks: {_describe_masks(run.get('masks'))}; pairing: {_describe_pairing(run.get('pairing'))} "
        "(`pairs.csv`)",
        f"- methods: {methods}",
        "- metrics on the composite (known pixels put back) rounded to 8 bits, against the original",
        "",
    ]
    header, rows = long_table(result)
    lines += _markdown_table(header, rows, numeric_from=2)
    for metric in result.metrics:
        methods = list(dict.fromkeys(row.method for row in result.rows))
        labels = [bucket.label for bucket in result.buckets]
        values = {(row.method, row.label): row.values.get(metric) for row in result.rows}
        lines += ["", f"## {_header(metric)}", ""]
        lines += _markdown_table(
            ["method", *labels],
            [[method, *(format_value(metric, values.get((method, label))) for label in labels)] for method in methods],
            numeric_from=1,
        )
    if result.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {METRIC_LABELS.get(metric, metric)}: {note}" for metric, note in result.notes.items()]
    if result.failures:
        lines += ["", f"## Failures ({len(result.failures)})", ""]
        lines += [f"- {f.method} {f.case} ({f.image}): {f.error}" for f in result.failures[:50]]
    return "\n".join(lines) + "\n"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _describe_masks(masks: object) -> str:
    if not isinstance(masks, dict):
        return str(masks)
    details = {k: v for k, v in masks.items() if k not in ("protocol", "buckets", "folder") and v is not None}
    where = f" from `{masks['folder']}`" if masks.get("folder") else ""
    settings = ", ".join(f"{k} {v}" for k, v in details.items())
    return f"{masks.get('protocol')}{where}" + (f" ({settings})" if settings else "")


def _describe_pairing(pairing: object) -> str:
    if not isinstance(pairing, dict):
        return str(pairing)
    if "replayed_from" in pairing:
        return f"replayed from `{pairing['replayed_from']}`"
    if pairing.get("seed") is not None:
        return f"seeded permutation per bucket (seed {pairing['seed']})"
    return f"image i gets mask (i x {pairing.get('stride')} + {pairing.get('offset')}) mod bucket size"


# ---------------------------------------------------------------------------
# Drawing


def draw_grid(grid: ComparisonGrid) -> Image.Image:
    """Columns input | methods | original, one row per case with its label above it."""
    height, width = grid.rows[0].columns[0].shape[:2]
    # Large images shrink to MAX_GRID_CELL; small ones grow (nearest) to MIN_GRID_CELL, to be seen.
    scale = min(1.0, MAX_GRID_CELL / max(height, width))
    scale = max(scale, MIN_GRID_CELL / max(height, width))
    cell_h, cell_w = max(1, round(height * scale)), max(1, round(width * scale))
    gap, title_h, label_h = 4, 22, 18
    font, small = load_font(14), load_font(12)
    sheet = Image.new("RGB", (len(grid.titles) * (cell_w + gap) + gap,
                              title_h + len(grid.rows) * (label_h + cell_h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(grid.titles):
        draw.text((gap + column * (cell_w + gap) + 2, 3), fitted_text(draw, title, cell_w - 4, font),
                  fill="black", font=font)
    for number, row in enumerate(grid.rows):
        top = title_h + number * (label_h + cell_h + gap)
        draw.text((gap + 2, top + 2), fitted_text(draw, row.label, sheet.width - 2 * gap, small),
                  fill=(60, 60, 60), font=small)
        for column, array in enumerate(row.columns):
            tile = Image.fromarray(array)
            if tile.size != (cell_w, cell_h):
                shrinking = cell_w < tile.width
                tile = tile.resize((cell_w, cell_h), Image.Resampling.BOX if shrinking else Image.Resampling.NEAREST)
            sheet.paste(tile, (gap + column * (cell_w + gap), top + label_h))
    return sheet


def draw_chart(result: EvaluationResult) -> Image.Image | None:
    """One panel per metric with values: the metric against the buckets' mean hole ratio (%),
    one line per method. None when no metric has a value or no bucket a hole ratio."""
    methods = list(dict.fromkeys(row.method for row in result.rows))
    panels = []
    for metric in result.metrics:
        series = {}
        for method in methods:
            points = sorted(
                (row.mean_hole_ratio * 100, float(row.values[metric]))  # type: ignore[arg-type]
                for row in result.rows
                if row.method == method and row.values.get(metric) is not None and not math.isnan(row.mean_hole_ratio)
            )
            if points:
                series[method] = points
        if series:
            direction = "higher is better" if HIGHER_IS_BETTER[metric] else "lower is better"
            panels.append((f"{METRIC_LABELS[metric]} ({direction})", series))
    if not panels:
        return None
    return draw_line_panels(panels, methods, "hole ratio (%, mean per bucket)")
