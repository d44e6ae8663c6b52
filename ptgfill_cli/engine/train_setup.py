"""Assembling a training run from user-level choices (paths, mask source, resume)."""

from __future__ import annotations

from pathlib import Path

from ..data.datasets import held_out_split, list_images
from ..errors import PTGFillError
from .train_data import InpaintingSamples, fixed_validation_masks, mask_source
from .trainer import TrainConfig, Trainer, TrainResult


def training_images(spec: str, data_root: str | Path | None, split: str) -> list[Path]:
    """A catalogue name (its ``split``: train for training, test for validation), else a
    folder or a ``.txt`` list of paths."""
    from ..data.catalogue import CATALOGUE, resolve_dataset

    if spec in CATALOGUE:
        return list(resolve_dataset(spec, data_root, split=split).images)
    return list_images(spec)


def build_samples(
    config: TrainConfig, data: str, val_data: str | None, val_fraction: float, val_count: int, masks: str,
    data_root: str | Path | None = None,
) -> tuple[InpaintingSamples, InpaintingSamples | None]:
    try:
        paths = training_images(data, data_root, "train")
        source = mask_source(masks)
        val_paths = training_images(val_data, data_root, "test") if val_data else None
    except FileNotFoundError as error:
        raise PTGFillError(str(error)) from None
    if val_paths is None and val_fraction > 0:
        paths, val_paths = held_out_split(paths, val_fraction)
    if not paths:
        raise PTGFillError(f"{data}: no training images found")
    train = InpaintingSamples(paths, config.size, source, config.load_size, train=True)
    val = None
    if val_paths:
        val_paths = val_paths[:val_count]
        fixed = fixed_validation_masks(source, len(val_paths), config.size, config.seed)
        val = InpaintingSamples(val_paths, config.size, fixed, config.load_size, train=False)
    return train, val


def run_training(
    config: TrainConfig, data: str, val_data: str | None = None, val_fraction: float = 0.05,
    val_count: int = 64, masks: str = "generated", vgg_weights: Path | None = None,
    init: str | None = None, resume: str | None = None, show_progress: bool = True,
    data_root: str | Path | None = None,
) -> TrainResult:
    train, val = build_samples(config, data, val_data, val_fraction, val_count, masks, data_root)
    features = None
    if config.perceptual == "vgg":
        from ..models.vgg import load_vgg16_features

        features = load_vgg16_features(vgg_weights)
    init_state = None
    if init is not None:
        from ..hub.resolve import load_model

        init_state = load_model(init).generator.state_dict()
    trainer = Trainer(config, train, val, feature_extractor=features, init_generator=init_state)
    trainer.data_description.update(source=data, validation=val_data or f"held-out {val_fraction:.0%} of the source by file-name hash", masks=masks)
    trainer.resume(resume)
    if show_progress and trainer.dist.is_main:
        from .progress import TrainingProgress

        with TrainingProgress(config.steps, trainer.step) as progress:
            trainer.on_step = progress.update
            return trainer.fit()
    return trainer.fit()
