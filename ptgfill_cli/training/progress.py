"""A Rich progress display for training: step, images/s, ETA and the latest losses."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainingProgress:
    def __init__(self, total_steps: int, start_step: int = 0) -> None:
        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task("train", total=total_steps, completed=start_step, status="")

    def __enter__(self) -> "TrainingProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def update(self, record: dict[str, float]) -> None:
        shown = {k: v for k, v in record.items() if k in ("loss_g", "loss_d", "hole", "images_per_s", "val_psnr")}
        status = "  ".join(f"{k}={v:.3g}" for k, v in shown.items())
        self.progress.update(self.task, completed=record["step"], **({"status": status} if status else {}))
