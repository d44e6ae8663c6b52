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

import csv
import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np
import torch
from PIL import Image

from .. import metrics as pixel_metrics
from ..atomic import replace_atomically, write_text_atomically
from ..data.catalogue import EvalDataset, fit_image, resolve_dataset
from ..data.datasets import read_rgb
from ..data.eval_masks import MaskBucket, MaskProtocol, Pair, open_mask_protocol, pair_images, read_pairs, write_pairs
from ..data.grids import with_holes_shown
from ..data.masks import HOLE, hole_ratio
from ..errors import PTGFillError
from ..hub.integrity import sha256_of_file
from .baselines import InpaintingMethod

METRICS: tuple[str, ...] = ("psnr", "ssim", "l1", "hole_psnr", "lpips", "fid")
PIXEL_METRICS: tuple[str, ...] = ("psnr", "ssim", "l1", "hole_psnr")
METRIC_LABELS: dict[str, str] = {
    "psnr": "PSNR", "ssim": "SSIM", "l1": "L1 (%)", "hole_psnr": "hole PSNR", "lpips": "LPIPS", "fid": "FID",
}
HIGHER_IS_BETTER: dict[str, bool] = {
    "psnr": True, "ssim": True, "l1": False, "hole_psnr": True, "lpips": False, "fid": False,
}
RUN_FILE = "run.json"
PAIRS_FILE = "pairs.csv"
PER_IMAGE_FILE = "per_image.csv"
FEATURES_DIR = "fid-features"
FILLED_DIR = "filled"
TRUTH_KEY = "truth"
RUN_FORMAT = "ptgfill-evaluation/1"
# Files and folders an evaluation writes; --overwrite removes these and nothing else.
OWN_OUTPUTS: tuple[str, ...] = (
    RUN_FILE, PAIRS_FILE, PER_IMAGE_FILE, FEATURES_DIR, FILLED_DIR, "metrics.csv", "metrics.json",
    "metrics.md", "comparison.png", "metrics_vs_hole_ratio.png",
)
_CASE_FIELDS: tuple[str, ...] = ("method", "case", "bucket", "image_index", "image", "mask", "hole_ratio")


