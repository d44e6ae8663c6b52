"""The comparison sheet's cases: a few per bucket, filled again by every method."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..data.grids import to_uint8, with_holes_shown
from ..data.masks import hole_ratio
from .baselines import InpaintingMethod
from .cases import CaseLoader, case_tensors
from .mask_protocol import MaskProtocol, Pair
from .results import ComparisonGrid, GridRow
from .scoring import composite_of



def grid_cases(pairs: Sequence[Pair], protocol: MaskProtocol, per_bucket: int, failed: set[str]) -> list[Pair]:
    """``per_bucket`` cases of each bucket, on different images from bucket to bucket."""
    chosen: list[Pair] = []
    for number, bucket in enumerate(protocol.buckets):
        cases = [p for p in pairs if p.bucket == bucket.name and p.case not in failed]
        picks = sorted({(number * per_bucket + j) % len(cases) for j in range(per_bucket)}) if cases else []
        chosen += [cases[index] for index in picks]
    return chosen


def grid_columns(pairs: Sequence[Pair], methods: Sequence[InpaintingMethod], loader: CaseLoader) -> ComparisonGrid | None:
    """The comparison sheet's cases, filled again by every method (deterministic, and cheap
    for a few cases; a resumed run has no composites in memory)."""
    cases = [case for case in (loader.load(pair) for pair in pairs) if not isinstance(case, str)]
    if not cases:
        return None
    truth, known = case_tensors(cases)
    shown_input = with_holes_shown(truth, known)
    columns = [shown_input]
    titles = ["input"]
    for method in methods:
        try:
            columns.append(composite_of(method, truth, known))
        except (RuntimeError, ValueError):
            columns.append(torch.ones_like(truth))  # its failure is already in the results
        titles.append(method.name)
    columns.append(truth)
    titles.append("original")
    arrays = [to_uint8(column) for column in columns]
    labels = {bucket.name: bucket.label for bucket in loader.protocol.buckets}
    rows = [
        GridRow(f"{labels[case.pair.bucket]} | {hole_ratio(case.hole) * 100:.1f} % | {Path(case.pair.image).name}",
                [array[index] for array in arrays])
        for index, case in enumerate(cases)
    ]
    return ComparisonGrid(titles, rows)
