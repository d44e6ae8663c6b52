"""The `ptgfill train` command: a thin layer over :class:`ptgfill_cli.training.trainer.Trainer`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer


def command(
    data: list[str] = typer.Argument(..., help="Training images, one or more sources: a folder (recursive), a .txt list of paths, or a catalogue set (celeba-hq, ffhq, psv, places2: its training split)."),
    source_weights: Optional[str] = typer.Option(None, help="Sampling weight of each DATA source, in order, e.g. 3,2,1 (default: in proportion to their image counts)."),
    data_root: Optional[Path] = typer.Option(None, help="Where catalogue sets are (default: $PTGFILL_DATA_ROOT, else ~/.local/share/ptgfill/datasets)."),
    out: Path = typer.Option(Path("runs/ptgfill"), "--out", "-o", help="Run folder: checkpoints, logs, samples, exports."),
    val_data: Optional[str] = typer.Option(None, help="Validation images (folder, .txt, or a catalogue set's test split); default: a held-out split of DATA."),
    val_fraction: float = typer.Option(0.05, help="Held-out fraction of each DATA source when --val-data is not given (split by file-name hash, never trained on)."),
    test_fraction: float = typer.Option(0.0, help="Fraction of each DATA source kept as a test set (by file-name hash): neither trained nor validated on, for ptgfill evaluate; validation takes the next --val-fraction."),
    val_count: int = typer.Option(64, help="Validation images used (fixed masks)."),
    masks: str = typer.Option("generated", help="'generated' (mixed make-masks kinds and ratios) or a folder of PNG masks (white = hole)."),
    preset: str = typer.Option("lite", help="Model preset: lite or paper."),
    attention: str = typer.Option("tokens", help="Bridger attention: tokens (the paper) or per-token (the authors' code)."),
    size: int = typer.Option(256, help="Training crop size (multiple of 32)."),
    load_size: Optional[int] = typer.Option(None, help="Resize the shorter side to this before the random crop (default: --size)."),
    crop_scale: Optional[str] = typer.Option(None, help="Random resized crops instead: LO,HI fraction of each photo's area (log-uniform), e.g. 0.05,1; never enlarged over 1.25x."),
    batch_size: int = typer.Option(8, help="Global batch size (split over torchrun processes)."),
    steps: int = typer.Option(10_000, help="Total optimisation steps."),
    mode: str = typer.Option("joint", help="generator, discriminator, joint or finetune."),
    lr_g: float = typer.Option(2e-4, help="Generator learning rate (AdamW)."),
    lr_d: float = typer.Option(2e-4, help="Discriminator learning rate (AdamW)."),
    lr_warmup: int = typer.Option(0, help="Steps of linear learning-rate warm-up (e.g. 200 when continuing from --init weights)."),
    lr_schedule: str = typer.Option("constant", help="After the warm-up: constant, or cosine (decays to 1 % of the rate at the last of --steps; a --time-limit cut ends it early)."),
    w_valid: float = typer.Option(1.0, help="Weight of the known-region L1."),
    w_hole: float = typer.Option(6.0, help="Weight of the hole-region L1."),
    w_perceptual: Optional[float] = typer.Option(None, help="Weight of the perceptual loss (default: 0.05 for vgg, the published weight; 0.004 for mobilenet)."),
    w_style: Optional[float] = typer.Option(None, help="Weight of the style loss (default: 120 for vgg, the published weight; 0.15 for mobilenet)."),
    w_tv: float = typer.Option(0.05, help="Weight of the total-variation loss."),
    w_coarse: float = typer.Option(1.0, help="Weight of the coarse-output loss."),
    w_adversarial: float = typer.Option(0.1, help="Weight of the generator's hinge adversarial term."),
    perceptual: str = typer.Option("vgg", help="'vgg' (the published loss; needs ImageNet VGG16 weights), 'mobilenet' (the bundled ImageNet MobileNetV2) or 'none'."),
    vgg_weights: Optional[Path] = typer.Option(None, help="Local vgg16-397923af.pth instead of torch.hub's cache."),
    init: Optional[str] = typer.Option(None, help="Start the generator from these weights (NAME|PATH|hf://...), e.g. to fine-tune."),
    precision: str = typer.Option("fp32", help="fp32, bf16 or fp16 (autocast; fp16 uses gradient scaling)."),
    channels_last: bool = typer.Option(False, help="Channels-last memory format (faster on recent GPUs)."),
    ema_decay: float = typer.Option(0.999, help="Decay of the exported EMA generator."),
    seed: int = typer.Option(0, help="Seed of data order, crops, masks and initialisation."),
    workers: int = typer.Option(2, help="Data-loading worker processes."),
    checkpoint_every: int = typer.Option(500, help="Write a checkpoint every N steps (and at the end)."),
    keep_last: int = typer.Option(3, help="Checkpoints to keep."),
    sample_every: int = typer.Option(500, help="Write a sample grid every N steps (0: never)."),
    val_every: int = typer.Option(500, help="Validate every N steps (0: only at the end)."),
    log_every: int = typer.Option(25, help="Log losses every N steps."),
    resume: Optional[str] = typer.Option(None, help="'auto' (latest checkpoint in --out, if any) or a checkpoint path."),
    time_limit: Optional[str] = typer.Option(None, help="Wall-clock limit for this process, e.g. 2h30m or 90m: stop cleanly before it, checkpoint and export (--resume auto continues)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json_output: bool = typer.Option(False, "--json", help="Print the final result as one JSON line."),
) -> None:
    """Train PTG-Fill; run under `torchrun --nproc-per-node N -m ptgfill_cli train ...` for DDP."""
    started_at = time.monotonic()
    from ..durations import parse_duration
    from ..training.setup import run_training
    from ..training.trainer import TrainConfig
    from ..errors import PTGFillError
    from ..losses import PERCEPTUAL_WEIGHTS, LossWeights

    try:
        weights = _numbers(source_weights, "--source-weights") if source_weights else None
        scale = _numbers(crop_scale, "--crop-scale") if crop_scale else None
        limit = parse_duration(time_limit) if time_limit else None
    except ValueError as error:
        raise PTGFillError(str(error)) from None
    default_perceptual, default_style = PERCEPTUAL_WEIGHTS.get(perceptual, PERCEPTUAL_WEIGHTS["vgg"])
    config = TrainConfig(
        out_dir=str(out), preset=preset, attention=attention, size=size, load_size=load_size,
        batch_size=batch_size, steps=steps, mode=mode, lr_g=lr_g, lr_d=lr_d, lr_warmup=lr_warmup,
        lr_schedule=lr_schedule,
        losses=LossWeights(w_valid, w_hole, w_perceptual if w_perceptual is not None else default_perceptual,
                           w_style if w_style is not None else default_style, w_tv, w_coarse, w_adversarial),
        perceptual=perceptual, ema_decay=ema_decay, precision=precision,
        channels_last=channels_last, seed=seed, num_workers=workers, log_every=log_every,
        sample_every=sample_every, val_every=val_every, checkpoint_every=checkpoint_every,
        keep_last=keep_last, device=device, crop_scale=scale, time_limit=limit,
    )
    result = run_training(
        config, data=data, val_data=val_data, val_fraction=val_fraction, val_count=val_count,
        masks=masks, vgg_weights=vgg_weights, init=init, resume=resume, show_progress=not (quiet or json_output),
        data_root=data_root, source_weights=weights, started_at=started_at,
        test_fraction=test_fraction,
        announce=None if json_output else lambda line: typer.echo(f"ptgfill train: {line}", err=True),
    )
    if json_output:
        typer.echo(json.dumps(result.to_dict()))
    elif not quiet:
        stopped = " (stopped by --time-limit; --resume auto continues)" if result.stopped_by_time_limit else ""
        typer.echo(f"trained to step {result.step}{stopped} ({result.images_seen} images, {result.seconds:.0f} s); "
                   f"exported {result.out_dir / 'last.safetensors'}", err=True)


def _numbers(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, not {text!r}") from None
