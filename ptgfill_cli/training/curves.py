"""Training curves from a run's ``log.jsonl``: losses and validation scores against images seen."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import replace_atomically
from ..plotting import draw_line_panels, draw_value_table

PANELS = (
    ("val_psnr", "validation PSNR (dB, composite)"),
    ("val_ssim", "validation SSIM (composite)"),
    ("loss_g", "generator loss"),
    ("hole", "hole L1"),
)


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def curve_points(records: list[dict], key: str, window: int = 10) -> list[tuple[float, float]]:
    """(thousands of images seen, value); training losses are averaged over ``window`` log
    records, since single batches are noisy. A resumed run may log a step twice: the last wins."""
    by_images = {r["images_seen"]: r[key] for r in records if key in r}
    points = sorted(by_images.items())
    if key.startswith("val_") or window <= 1:
        return [(images / 1000, value) for images, value in points]
    averaged = []
    for start in range(0, len(points), window):
        chunk = points[start : start + window]
        averaged.append((chunk[-1][0] / 1000, sum(v for _, v in chunk) / len(chunk)))
    return averaged


def write_training_curves(log_path: str | Path, out_path: str | Path) -> Path | None:
    """A PNG of every panel the log has data for; None when it has none."""
    records = read_log(log_path)
    panels = []
    for key, title in PANELS:
        points = curve_points(records, key)
        if points:
            panels.append((title, {"run": points}))
    if not panels:
        return None
    if all(len(series["run"]) == 1 for _, series in panels):  # a line of one point says nothing
        rows = [(title, f"{series['run'][0][1]:.4g}") for title, series in panels]
        images = panels[0][1]["run"][0][0]
        chart = draw_value_table(f"after {images * 1000:,.0f} images (one logged point)", rows)
    else:
        chart = draw_line_panels(panels, ["run"], "images seen (thousands)")
    return replace_atomically(out_path, lambda temporary: chart.save(temporary, format="PNG"))
