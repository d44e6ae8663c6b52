"""Training curves: charts for a run with a history, a table for a run of one logged point."""

from __future__ import annotations

import json

from PIL import Image

from ptgfill_cli.training.curves import write_training_curves


def _log(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def test_one_point_per_panel_is_a_table_and_a_history_is_charts(tmp_path):
    _log(tmp_path / "one.jsonl", [{"step": 1, "images_seen": 8, "loss_g": 0.5, "hole": 0.02,
                                   "val_psnr": 24.1, "val_ssim": 0.8}])
    table = Image.open(write_training_curves(tmp_path / "one.jsonl", tmp_path / "one.png"))
    history = [{"step": s, "images_seen": 8 * s, "loss_g": 1 / s, "hole": 0.1 / s} for s in range(1, 40)]
    history += [{"step": s, "images_seen": 8 * s, "val_psnr": 20 + s / 10, "val_ssim": 0.5} for s in (10, 20, 30)]
    _log(tmp_path / "many.jsonl", history)
    charts = Image.open(write_training_curves(tmp_path / "many.jsonl", tmp_path / "many.png"))
    assert table.height < 200 < charts.height  # four rows of text, against two rows of panels
    assert table.width < charts.width
