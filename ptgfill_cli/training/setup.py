"""Assembling a training run from user-level choices (paths, mask source, resume)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..atomic import unwritable_reason
from ..data.datasets import held_out_split, list_images
from ..errors import PTGFillError, SettingError
from .samples import InpaintingSamples, SourceMix, fixed_validation_masks, interleave, mask_source
from .settings import TrainConfig, TrainData
from .trainer import Trainer, TrainResult

FEW_VALIDATION_IMAGES = 8  # below this many, validation scores move by whole dB with one image


def training_images(spec: str, data_root: str | Path | None, split: str) -> list[Path]:
    """A catalogue name (its ``split``: train for training, test for validation), else a
    folder or a ``.txt`` list of paths."""
    from ..evaluation.catalogue import CATALOGUE, resolve_dataset

    if spec in CATALOGUE:
        return list(resolve_dataset(spec, data_root, split=split).images)
    return list_images(spec)


@dataclass
class SourceSplit:
    """One DATA source: its training images and the images held out of it for validation."""

    spec: str
    train: list[Path]
    held_out: list[Path]
    weight: float

    def describe(self, share: float) -> dict[str, Any]:
        return {"source": self.spec, "train_images": len(self.train), "held_out_images": len(self.held_out),
                "weight": self.weight, "share": round(share, 4)}


def split_sources(
    data: Sequence[str], val_fraction: float, weights: Sequence[float] | None = None,
    data_root: str | Path | None = None, hold_out: bool = True, test_fraction: float = 0.0,
) -> list[SourceSplit]:
    """Each source's images, split by file-name hash into training and held-out images
    (``hold_out=False``: nothing held out for validation). Weights default to the image counts.

    ``test_fraction``: the images that ``held_out_split(paths, test_fraction)`` holds out are
    a test set, left out of training and validation alike (for ``ptgfill evaluate``); the
    validation images are the next ``val_fraction`` by the same hash.
    """
    if weights is not None and len(weights) != len(data):
        raise PTGFillError(f"{len(weights)} source weights given for {len(data)} DATA sources")
    splits = []
    for position, spec in enumerate(data):
        try:
            paths = training_images(spec, data_root, "train")
        except FileNotFoundError as error:
            raise PTGFillError(str(error)) from None
        if test_fraction > 0:
            paths, _ = held_out_split(paths, test_fraction)
        held_fraction = test_fraction + val_fraction if hold_out else test_fraction
        train, held = held_out_split(paths, held_fraction) if held_fraction > 0 else (paths, [])
        if not train:
            raise PTGFillError(f"{spec}: no training images found")
        weight = float(weights[position]) if weights is not None else float(len(train))
        splits.append(SourceSplit(spec, train, held, weight))
    return splits


def build_samples(
    config: TrainConfig, data: TrainData
) -> tuple[InpaintingSamples, InpaintingSamples | None, list[dict[str, Any]]]:
    """Training and validation samples, and a description of each source for the model card.

    With one source and no weights, batches walk epoch permutations of it; with several
    (or weights), every sample draws its source by weight.
    """
    splits = split_sources(data.sources, data.val_fraction, data.source_weights, data.data_root,
                           hold_out=data.val_data is None, test_fraction=data.test_fraction)
    val_data, val_count, source_weights = data.val_data, data.val_count, data.source_weights
    try:
        source = mask_source(data.masks)
        val_paths = training_images(val_data, data.data_root, "test") if val_data else None
    except FileNotFoundError as error:
        raise PTGFillError(str(error)) from None
    if val_paths is None:
        val_paths = interleave([s.held_out for s in splits], val_count)
    paths = [p for s in splits for p in s.train]
    train = InpaintingSamples(paths, config.size, source, config.load_size, train=True, crop_scale=config.crop_scale)
    if len(splits) > 1 or source_weights is not None:
        try:
            train.mix = SourceMix(tuple(len(s.train) for s in splits), tuple(s.weight for s in splits))
        except ValueError as error:
            raise SettingError("source_weights", str(error)) from None
    shares = train.mix.shares if train.mix is not None else (1.0,)
    description = [s.describe(share) for s, share in zip(splits, shares)]
    val = None
    if val_paths:
        val_paths = val_paths[:val_count]
        fixed = fixed_validation_masks(source, len(val_paths), config.size, config.seed)
        val = InpaintingSamples(val_paths, config.size, fixed, config.load_size, train=False)
    return train, val, description


def check_output_folder(out_dir: Path) -> None:
    """Make the run's folder, or fail before any data is read when it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SettingError("out_dir", f"{out_dir}: exists and is not a folder") from None
    except OSError as error:
        raise SettingError("out_dir", f"{out_dir}: cannot create the folder ({(error.strerror or '').lower()})") from None
    reason = unwritable_reason(out_dir)
    if reason is not None:
        raise SettingError("out_dir", f"{out_dir}: cannot write into the folder ({reason})")


