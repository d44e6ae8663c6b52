"""What an evaluation returns: the summary table, its failures, the comparison sheet's cases."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .mask_protocol import MaskBucket



@dataclass
class SummaryRow:
    """The means of one method over one bucket."""

    method: str
    bucket: str
    label: str
    count: int
    mean_hole_ratio: float
    values: dict[str, float | None]

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "bucket": self.bucket, "label": self.label, "count": self.count,
                "mean_hole_ratio": self.mean_hole_ratio, **self.values}


@dataclass
class Failure:
    method: str
    case: str
    image: str
    error: str


@dataclass
class EvaluationResult:
    """Everything a report needs: the run, the methods, the table, the notes and the files."""

    output: Path
    run: dict[str, object]
    methods: list[dict[str, str]]
    buckets: list[MaskBucket]
    metrics: tuple[str, ...]
    rows: list[SummaryRow]
    notes: dict[str, str]
    failures: list[Failure] = field(default_factory=list)
    cases_evaluated: int = 0
    cases_resumed: int = 0
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "output": str(self.output), "run": self.run, "methods": self.methods,
            "buckets": [asdict(bucket) for bucket in self.buckets], "metrics": list(self.metrics),
            "rows": [row.to_dict() for row in self.rows], "notes": self.notes,
            "failures": [asdict(failure) for failure in self.failures],
            "cases_evaluated": self.cases_evaluated, "cases_resumed": self.cases_resumed, "files": self.files,
        }


@dataclass
class GridRow:
    label: str
    columns: list[np.ndarray]  # (H, W, 3) uint8: input with holes, each method, original


@dataclass
class ComparisonGrid:
    titles: list[str]
    rows: list[GridRow]
