"""The resumable record of a run: ``per_image.csv`` and ``fid-features/``, read on start and
appended to as batches finish."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..atomic import replace_atomically
from ..errors import EvaluationError
from .mask_protocol import Pair
from .output import FEATURES_DIR, PER_IMAGE_FILE, slug

TRUTH_KEY = "truth"
_CASE_FIELDS: tuple[str, ...] = ("method", "case", "bucket", "image_index", "image", "mask", "hole_ratio")


class ResultStore:
    """``per_image.csv`` and ``fid-features/`` of one output folder, read on start and
    appended to as batches finish (features first, so a logged case has its features)."""

    def __init__(self, output: Path, metric_columns: Sequence[str], keep_features: bool) -> None:
        self.output = output
        self.columns = list(_CASE_FIELDS) + list(metric_columns)
        self.keep_features = keep_features
        self.rows: dict[tuple[str, str], dict[str, str]] = {}
        self.features: dict[str, dict[str, np.ndarray]] = {}
        self._chunk = 0
        self._read()

    @property
    def log_path(self) -> Path:
        return self.output / PER_IMAGE_FILE

    def _read(self) -> None:
        if self.log_path.is_file():
            with open(self.log_path, newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                if reader.fieldnames != self.columns:
                    raise EvaluationError(
                        f"{self.log_path}: its columns ({', '.join(reader.fieldnames or [])}) are not this "
                        f"run's ({', '.join(self.columns)}); use another --output or --overwrite"
                    )
                for row in reader:
                    self.rows[(row["method"], row["case"])] = row
        features_dir = self.output / FEATURES_DIR
        if self.keep_features and features_dir.is_dir():
            for chunk in sorted(features_dir.glob("*/*.npz")):
                with np.load(chunk) as data:
                    store = self.features.setdefault(chunk.parent.name, {})
                    store.update(zip(data["keys"].tolist(), data["features"]))
                self._chunk = max(self._chunk, int(chunk.stem) + 1)

    def is_done(self, method: str, pair: Pair) -> bool:
        row = self.rows.get((method, pair.case))
        if row is None:
            return False
        if row["image"] != pair.image or row["mask"] != pair.mask:
            raise EvaluationError(
                f"{self.log_path}: case {pair.case} of {method} was {row['image']} with mask {row['mask']}, "
                f"now it is {pair.image} with {pair.mask}; use another --output or --overwrite"
            )
        if self.keep_features and pair.case not in self.features.get(slug(method), {}):
            return False  # interrupted between writing features and the log
        return True

    def add_features(self, owner: str, keys: Sequence[str], features: np.ndarray) -> None:
        folder = self.output / FEATURES_DIR / slug(owner)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self._chunk:07d}.npz"
        self._chunk += 1
        def write(temporary: Path) -> None:
            with open(temporary, "wb") as handle:  # a file object: savez would add ".npz" to a name
                np.savez(handle, keys=np.array(list(keys)), features=features.astype(np.float32))

        replace_atomically(path, write)
        self.features.setdefault(slug(owner), {}).update(zip(keys, features.astype(np.float32)))

    def add_rows(self, rows: Iterable[dict[str, object]]) -> None:
        rows = list(rows)
        is_new = not self.log_path.is_file()
        with open(self.log_path, "a", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=self.columns, lineterminator="\n")
            if is_new:
                writer.writeheader()
            for row in rows:
                text = {key: _cell(row.get(key)) for key in self.columns}
                writer.writerow(text)
                self.rows[(str(row["method"]), str(row["case"]))] = text
            file.flush()
            os.fsync(file.fileno())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)
