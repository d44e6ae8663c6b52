"""The summary table: means per method and bucket over a run's finished cases, FID from their
Inception features."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import metrics as pixel_metrics
from .baselines import InpaintingMethod
from .mask_protocol import MaskProtocol, Pair
from .networks import PerceptualNetworks
from .output import slug
from .results import SummaryRow
from .store import TRUTH_KEY, ResultStore



def summarise(
    store: ResultStore, methods: Sequence[InpaintingMethod], pairs: Sequence[Pair], protocol: MaskProtocol,
    metrics: Sequence[str], networks: PerceptualNetworks,
) -> list[SummaryRow]:
    """Means per method and bucket over this run's finished cases; FID from their features."""
    cases_by_bucket: dict[str, list[Pair]] = {}
    for pair in pairs:
        cases_by_bucket.setdefault(pair.bucket, []).append(pair)
    rows = []
    for method in methods:
        for bucket in protocol.buckets:
            logged = [(pair, store.rows[(method.name, pair.case)]) for pair in cases_by_bucket.get(bucket.name, [])
                      if (method.name, pair.case) in store.rows]
            values: dict[str, float | None] = {}
            for metric in metrics:
                if metric == "fid":
                    values[metric] = _bucket_fid(store, method.name, [pair for pair, _ in logged], networks)
                elif metric == "lpips" and networks.lpips is None:
                    values[metric] = None
                else:
                    numbers = [float(row[metric]) for _, row in logged if row.get(metric, "") != ""]
                    values[metric] = float(np.mean(numbers)) if numbers else None
            ratios = [float(row["hole_ratio"]) for _, row in logged]
            rows.append(SummaryRow(method.name, bucket.name, bucket.label, len(logged),
                                   float(np.mean(ratios)) if ratios else math.nan, values))
    return rows


def _bucket_fid(store: ResultStore, method: str, pairs: Sequence[Pair], networks: PerceptualNetworks) -> float | None:
    if networks.fid is None or len(pairs) < 2:
        return None
    filled = store.features.get(slug(method), {})
    truth = store.features.get(TRUTH_KEY, {})
    usable = [pair for pair in pairs if pair.case in filled and pair.image in truth]
    if len(usable) < 2:
        return None
    return pixel_metrics.frechet_distance_of_samples(
        np.stack([filled[pair.case] for pair in usable]), np.stack([truth[pair.image] for pair in usable]))
