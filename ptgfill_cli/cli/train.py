"""The `ptgfill train` command: a thin layer over :func:`ptgfill_cli.training.setup.run_training`.

Every default is the library's (``TrainConfig``, ``TrainData``, ``LossWeights``), read here
without torch; options that are not given are not passed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import PRESETS
from ..training.settings import (
    LR_SCHEDULES, MODES, PERCEPTUAL_NETWORKS, PERCEPTUAL_WEIGHTS, LossWeights, TrainConfig, TrainData, default_of,
    range_text,
)
from .options import (
    Attention, Device, Precision, PrecisionChoice, Quiet, choices, json_flag, warn_deprecated, with_range,
)

_RUN = TrainConfig()
_DATA = {name: default_of(TrainData, name) for name in ("val_fraction", "test_fraction", "val_count", "masks")}
_LOSSES = LossWeights()
_PERCEPTUAL_DEFAULTS = "; ".join(f"{weights[0]:g} for {name}" for name, weights in PERCEPTUAL_WEIGHTS.items())
_STYLE_DEFAULTS = "; ".join(f"{weights[1]:g} for {name}" for name, weights in PERCEPTUAL_WEIGHTS.items())
Preset = choices("Preset", sorted(PRESETS))
Mode = choices("Mode", MODES)
Schedule = choices("Schedule", LR_SCHEDULES)
Perceptual = choices("Perceptual", PERCEPTUAL_NETWORKS)


def command(
    data: list[str] = typer.Argument(..., help="Training images, one or more sources: a folder (recursive), a .txt list of paths, or a catalogue set (celeba-hq, ffhq, psv, places2: its training split)."),
    source_weights: Optional[str] = typer.Option(None, help="Sampling weight of each DATA source, in order, e.g. 3,2,1 (default: in proportion to their image counts)."),
    data_root: Optional[Path] = typer.Option(None, help="Where catalogue sets are (default: $PTGFILL_DATA_ROOT, else ~/.local/share/ptgfill/datasets)."),
    out: Path = typer.Option(Path(_RUN.out_dir), "--output", "-o", help="Run folder: checkpoints, logs, samples, exports."),
    out_deprecated: Optional[Path] = typer.Option(None, "--out", hidden=True),  # the old spelling of --output
    val_data: Optional[str] = typer.Option(None, help="Validation images (folder, .txt, or a catalogue set's test split); default: a held-out split of DATA."),
    val_fraction: float = typer.Option(_DATA["val_fraction"], help=with_range("Held-out fraction of each DATA source when --val-data is not given (split by file-name hash, never trained on).", range_text('val_fraction'))),
    test_fraction: float = typer.Option(_DATA["test_fraction"], help=with_range("Fraction of each DATA source kept as a test set (by file-name hash): neither trained nor validated on, for ptgfill evaluate; validation takes the next --val-fraction.", range_text('test_fraction'))),
    val_count: int = typer.Option(_DATA["val_count"], help=with_range("Validation images used (fixed masks).", range_text('val_count'))),
    masks: str = typer.Option(_DATA["masks"], help="'generated' (mixed make-masks kinds and ratios) or a folder of PNG masks (white = hole)."),
    preset: Preset = typer.Option(_RUN.preset, help="Model preset (widths and depths; see the README)."),
    attention: Attention = typer.Option(_RUN.attention, help="Bridger attention (tokens: the paper; per-token: the authors' code)."),
    size: int = typer.Option(_RUN.size, help=with_range("Training crop size.", range_text('size'))),
    load_size: Optional[int] = typer.Option(None, help="Resize the shorter side to this before the random crop (default: --size)."),
    crop_scale: Optional[str] = typer.Option(None, help="Random resized crops instead: LO,HI fraction of each photo's area (log-uniform), e.g. 0.05,1; never enlarged over 1.25x."),
    batch_size: int = typer.Option(_RUN.batch_size, help=with_range("Global batch size (split over torchrun processes).", range_text('batch_size'))),
    steps: int = typer.Option(_RUN.steps, help=with_range("Total optimisation steps.", range_text('steps'))),
    mode: Mode = typer.Option(_RUN.mode, help="What trains: generator (its reconstruction losses alone), discriminator (alone), joint (both, adversarially) or finetune (joint without the coarse-output loss)."),
    lr_g: float = typer.Option(_RUN.lr_g, help=with_range("Generator learning rate (AdamW).", range_text('lr_g'))),
    lr_d: float = typer.Option(_RUN.lr_d, help=with_range("Discriminator learning rate (AdamW).", range_text('lr_d'))),
    lr_warmup: int = typer.Option(_RUN.lr_warmup, help=with_range("Steps of linear learning-rate warm-up (e.g. 200 when continuing from --init weights).", range_text('lr_warmup'))),
    lr_schedule: Schedule = typer.Option(_RUN.lr_schedule, help="After the warm-up (cosine decays to 1 % of the rate at the last of --steps; a --time-limit cut ends it early)."),
    w_valid: float = typer.Option(_LOSSES.valid, help=with_range("Weight of the known-region L1.", range_text('losses.valid'))),
    w_hole: float = typer.Option(_LOSSES.hole, help=with_range("Weight of the hole-region L1.", range_text('losses.hole'))),
    w_hole_mse: float = typer.Option(_LOSSES.hole_mse, help=with_range("Weight of a hole-region squared error (not the paper's; PSNR rewards it).", range_text('losses.hole_mse'))),
    w_perceptual: Optional[float] = typer.Option(None, help=with_range(f"Weight of the perceptual loss (default: {_PERCEPTUAL_DEFAULTS}; vgg's is the published one).", range_text('losses.perceptual'))),
    w_style: Optional[float] = typer.Option(None, help=with_range(f"Weight of the style loss (default: {_STYLE_DEFAULTS}; vgg's is the published one).", range_text('losses.style'))),
    w_tv: float = typer.Option(_LOSSES.tv, help=with_range("Weight of the total-variation loss.", range_text('losses.tv'))),
    w_coarse: float = typer.Option(_LOSSES.coarse, help=with_range("Weight of the coarse-output loss.", range_text('losses.coarse'))),
    w_adversarial: float = typer.Option(_LOSSES.adversarial, help=with_range("Weight of the generator's hinge adversarial term.", range_text('losses.adversarial'))),
    perceptual: Perceptual = typer.Option(_RUN.perceptual, help="Perceptual and style loss network: 'vgg' (the published loss; needs ImageNet VGG16 weights), 'mobilenet' (the bundled ImageNet MobileNetV2) or 'none'."),
    vgg_weights: Optional[Path] = typer.Option(None, help="Local vgg16-397923af.pth instead of torch.hub's cache."),
    init: Optional[str] = typer.Option(None, help="Start the generator from these weights (NAME|PATH|hf://...), e.g. to fine-tune."),
    precision: PrecisionChoice = Precision(_RUN.precision),
    channels_last: bool = typer.Option(_RUN.channels_last, help="Channels-last memory format (faster on recent GPUs)."),
    ema_decay: float = typer.Option(_RUN.ema_decay, help=with_range("Decay of the exported EMA generator.", range_text('ema_decay'))),
    seed: int = typer.Option(_RUN.seed, help=with_range("Seed of data order, crops, masks and initialisation.", range_text('seed'))),
    workers: int = typer.Option(_RUN.num_workers, help=with_range("Data-loading worker processes.", range_text('num_workers'))),
    checkpoint_every: int = typer.Option(_RUN.checkpoint_every, help=with_range("Write a checkpoint every N steps (and at the end).", range_text('checkpoint_every'))),
    keep_last: int = typer.Option(_RUN.keep_last, help=with_range("Checkpoints to keep.", range_text('keep_last'))),
    sample_every: int = typer.Option(_RUN.sample_every, help=with_range("Write a sample grid every N steps (0: never).", range_text('sample_every'))),
    val_every: int = typer.Option(_RUN.val_every, help=with_range("Validate every N steps (0: only at the end).", range_text('val_every'))),
    log_every: int = typer.Option(_RUN.log_every, help=with_range("Log losses every N steps.", range_text('log_every'))),
    resume: Optional[str] = typer.Option(None, help="'auto' (latest checkpoint in --out, if any) or a checkpoint path."),
    time_limit: Optional[str] = typer.Option(None, help="Wall-clock limit for this process, e.g. 2h30m or 90m: stop cleanly before it, checkpoint and export (--resume auto continues)."),
    device: Device = _RUN.device,
    quiet: Quiet = False,
    json_output: Annotated[bool, json_flag("Print the final result as one JSON line.")] = False,
) -> None:
    """Train PTG-Fill; run under `torchrun --nproc-per-node N -m ptgfill_cli train ...` for DDP."""
    started_at = time.monotonic()
    from ..durations import parse_duration
    from ..errors import SettingError
    from ..training.settings import loss_weights_for
    from ..training.setup import run_training

    if out_deprecated is not None:
        warn_deprecated("--out", "--output (or -o), as every command")
        out = out_deprecated
    weights = _numbers(source_weights, "source_weights") if source_weights else None
    scale = _numbers(crop_scale, "crop_scale") if crop_scale else None
    try:
        limit = parse_duration(time_limit) if time_limit else None
    except ValueError as error:
        raise SettingError("time_limit", str(error)) from None
    preset, attention, mode, lr_schedule, perceptual = (
        choice.value for choice in (preset, attention, mode, lr_schedule, perceptual))
    losses = loss_weights_for(perceptual, valid=w_valid, hole=w_hole, hole_mse=w_hole_mse, perceptual=w_perceptual,
                              style=w_style, tv=w_tv, coarse=w_coarse, adversarial=w_adversarial)
    config = TrainConfig(
        out_dir=str(out), preset=preset, attention=attention, size=size, load_size=load_size,
        batch_size=batch_size, steps=steps, mode=mode, lr_g=lr_g, lr_d=lr_d, lr_warmup=lr_warmup,
        lr_schedule=lr_schedule, losses=losses, perceptual=perceptual, ema_decay=ema_decay,
        precision=precision.value, channels_last=channels_last, seed=seed, num_workers=workers,
        log_every=log_every, sample_every=sample_every, val_every=val_every, checkpoint_every=checkpoint_every,
        keep_last=keep_last, device=device, crop_scale=scale, time_limit=limit,
    )
    data_settings = TrainData(
        sources=tuple(data), source_weights=weights, data_root=data_root, val_data=val_data,
        val_fraction=val_fraction, test_fraction=test_fraction, val_count=val_count, masks=masks,
    )
    result = run_training(
        config, data_settings, vgg_weights=vgg_weights, init=init, resume=resume,
        show_progress=not (quiet or json_output), started_at=started_at,
        announce=None if json_output else lambda line: typer.echo(f"ptgfill train: {line}", err=True),
    )
    if json_output:
        typer.echo(json.dumps(result.to_dict()))
    elif not quiet:
        stopped = " (stopped by --time-limit; --resume auto continues)" if result.stopped_by_time_limit else ""
        typer.echo(f"trained to step {result.step}{stopped} ({result.images_seen} images, {result.seconds:.0f} s); "
                   f"exported {result.out_dir / 'last.safetensors'}", err=True)


def _numbers(text: str, setting: str) -> tuple[float, ...]:
    from ..errors import SettingError

    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise SettingError(setting, f"must be comma-separated numbers, not {text!r}") from None
