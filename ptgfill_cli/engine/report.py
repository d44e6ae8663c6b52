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
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..atomic import replace_atomically, write_text_atomically

if TYPE_CHECKING:  # pragma: no cover
    from .evaluator import ComparisonGrid, EvaluationResult

METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
METRICS_MD = "metrics.md"
GRID_PNG = "comparison.png"
CHART_PNG = "metrics_vs_hole_ratio.png"
DECIMALS: dict[str, int] = {"psnr": 2, "ssim": 4, "l1": 2, "hole_psnr": 2, "lpips": 4, "fid": 2}
MAX_GRID_CELL = 256
MIN_GRID_CELL = 160
_COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def format_value(metric: str, value: float | None) -> str:
    """A metric value as tables show it; ``n/a`` for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{DECIMALS.get(metric, 3)}f}"


def write_reports(result: EvaluationResult, grid: ComparisonGrid | None) -> dict[str, str]:
    """Write the tables, the sheet and the chart into ``result.output``; returns name -> path."""
    out = result.output
    files = {
        "metrics_csv": _write_text(out / METRICS_CSV, metrics_csv(result)),
        "metrics_md": _write_text(out / METRICS_MD, metrics_markdown(result)),
        "per_image_csv": str(out / "per_image.csv"),
        "pairs_csv": str(out / "pairs.csv"),
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
    from .evaluator import HIGHER_IS_BETTER, METRIC_LABELS

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
        from .evaluator import METRIC_LABELS

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


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def draw_grid(grid: ComparisonGrid) -> Image.Image:
    """Columns input | methods | original, one row per case with its label above it."""
    height, width = grid.rows[0].columns[0].shape[:2]
    # Large images shrink to MAX_GRID_CELL; small ones grow (nearest) to MIN_GRID_CELL, to be seen.
    scale = min(1.0, MAX_GRID_CELL / max(height, width))
    scale = max(scale, MIN_GRID_CELL / max(height, width))
    cell_h, cell_w = max(1, round(height * scale)), max(1, round(width * scale))
    gap, title_h, label_h = 4, 22, 18
    font, small = _font(14), _font(12)
    sheet = Image.new("RGB", (len(grid.titles) * (cell_w + gap) + gap,
                              title_h + len(grid.rows) * (label_h + cell_h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(grid.titles):
        draw.text((gap + column * (cell_w + gap) + 2, 3), _fitted(draw, title, cell_w - 4, font),
                  fill="black", font=font)
    for number, row in enumerate(grid.rows):
        top = title_h + number * (label_h + cell_h + gap)
        draw.text((gap + 2, top + 2), _fitted(draw, row.label, sheet.width - 2 * gap, small),
                  fill=(60, 60, 60), font=small)
        for column, array in enumerate(row.columns):
            tile = Image.fromarray(array)
            if tile.size != (cell_w, cell_h):
                shrinking = cell_w < tile.width
                tile = tile.resize((cell_w, cell_h), Image.Resampling.BOX if shrinking else Image.Resampling.NEAREST)
            sheet.paste(tile, (gap + column * (cell_w + gap), top + label_h))
    return sheet


def _fitted(draw: ImageDraw.ImageDraw, text: str, width: float,
            font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> str:
    """``text``, cut short with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high - low <= 1e-12 * max(abs(low), abs(high), 1e-300):
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [number * step for number in range(first, max(last, first + 1) + 1)]


def draw_chart(result: EvaluationResult) -> Image.Image | None:
    """One panel per metric with values: the metric against the buckets' mean hole ratio (%),
    one line per method. None when no metric has a value or no bucket a hole ratio."""
    from .evaluator import HIGHER_IS_BETTER, METRIC_LABELS

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


def draw_line_panels(
    panels: Sequence[tuple[str, dict[str, list[tuple[float, float]]]]], series_names: Sequence[str],
    x_label: str,
) -> Image.Image:
    """Line charts, two panels a row, one line per series, a shared legend on top."""
    panel_w, panel_h, columns = 460, 330, min(2, len(panels))
    legend_h = 30
    rows = math.ceil(len(panels) / columns)
    chart = Image.new("RGB", (columns * panel_w, legend_h + rows * panel_h), "white")
    draw = ImageDraw.Draw(chart)
    font, small = _font(14), _font(12)
    x = 10
    for number, name in enumerate(series_names):
        colour = _COLOURS[number % len(_COLOURS)]
        draw.line((x, 15, x + 24, 15), fill=colour, width=3)
        _marker(draw, x + 12, 15, number, colour)
        draw.text((x + 30, 7), name, fill="black", font=font)
        x += 40 + int(draw.textlength(name, font=font)) + 16
    for index, (title, series) in enumerate(panels):
        left = (index % columns) * panel_w
        top = legend_h + (index // columns) * panel_h
        _draw_panel(draw, (left, top, left + panel_w, top + panel_h), title, series, series_names,
                    font, small, x_label)
    return chart


def _draw_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str,
                series: dict[str, list[tuple[float, float]]], methods: Sequence[str],
                font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
                small: ImageFont.ImageFont | ImageFont.FreeTypeFont, x_label: str) -> None:
    left, top, right, bottom = box
    plot = (left + 64, top + 36, right - 18, bottom - 48)
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x_low, x_high = x_ticks[0], x_ticks[-1]
    y_low, y_high = y_ticks[0], y_ticks[-1]

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        px = plot[0] + (x - x_low) / (x_high - x_low) * (plot[2] - plot[0])
        py = plot[3] - (y - y_low) / (y_high - y_low) * (plot[3] - plot[1])
        return px, py

    draw.text((left + 64, top + 10), title, fill="black", font=font)
    for tick in y_ticks:
        _, py = to_pixel(x_low, tick)
        draw.line((plot[0], py, plot[2], py), fill=(232, 232, 232))
        draw.line((plot[0] - 4, py, plot[0], py), fill="black")
        text = _tick_text(tick, y_ticks)
        draw.text((plot[0] - 8 - draw.textlength(text, font=small), py - 7), text, fill="black", font=small)
    for tick in x_ticks:
        px, _ = to_pixel(tick, y_low)
        draw.line((px, plot[3], px, plot[3] + 4), fill="black")
        text = _tick_text(tick, x_ticks)
        draw.text((px - draw.textlength(text, font=small) / 2, plot[3] + 7), text, fill="black", font=small)
    draw.rectangle(plot, outline="black")
    label = x_label
    draw.text(((plot[0] + plot[2] - draw.textlength(label, font=small)) / 2, plot[3] + 26), label,
              fill="black", font=small)
    for number, method in enumerate(methods):
        if method not in series:
            continue
        colour = _COLOURS[number % len(_COLOURS)]
        pixels = [to_pixel(x, y) for x, y in series[method]]
        if len(pixels) > 1:
            draw.line(pixels, fill=colour, width=2)
        for px, py in pixels:
            _marker(draw, px, py, number, colour)


def _tick_text(value: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{decimals}f}"


def _marker(draw: ImageDraw.ImageDraw, x: float, y: float, number: int, colour: tuple[int, int, int]) -> None:
    r = 4
    shape = number % 3
    if shape == 0:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == 1:
        draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
    else:
        draw.polygon(((x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)), fill=colour)
