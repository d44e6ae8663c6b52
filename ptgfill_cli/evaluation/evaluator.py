"""Evaluating inpainting methods on an image set with a mask protocol, as papers report it.

``evaluate(settings, methods)`` runs every method on the same image/mask pairs, scores
each filled image against its original, and writes the results (see ``report``).

Per case (one image, one mask, one method):

1. The image is brought to the evaluation size (``fit_image``) and stored as 8 bits; the
   mask is resized with nearest neighbour; ``known`` = 1 outside the holes.
2. The method fills it; the known pixels are put back: ``known * image + (1 - known) * filled``.
3. The composite is rounded to 8 bits, as a saved image is, and compared with the
   original: PSNR, SSIM and L1 (%) over the whole image, PSNR over the holes, LPIPS; the
   Inception features of both are kept for FID.

Tables give means per method and bucket with their counts; FID is computed per method
and bucket between the composites and the originals of that bucket's cases.

Results are appended to ``per_image.csv`` (and FID features to ``fid-features/``) as
each batch finishes, so an interrupted run started again with the same settings and
output folder skips the cases already done.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import torch

from ..data.masks import hole_ratio
from ..atomic import unwritable_reason
from ..errors import EvaluationError, SettingError, first_line
from . import report
from .baselines import InpaintingMethod
from .cases import Case, CaseLoader, case_tensors
from .catalogue import EvalDataset, resolve_dataset
from .grid import grid_cases, grid_columns
from .mask_protocol import MaskProtocol, Pair, open_mask_protocol, pair_images, read_pairs, write_pairs
from .metric_info import PIXEL_METRICS
from .networks import PerceptualNetworks, fid_features, load_perceptual_networks
from .output import FILLED_DIR, PAIRS_FILE, RUN_FILE, RUN_FORMAT, prepare_output, save_composites, slug, write_json
from .results import EvaluationResult, Failure
from .scoring import composite_of, score_batch
from .settings import EvaluationSettings
from .store import TRUTH_KEY, ResultStore
from .summary import summarise



class EvaluationProgress(Protocol):
    def start(self, total: int, done: int) -> None: ...

    def advance(self, count: int) -> None: ...


def evaluate(
    settings: EvaluationSettings,
    methods: Sequence[InpaintingMethod],
    device: torch.device | str = "cpu",
    progress: EvaluationProgress | None = None,
) -> EvaluationResult:
    """Run ``methods`` on the settings' image/mask pairs, write the results into
    ``settings.output`` and return them (see the module docstring)."""
    if not methods:
        raise EvaluationError("nothing to evaluate: give --model and/or --compare methods")
    if settings.size < 32:
        raise SettingError("size", f"must be at least 32, not {settings.size}")
    if settings.batch_size < 1:
        raise SettingError("batch_size", f"must be at least 1, not {settings.batch_size}")
    device = torch.device(device)
    size = settings.size
    for method in methods:
        method.check_size(size, size)
    unwritable = unwritable_reason(settings.output)
    if unwritable is not None:
        raise EvaluationError(f"{settings.output}: cannot write the results there ({unwritable})")
    protocol = open_mask_protocol(settings.masks, (size, size), settings.mask_seed, settings.buckets,
                                  settings.by_border)
    replayed = read_pairs(settings.pairs_file, protocol) if settings.pairs_file is not None else None
    # A replay needs the images its pairs name: for a catalogue set, the first N of the split.
    limit = settings.limit if replayed is None else max(pair.image_index for pair in replayed) + 1
    dataset = resolve_dataset(settings.dataset, settings.data_root, limit)
    fit = settings.fit or dataset.default_fit
    pairs = _plan_pairs(settings, dataset, protocol, replayed)
    networks = load_perceptual_networks(settings.metrics, settings.lpips_weights, settings.fid_weights, device)
    identity = _identity(settings, dataset, protocol, fit, networks)
    resumed = prepare_output(settings.output, identity, settings.overwrite)
    metric_columns = [m for m in settings.metrics if m in PIXEL_METRICS or (m == "lpips" and networks.lpips)]
    store = ResultStore(settings.output, metric_columns, keep_features=networks.fid is not None)
    run = {
        **dataset.describe(), "fit": fit, "size": size, "masks": protocol.describe(),
        "pairing": identity["pairing"], "metrics": list(settings.metrics), "limit": settings.limit,
        "weights": networks.weights, "device": str(device), "resumed": resumed,
    }
    write_json(settings.output / RUN_FILE, {"format": RUN_FORMAT, "identity": identity, "run": run})
    write_pairs(pairs, settings.output / PAIRS_FILE)

    loader = CaseLoader(dataset.root, protocol, size, fit)
    done_before = sum(store.is_done(method.name, pair) for method in methods for pair in pairs)
    if progress is not None:
        progress.start(len(pairs) * len(methods), done_before)
    evaluated, failures = _run_pending(pairs, methods, loader, store, networks, settings, progress)

    rows = summarise(store, methods, pairs, protocol, settings.metrics, networks)
    notes = dict(networks.notes)
    if networks.fid is not None:
        notes.setdefault("fid", "per method and bucket, between the composites and the originals of that "
                                "bucket's images (small sets make FID larger than on the full split)")
    result = EvaluationResult(
        output=settings.output, run=run, methods=[{"name": m.name, "description": m.description} for m in methods],
        buckets=list(protocol.buckets), metrics=settings.metrics, rows=rows, notes=notes, failures=failures,
        cases_evaluated=evaluated, cases_resumed=done_before,
    )
    sheet_cases = grid_cases(pairs, protocol, settings.grid_cases, {f.case for f in failures})
    grid = grid_columns(sheet_cases, methods, loader) if sheet_cases else None
    result.files = report.write_reports(result, grid)
    return result


def _run_pending(
    pairs: Sequence[Pair], methods: Sequence[InpaintingMethod], loader: CaseLoader, store: ResultStore,
    networks: PerceptualNetworks, settings: EvaluationSettings, progress: EvaluationProgress | None,
) -> tuple[int, list[Failure]]:
    """Run every method on the cases it has not finished, batch by batch; returns the number
    of cases scored and the failures."""
    evaluated, failures = 0, []
    for start in range(0, len(pairs), settings.batch_size):
        chunk = pairs[start:start + settings.batch_size]
        pending = {method.name: [p for p in chunk if not store.is_done(method.name, p)] for method in methods}
        if not any(pending.values()):
            continue
        cases: dict[str, Case] = {}
        for pair in {p.case: p for todo in pending.values() for p in todo}.values():
            loaded = loader.load(pair)
            if isinstance(loaded, str):
                failures += [Failure(m.name, pair.case, pair.image, loaded) for m in methods if pair in pending[m.name]]
            else:
                cases[pair.case] = loaded
        for method in methods:
            todo = [cases[p.case] for p in pending[method.name] if p.case in cases]
            if todo:
                evaluated += _run_method(method, todo, store, networks, settings, failures)
            if progress is not None:
                progress.advance(len(pending[method.name]))
    return evaluated, failures


def _plan_pairs(
    settings: EvaluationSettings, dataset: EvalDataset, protocol: MaskProtocol, replayed: list[Pair] | None
) -> list[Pair]:
    names = [dataset.relative_name(path) for path in dataset.images]
    if replayed is not None:
        # A pair names its image twice, by index and by name: both must be this dataset's, so a
        # replay can neither read files outside it nor pair masks with other images than before.
        foreign = [pair.image for pair in replayed
                   if not 0 <= pair.image_index < len(names) or names[pair.image_index] != pair.image]
        if foreign:
            raise EvaluationError(f"{settings.pairs_file}: {len(set(foreign))} images are not those of "
                                  f"{dataset.name} at their index, e.g. {foreign[0]}; give the --dataset the "
                                  "pairs were made with")
        return replayed
    return pair_images(names, protocol, settings.pair_stride, settings.pair_offset, settings.pair_seed)


def _identity(
    settings: EvaluationSettings, dataset: EvalDataset, protocol: MaskProtocol, fit: str, networks: PerceptualNetworks,
) -> dict[str, object]:
    """What must match for an output folder to be resumed (the limit and methods may change)."""
    masks = {key: value for key, value in protocol.describe().items() if key != "buckets"}
    masks["buckets"] = [bucket.name for bucket in protocol.buckets]
    pairing: dict[str, object]
    if settings.pairs_file is not None:
        pairing = {"replayed_from": str(settings.pairs_file)}
    else:
        pairing = {"stride": settings.pair_stride, "offset": settings.pair_offset, "seed": settings.pair_seed}
    named = dataset.name if not Path(dataset.name).exists() else os.path.abspath(dataset.name)
    return {"dataset": named, "root": os.path.abspath(dataset.root), "size": settings.size, "fit": fit,
            "masks": masks, "pairing": pairing, "metrics": list(settings.metrics),
            "weights": {name: files for name, files in sorted(networks.weights.items())}}


def _run_method(
    method: InpaintingMethod, cases: Sequence[Case], store: ResultStore, networks: PerceptualNetworks,
    settings: EvaluationSettings, failures: list[Failure],
) -> int:
    truth, known = case_tensors(cases)
    try:
        composite = composite_of(method, truth, known)
    except (RuntimeError, ValueError) as error:
        message = f"{method.name} failed: {first_line(error)}"
        failures.extend(Failure(method.name, c.pair.case, c.pair.image, message) for c in cases)
        return 0
    scores = score_batch(composite, truth, known, settings.metrics, networks.lpips)
    if networks.fid is not None:
        _add_truth_features(store, networks.fid, cases, truth)
        store.add_features(method.name, [c.pair.case for c in cases], fid_features(networks.fid, composite))
    if settings.save_images:
        save_composites(settings.output / FILLED_DIR / slug(method.name), [c.pair for c in cases], composite)
    rows = []
    for row, case in enumerate(cases):
        record: dict[str, object] = {
            "method": method.name, "case": case.pair.case, "bucket": case.pair.bucket,
            "image_index": case.pair.image_index, "image": case.pair.image, "mask": case.pair.mask,
            "hole_ratio": hole_ratio(case.hole),
        }
        record.update({name: float(values[row]) for name, values in scores.items()})
        rows.append(record)
    store.add_rows(rows)
    return len(cases)


def _add_truth_features(store: ResultStore, network: torch.nn.Module, cases: Sequence[Case],
                        truth: torch.Tensor) -> None:
    known_images = store.features.get(TRUTH_KEY, {})
    rows = {}
    for row, case in enumerate(cases):
        if case.pair.image not in known_images and case.pair.image not in rows:
            rows[case.pair.image] = row
    if rows:
        store.add_features(TRUTH_KEY, list(rows), fid_features(network, truth[list(rows.values())]))