def run_training(
    config: TrainConfig, data: TrainData, *, vgg_weights: Path | None = None, init: str | None = None,
    resume: str | None = None, show_progress: bool = True, started_at: float | None = None,
    announce: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train as ``config`` says on ``data``. ``started_at``: the ``time.monotonic()`` that
    ``config.time_limit`` counts from (default: now). ``announce`` receives one-line notes
    for the user (a resume, a thin validation set)."""
    say = announce or (lambda line: None)
    check_output_folder(Path(config.out_dir))
    train, val, sources = build_samples(config, data)
    val_data, val_fraction, test_fraction, masks = data.val_data, data.val_fraction, data.test_fraction, data.masks
    features = None
    if config.perceptual == "vgg":
        from ..models.vgg import load_vgg16_features

        features = load_vgg16_features(vgg_weights)
    elif config.perceptual == "mobilenet":
        from ..models.mobilenet import load_mobilenet_features

        features = load_mobilenet_features()
    init_state = None
    if init is not None:
        from ..weights.resolve import load_model

        init_state = load_model(init).generator.state_dict()
    trainer = Trainer(config, train, val, feature_extractor=features, init_generator=init_state,
                      clock_start=started_at)
    validation = val_data or f"held-out {val_fraction:.0%} of each source by file-name hash (never trained on)"
    if test_fraction and not val_data:
        validation += f", after the first {test_fraction:.0%} by the same hash"
    trainer.data_description.update(
        sources=sources,
        validation=validation,
        test=(f"the first {test_fraction:.0%} of each source by file-name hash (held_out_split(paths, {test_fraction:g})): "
              "never trained on or validated on; for ptgfill evaluate") if test_fraction else None,
        masks=masks if masks != "generated" else "generated: irregular, strokes, box (1-60 %) and, a third of the time, one object-shaped hole (5-40 %)",
        crops=(f"random resized crops of {config.crop_scale[0]:g}-{config.crop_scale[1]:g} of the photo's area"
               if config.crop_scale else f"shorter side to {config.load_size or config.size}, random crops"),
    )
    if init is not None:
        trainer.data_description["init"] = init
    trainer.resume(resume)
    if trainer.dist.is_main:
        if trainer.resumed_from is not None:
            say(f"resumed from {trainer.resumed_from} at step {trainer.step} of {config.steps}")
        count = 0 if val is None else len(val)
        if count == 0:
            say("warning: no validation images, so no validation scores and no best.safetensors")
        elif count < FEW_VALIDATION_IMAGES:
            say(f"warning: only {count} validation image(s): their scores will be noisy "
                "(more data, --val-fraction or --val-data)")
    try:
        if show_progress and trainer.dist.is_main:
            from .progress import TrainingProgress

            with TrainingProgress(config.steps, trainer.step) as progress:
                trainer.on_step = progress.update
                return trainer.fit()
        return trainer.fit()
    finally:
        trainer.dist.stop()
