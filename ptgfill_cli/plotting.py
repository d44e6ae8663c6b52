"""Drawing with Pillow: fonts, text that fits, round ticks, and line charts of several
panels (evaluation charts and training curves)."""

from __future__ import annotations

import math
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

SERIES_COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
                  (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def fitted_text(draw: ImageDraw.ImageDraw, text: str, width: float,
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
    font, small = load_font(14), load_font(12)
    x = 10
    for number, name in enumerate(series_names):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
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
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
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


def draw_value_table(title: str, rows: Sequence[tuple[str, str]]) -> Image.Image:
    """A two-column table of labels and values: what a chart of single points would say."""
    font, small = load_font(14), load_font(13)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(probe.textlength(label, font=small) for label, _ in rows)
    value_w = max(probe.textlength(value, font=small) for _, value in rows)
    width = int(max(label_w + value_w + 60, probe.textlength(title, font=font) + 20))
    table = Image.new("RGB", (width, 40 + 22 * len(rows)), "white")
    draw = ImageDraw.Draw(table)
    draw.text((10, 8), title, fill="black", font=font)
    for number, (label, value) in enumerate(rows):
        y = 34 + 22 * number
        draw.line((10, y - 3, width - 10, y - 3), fill=(225, 225, 225))
        draw.text((10, y), label, fill="black", font=small)
        draw.text((width - 10 - probe.textlength(value, font=small), y), value, fill="black", font=small)
    return table