class EvaluationError(PTGFillError):
    """Settings that cannot be evaluated, or an output folder that holds something else."""


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"psnr,ssim,lpips"`` -> the metric keys, in the canonical order; ``all`` for every one."""
    names = [part.strip().lower().replace("-", "_") for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return METRICS
    aliases = {"l1_percent": "l1", "hole": "hole_psnr"}
    names = [aliases.get(name, name) for name in names]
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise EvaluationError(f"unknown metric {unknown[0] if unknown else text!r}; choose from "
                              f"{', '.join(m.replace('_', '-') for m in METRICS)} or all")
    return tuple(metric for metric in METRICS if metric in names)


@dataclass(frozen=True)
class EvaluationSettings:
    """What to evaluate and where to write it (the ``ptgfill evaluate`` options)."""

    dataset: str
    output: Path
    data_root: Path | None = None
    masks: str = "irregular"
    mask_seed: int = 0
    buckets: tuple[tuple[float, float], ...] | None = None
    by_border: bool = False
    size: int = 256
    fit: str | None = None  # None: the dataset's own
    pair_stride: int = 1
    pair_offset: int = 0
    pair_seed: int | None = None
    pairs_file: Path | None = None
    limit: int | None = None
    metrics: tuple[str, ...] = METRICS
    lpips_weights: tuple[Path, ...] = ()
    fid_weights: Path | None = None
    batch_size: int = 8
    save_images: bool = False
    grid_cases: int = 3
    overwrite: bool = False


class EvaluationProgress(Protocol):
    def start(self, total: int, done: int) -> None: ...

    def advance(self, count: int) -> None: ...


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


# ---------------------------------------------------------------------------
# Perceptual metrics: weights found or not


@dataclass
class PerceptualNetworks:
    """LPIPS and FID networks where their weights were found; otherwise the reason in ``notes``."""

    lpips: torch.nn.Module | None = None
    fid: torch.nn.Module | None = None
    notes: dict[str, str] = field(default_factory=dict)
    weights: dict[str, list[str]] = field(default_factory=dict)


def load_perceptual_networks(
    metrics: Sequence[str], lpips_files: Sequence[Path], fid_file: Path | None, device: torch.device
) -> PerceptualNetworks:
    """Load what ``metrics`` needs. Files given explicitly must load (WeightsError if not);
    without them the usual cache places are searched, and a metric whose weights are not
    there gets ``n/a`` with the reason."""
    networks = PerceptualNetworks()
    if "lpips" in metrics:
        _load_lpips(networks, lpips_files, device)
    if "fid" in metrics:
        _load_fid(networks, fid_file, device)
    return networks


def _load_lpips(networks: PerceptualNetworks, files: Sequence[Path], device: torch.device) -> None:
    from ..models import lpips

    parts = [lpips.read_weight_parts(path) for path in files]
    chosen = [Path(path) for path in files]
    backbone = next((part.path for part in parts if part.backbone), None)
    if backbone is None:
        backbone = lpips.cached_backbone_file()
        chosen += [backbone] if backbone is not None else []
    if not any(part.heads for part in parts):
        heads = lpips.bundled_heads_file()
        chosen += [heads] if heads is not None else []
    else:
        heads = next(part.path for part in parts if part.heads)
    if backbone is None:
        networks.notes["lpips"] = (
            f"n/a: no AlexNet weights ({lpips.BACKBONE_FILENAME}, torchvision's ImageNet AlexNet) were "
            "given or found in the torch hub cache; pass --lpips-weights FILE"
        )
        return
    if heads is None:
        networks.notes["lpips"] = (
            f"n/a: no LPIPS v0.1 linear heads ({lpips.HEADS_FILENAME} of the lpips package) were given "
            "or found; pass --lpips-weights FILE"
        )
        return
    networks.lpips = lpips.load_lpips(chosen, device)
    networks.weights["lpips"] = [str(path) for path in chosen]
    if not sha256_of_file(backbone).startswith(lpips.BACKBONE_SHA256_PREFIX):
        networks.notes["lpips"] = (
            f"trunk weights {backbone} are not torchvision's published {lpips.BACKBONE_FILENAME} "
            "(sha256 differs): values are not comparable with papers"
        )


def _load_fid(networks: PerceptualNetworks, file: Path | None, device: torch.device) -> None:
    from ..models import inception

    path = file if file is not None else inception.cached_weights_file()
    if path is None:
        networks.notes["fid"] = (
            f"n/a: no FID Inception weights ({inception.WEIGHTS_FILENAME}, released by pytorch-fid) were "
            "given or found in the torch hub cache; pass --fid-weights FILE"
        )
        return
    networks.fid = inception.load_fid_inception(path, device)
    networks.weights["fid"] = [str(path)]
    if not sha256_of_file(path).startswith(inception.WEIGHTS_SHA256_PREFIX):
        networks.notes["fid"] = (
            f"weights {path} are not the published {inception.WEIGHTS_FILENAME} (sha256 differs): "
            "values are not comparable with papers"
        )


# ---------------------------------------------------------------------------
# Scoring one batch


def score_batch(
    composite: torch.Tensor, truth: torch.Tensor, known: torch.Tensor, metrics: Sequence[str],
    lpips_network: torch.nn.Module | None = None,
) -> dict[str, np.ndarray]:
    """Per-image metrics of 8-bit-rounded composites against 8-bit originals (B, 3, H, W)."""
    scores: dict[str, np.ndarray] = {}
    if "psnr" in metrics:
        scores["psnr"] = pixel_metrics.psnr(composite, truth).numpy()
    if "ssim" in metrics:
        scores["ssim"] = pixel_metrics.ssim_separable(composite, truth).numpy()
    if "l1" in metrics:
        scores["l1"] = pixel_metrics.l1_percent(composite, truth).numpy()
    if "hole_psnr" in metrics:
        scores["hole_psnr"] = pixel_metrics.hole_psnr(composite, truth, known).numpy()
    if "lpips" in metrics and lpips_network is not None:
        device = next(lpips_network.parameters()).device
        with torch.inference_mode():
            distances = lpips_network(composite.float().to(device), truth.float().to(device))
        scores["lpips"] = distances.double().cpu().numpy()
    return scores


def fid_features(network: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """(B, 2048) float64 pool3 features of images (B, 3, H, W) in [0, 1]."""
    device = next(network.parameters()).device
    with torch.inference_mode():
        return network(images.float().to(device)).double().cpu().numpy()


# ---------------------------------------------------------------------------
# The output folder: identity, per-image log, FID features


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
        if self.keep_features and pair.case not in self.features.get(_slug(method), {}):
            return False  # interrupted between writing features and the log
        return True

    def add_features(self, owner: str, keys: Sequence[str], features: np.ndarray) -> None:
        folder = self.output / FEATURES_DIR / _slug(owner)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self._chunk:07d}.npz"
        self._chunk += 1
        def write(temporary: Path) -> None:
            with open(temporary, "wb") as handle:  # a file object: savez would add ".npz" to a name
                np.savez(handle, keys=np.array(list(keys)), features=features.astype(np.float32))

        replace_atomically(path, write)
        self.features.setdefault(_slug(owner), {}).update(zip(keys, features.astype(np.float32)))

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


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def prepare_output(output: Path, identity: dict[str, object], overwrite: bool) -> bool:
    """Make ``output`` ready; True when it holds an earlier run of the same identity to resume.

    A folder holding a different run (or files that are no evaluation's) is an error unless
    ``overwrite``, which removes this evaluation's files and nothing else.
    """
    run_file = output / RUN_FILE
    if output.exists() and not output.is_dir():
        raise EvaluationError(f"{output}: exists and is not a folder")
    if overwrite and output.is_dir():
        for name in OWN_OUTPUTS:
            target = output / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    if run_file.is_file():
        try:
            earlier = json.loads(run_file.read_text(encoding="utf-8"))
        except ValueError as error:
            raise EvaluationError(f"{run_file}: unreadable ({error}); use --overwrite") from error
        if earlier.get("identity") != identity:
            changed = sorted(key for key in set(identity) | set(earlier.get("identity", {}))
                             if identity.get(key) != earlier.get("identity", {}).get(key))
            raise EvaluationError(
                f"{output} holds an evaluation with other settings ({', '.join(changed)} differ); "
                "use another --output, or --overwrite to replace it"
            )
        return True
    if output.is_dir() and any(output.iterdir()):
        raise EvaluationError(f"{output} is not empty and holds no evaluation ({RUN_FILE}); use another --output")
    output.mkdir(parents=True, exist_ok=True)
    return False


def _write_json(path: Path, data: object) -> None:
    write_text_atomically(path, json.dumps(data, indent=1) + "\n")


# ---------------------------------------------------------------------------
# The run


@dataclass
class _Case:
    pair: Pair
    truth: np.ndarray  # (H, W, 3) uint8
    hole: np.ndarray  # (H, W) uint8, 255 = hole


class _CaseLoader:
    """Images (fitted, cached per image) and masks for pairs; failures are returned, not raised."""

    def __init__(self, dataset_root: Path, protocol: MaskProtocol, size: int, fit: str) -> None:
        self.root, self.protocol, self.size, self.fit = dataset_root, protocol, size, fit
        self.buckets = {bucket.name: bucket for bucket in protocol.buckets}
        self._images: dict[str, np.ndarray | None] = {}

    def image_path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.root / path

    def load(self, pair: Pair) -> _Case | str:
        if pair.image not in self._images:
            if len(self._images) > 32:
                self._images.clear()
            rgb = read_rgb(self.image_path(pair.image))
            self._images[pair.image] = None if rgb is None else fit_image(rgb, self.size, self.fit)
        truth = self._images[pair.image]
        if truth is None:
            return f"cannot read image {self.image_path(pair.image)}"
        try:
            hole = self.protocol.load(self.buckets[pair.bucket], pair.mask_index, (self.size, self.size))
        except PTGFillError as error:
            return str(error)
        return _Case(pair, truth, hole)


def _tensors(cases: Sequence[_Case]) -> tuple[torch.Tensor, torch.Tensor]:
    truth = torch.from_numpy(np.stack([case.truth for case in cases])).permute(0, 3, 1, 2).double() / 255
    known = torch.from_numpy(np.stack([case.hole != HOLE for case in cases])[:, None]).double()
    return truth, known


def composite_of(method: InpaintingMethod, truth: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The method's fill with the known pixels put back, rounded to 8 bits (float64)."""
    filled = method.fill(truth.float(), known.float()).double()
    return pixel_metrics.quantize(known * truth + (1 - known) * filled)


def evaluate(
    settings: EvaluationSettings,
    methods: Sequence[InpaintingMethod],
    device: torch.device | str = "cpu",
    progress: EvaluationProgress | None = None,
) -> EvaluationResult:
    """Run ``methods`` on the settings' image/mask pairs, write the results into
    ``settings.output`` and return them (see the module docstring)."""
    from . import report

    if not methods:
        raise EvaluationError("nothing to evaluate: give --model and/or --compare methods")
    if settings.size < 32:
        raise EvaluationError(f"--size must be at least 32, not {settings.size}")
    if settings.batch_size < 1:
        raise EvaluationError(f"--batch-size must be at least 1, not {settings.batch_size}")
    device = torch.device(device)
    size = settings.size
    for method in methods:
        method.check_size(size, size)
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
    _write_json(settings.output / RUN_FILE, {"format": RUN_FORMAT, "identity": identity, "run": run})
    write_pairs(pairs, settings.output / PAIRS_FILE)

    loader = _CaseLoader(dataset.root, protocol, size, fit)
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
    grid_cases = _grid_cases(pairs, protocol, settings.grid_cases, {f.case for f in failures})
    grid = _grid_columns(grid_cases, methods, loader) if grid_cases else None
    result.files = report.write_reports(result, grid)
    return result


def _run_pending(
    pairs: Sequence[Pair], methods: Sequence[InpaintingMethod], loader: _CaseLoader, store: ResultStore,
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
        cases: dict[str, _Case] = {}
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
    if replayed is not None:
        pairs = replayed
        missing = [p.image for p in pairs if not (Path(p.image) if Path(p.image).is_absolute()
                                                  else dataset.root / p.image).is_file()]
        if missing:
            raise EvaluationError(f"{settings.pairs_file}: {len(set(missing))} images are not under "
                                  f"{dataset.root}, e.g. {missing[0]}; give the --dataset the pairs were made with")
        return pairs
    names = [dataset.relative_name(path) for path in dataset.images]
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
    method: InpaintingMethod, cases: Sequence[_Case], store: ResultStore, networks: PerceptualNetworks,
    settings: EvaluationSettings, failures: list[Failure],
) -> int:
    truth, known = _tensors(cases)
    try:
        composite = composite_of(method, truth, known)
    except (RuntimeError, ValueError) as error:
        message = f"{method.name} failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
        failures.extend(Failure(method.name, c.pair.case, c.pair.image, message) for c in cases)
        return 0
    scores = score_batch(composite, truth, known, settings.metrics, networks.lpips)
    if networks.fid is not None:
        _add_truth_features(store, networks.fid, cases, truth)
        store.add_features(method.name, [c.pair.case for c in cases], fid_features(networks.fid, composite))
    if settings.save_images:
        _save_composites(settings.output / FILLED_DIR / _slug(method.name), cases, composite)
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


def _add_truth_features(store: ResultStore, network: torch.nn.Module, cases: Sequence[_Case],
                        truth: torch.Tensor) -> None:
    known_images = store.features.get(TRUTH_KEY, {})
    rows = {}
    for row, case in enumerate(cases):
        if case.pair.image not in known_images and case.pair.image not in rows:
            rows[case.pair.image] = row
    if rows:
        store.add_features(TRUTH_KEY, list(rows), fid_features(network, truth[list(rows.values())]))


def _save_composites(folder: Path, cases: Sequence[_Case], composite: torch.Tensor) -> None:
    images = (composite.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)
    for case, image in zip(cases, images):
        path = folder / case.pair.bucket / f"{case.pair.image_index:06d}_{Path(case.pair.image).stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)


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
    filled = store.features.get(_slug(method), {})
    truth = store.features.get(TRUTH_KEY, {})
    usable = [pair for pair in pairs if pair.case in filled and pair.image in truth]
    if len(usable) < 2:
        return None
    return pixel_metrics.frechet_distance_of_samples(
        np.stack([filled[pair.case] for pair in usable]), np.stack([truth[pair.image] for pair in usable]))


# ---------------------------------------------------------------------------
# Comparison grid


@dataclass
class GridRow:
    label: str
    columns: list[np.ndarray]  # (H, W, 3) uint8: input with holes, each method, original


@dataclass
class ComparisonGrid:
    titles: list[str]
    rows: list[GridRow]


def _grid_cases(pairs: Sequence[Pair], protocol: MaskProtocol, per_bucket: int, failed: set[str]) -> list[Pair]:
    """``per_bucket`` cases of each bucket, on different images from bucket to bucket."""
    chosen: list[Pair] = []
    for number, bucket in enumerate(protocol.buckets):
        cases = [p for p in pairs if p.bucket == bucket.name and p.case not in failed]
        picks = sorted({(number * per_bucket + j) % len(cases) for j in range(per_bucket)}) if cases else []
        chosen += [cases[index] for index in picks]
    return chosen


def _grid_columns(pairs: Sequence[Pair], methods: Sequence[InpaintingMethod], loader: _CaseLoader) -> ComparisonGrid | None:
    """The comparison sheet's cases, filled again by every method (deterministic, and cheap
    for a few cases; a resumed run has no composites in memory)."""
    cases = [case for case in (loader.load(pair) for pair in pairs) if not isinstance(case, str)]
    if not cases:
        return None
    truth, known = _tensors(cases)
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
    arrays = [(column.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8) for column in columns]
    labels = {bucket.name: bucket.label for bucket in loader.protocol.buckets}
    rows = [
        GridRow(f"{labels[case.pair.bucket]} | {hole_ratio(case.hole) * 100:.1f} % | {Path(case.pair.image).name}",
                [array[index] for array in arrays])
        for index, case in enumerate(cases)
    ]
    return ComparisonGrid(titles, rows)

