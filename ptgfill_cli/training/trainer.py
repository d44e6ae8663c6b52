"""Training PTG-Fill: one process, or many through ``torchrun`` (DistributedDataParallel).

Where a process stands among the others comes from ``distributed.Distributed`` (torchrun's
or SLURM's variables); rank 0 alone logs and writes, and the others wait at a barrier after
it has written a checkpoint or a model. Checkpoints are written atomically
and hold everything a resumed run needs to continue as the uninterrupted one.
"""

from __future__ import annotations

import copy
import errno
import os
import shutil
import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader

from ..atomic import replace_atomically
from ..config import PTGFillConfig
from ..errors import PTGFillError, SettingError, WeightsError, first_line
from ..losses import (
    discriminator_hinge,
    generator_adversarial,
    hole_squared_error,
    perceptual_and_style,
    total_variation,
    valid_hole_l1,
)
from ..data.masks import composite
from ..metrics import psnr, ssim
from ..weights.torch_files import read_torch_file
from ..models.factory import build_discriminator, build_generator
from ..runtime.device import resolve_device
from ..runtime.precision import AUTOCAST_DTYPES
from .distributed import Distributed
from .samples import InpaintingSamples, StepBatchSampler
from .settings import TrainConfig

log = logging.getLogger(__name__)
COSINE_FLOOR = 0.01  # the cosine schedule ends at this fraction of the base rate, not at zero


def learning_rate_scale(config: TrainConfig, step: int) -> float:
    """The fraction of the base learning rate used at ``step`` (counted from 0).

    A linear warm-up over ``lr_warmup`` steps (a fresh optimiser on ``--init`` weights would
    otherwise take full-size steps from noisy first moments), then constant or a cosine from 1
    down to ``COSINE_FLOOR`` at the last step. The scale depends only on the step, so a resumed
    run follows the same schedule.
    """
    warmup = min(1.0, (step + 1) / config.lr_warmup) if config.lr_warmup else 1.0
    if config.lr_schedule == "constant":
        return warmup
    span = max(1, config.steps - 1 - config.lr_warmup)
    progress = min(1.0, max(0.0, (step - config.lr_warmup) / span))
    return warmup * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress)))


DISK_FULL_BYTES = 64 * 2**20  # less free than this after a failed write: the disk was full

CHECKPOINT_KEYS = ("model_config", "generator", "discriminator", "ema", "opt_g", "opt_d", "scaler",
                   "rng_torch", "rng_cuda", "step", "images_seen", "skipped_images", "best_psnr")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint's contents, loaded without unpickling code (``weights_only``)."""
    state = read_torch_file(path, "checkpoint")
    missing = [key for key in CHECKPOINT_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise WeightsError(f"{path}: not a ptgfill training checkpoint (no {', '.join(missing[:3])}"
                           f"{', ...' if len(missing) > 3 else ''}); --resume takes a checkpoints/step_*.pt "
                           "of a ptgfill train run (start from exported weights with --init)")
    return state


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    last_checkpoint: Path | None
    validation: dict[str, float]
    images_seen: int
    seconds: float
    skipped_images: int
    stopped_by_time_limit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}


class Trainer:
    """Builds models, optimisers and data from a :class:`TrainConfig` and runs the loop."""

    def __init__(
        self,
        config: TrainConfig,
        train_samples: InpaintingSamples,
        val_samples: InpaintingSamples | None = None,
        feature_extractor: torch.nn.Module | None = None,
        init_generator: dict[str, torch.Tensor] | None = None,
        on_step: Callable[[dict[str, float]], None] | None = None,
        clock_start: float | None = None,
    ) -> None:
        if len(train_samples) == 0:
            raise PTGFillError("the training set is empty")
        if config.perceptual != "none" and feature_extractor is None:
            raise PTGFillError(f"perceptual loss ({config.perceptual}) asked for but no feature extractor was given")
        self.config = config
        self.train_samples = train_samples
        self.val_samples = val_samples
        self.features = feature_extractor
        self.on_step = on_step
        # The time limit counts from here (time.monotonic()), or from when the caller started.
        self.clock_start = time.monotonic() if clock_start is None else clock_start
        self.dist = Distributed.from_environment()
        self.device = self.dist.device_for(resolve_device(config.device), config.device)
        self.dist.start(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.out_dir = Path(config.out_dir)
        self.checkpoint_dir = self.out_dir / "checkpoints"

        torch.manual_seed(config.seed)
        self.generator = build_generator(config.model_config()).to(self.device)
        if init_generator is not None:
            self.generator.load_state_dict(init_generator)
        self.discriminator = build_discriminator(config.model_config()).to(self.device)
        if self.features is not None:
            self.features = self.features.to(self.device).eval().requires_grad_(False)
        if config.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.opt_g = torch.optim.AdamW(self.generator.parameters(), lr=config.lr_g, weight_decay=config.weight_decay)
        self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), lr=config.lr_d, weight_decay=config.weight_decay)
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=config.precision == "fp16" and self.device.type == "cuda"
        )
        self.g_model = self.dist.wrap(self.generator, self.device)
        self.d_model = self.dist.wrap(self.discriminator, self.device)
        self.step = 0
        self.images_seen = 0
        self.skipped_images = 0
        self.train_seconds = 0.0  # across resumes
        self.resumed_from: Path | None = None  # the checkpoint resume() loaded
        self.validation: dict[str, float] = {}
        self.best_psnr = -math.inf
        self.data_description: dict[str, Any] = {
            "train_images": len(train_samples),
            "val_images": len(val_samples) if val_samples is not None else 0,
        }
        self._tensorboard: Any = None
        self._finish_seconds = 20.0  # what a checkpoint, validation and export take; measured as they run

    # -- checkpoints ---------------------------------------------------------------------

    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "images_seen": self.images_seen,
            "skipped_images": self.skipped_images,
            "train_seconds": self.train_seconds,
            "best_psnr": self.best_psnr,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "ema": self.ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "train_config": json.dumps(self.config.to_dict()),
            "model_config": json.dumps(self.config.model_config().to_dict()),
        }

    def save_checkpoint(self) -> Path | None:
        if not self.dist.is_main:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"step_{self.step:08d}.pt"
        try:
            replace_atomically(path, lambda temporary: torch.save(self.checkpoint_payload(), temporary))
        except RuntimeError as error:  # torch.save's own error when a write fails part-way (a full disk)
            if shutil.disk_usage(path.parent).free < DISK_FULL_BYTES:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from None
            raise PTGFillError(f"{path}: cannot write the checkpoint ({first_line(error)})") from None
        for old in sorted(self.checkpoint_dir.glob("step_*.pt"))[: -self.config.keep_last]:
            old.unlink()
        return path

    def latest_checkpoint(self) -> Path | None:
        found = sorted(self.checkpoint_dir.glob("step_*.pt"))
        return found[-1] if found else None

    def load_checkpoint(self, path: Path) -> None:
        state = read_checkpoint(path)
        try:
            saved_model = json.loads(state["model_config"])
        except (TypeError, ValueError):
            raise PTGFillError(f"{path}: checkpoint's model_config is not JSON") from None
        if saved_model != self.config.model_config().to_dict():
            raise PTGFillError(f"{path}: checkpoint was trained with another model config: {saved_model}")
        saved_step = int(state["step"])
        if saved_step > self.config.steps:
            raise SettingError("steps", f"is {self.config.steps}, but {path} is already at step {saved_step}: "
                                        f"ask for more steps to continue it")
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.ema.load_state_dict(state["ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng_torch"])
            if state["rng_cuda"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["rng_cuda"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise PTGFillError(f"{path}: checkpoint does not fit this run ({first_line(error)})") from None
        self.step = saved_step
        self.images_seen = int(state["images_seen"])
        self.skipped_images = int(state["skipped_images"])
        self.best_psnr = float(state["best_psnr"])
        self.train_seconds = float(state.get("train_seconds", 0.0))

    def resume(self, spec: str | None) -> None:
        """``spec``: None (fresh start), ``auto`` (latest in out_dir, if any) or a path."""
        if spec is None:
            return
        path = self.latest_checkpoint() if spec == "auto" else Path(spec)
        if path is None:
            return
        if not path.is_file():
            raise SettingError("resume", f"{spec}: no such checkpoint")
        self.load_checkpoint(path)
        self.resumed_from = path
        if self.dist.is_main:
            log.info("resumed from %s at step %d", path, self.step)

    # -- one step ----------------------------------------------------------------------

    def _autocast(self):
        dtype = AUTOCAST_DTYPES[self.config.precision]
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _generator_losses(self, gt: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, dict, torch.Tensor]:
        weights = self.config.losses
        out = self.g_model(gt * known, known)
        refined, coarse = out.refined.float(), out.coarse.float()
        comp = composite(known, gt, refined)
        valid, hole = valid_hole_l1(refined, gt, known)
        tv = total_variation(comp)
        total = weights.valid * valid + weights.hole * hole + weights.tv * tv
        parts = {"valid": valid, "hole": hole, "tv": tv}
        if weights.hole_mse > 0:
            parts["hole_mse"] = hole_squared_error(refined, gt, known)
            total = total + weights.hole_mse * parts["hole_mse"]
        if self.features is not None:
            perceptual, style = perceptual_and_style(self.features(refined), self.features(comp), self.features(gt))
            total = total + weights.perceptual * perceptual + weights.style * style
            parts.update(perceptual=perceptual, style=style)
        if self.config.mode != "finetune":
            coarse_valid, coarse_hole = valid_hole_l1(coarse, gt, known)
            coarse_loss = coarse_valid + weights.hole * coarse_hole
            total = total + weights.coarse * coarse_loss
            parts["coarse"] = coarse_loss
        if self.config.mode in ("joint", "finetune"):
            adversarial = generator_adversarial(self.d_model(comp, known))
            total = total + weights.adversarial * adversarial
            parts["adversarial"] = adversarial
        return total, parts, comp

    def _set_learning_rates(self) -> None:
        for optimiser, rate in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimiser.param_groups:
                group["lr"] = rate * learning_rate_scale(self.config, self.step)

    def train_step(self, gt: torch.Tensor, known: torch.Tensor) -> dict[str, float]:
        mode = self.config.mode
        self._set_learning_rates()
        self.generator.train(mode != "discriminator")
        record: dict[str, float] = {}
        with self._autocast():
            if mode == "discriminator":
                with torch.no_grad():
                    out = self.g_model(gt * known, known)
                comp = composite(known, gt, out.refined.float())
            else:
                total, parts, comp = self._generator_losses(gt, known)
        if mode != "discriminator":
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            self.scaler.step(self.opt_g)
            record["loss_g"] = float(total.detach())
            record.update({k: float(v.detach()) for k, v in parts.items()})
            # Warm-up: early on, the average would be mostly the random initialisation.
            decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
            with torch.no_grad():
                for ema_param, param in zip(self.ema.parameters(), self.generator.parameters()):
                    ema_param.lerp_(param, 1 - decay)
        if mode != "generator":
            with self._autocast():
                d_loss = discriminator_hinge(self.d_model(gt, known), self.d_model(comp.detach(), known))
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)
            record["loss_d"] = float(d_loss.detach())
        self.scaler.update()
        return record

    # -- validation and samples ------------------------------------------------------------

    @torch.inference_mode()
    def validate(self) -> dict[str, float]:
        if self.val_samples is None or len(self.val_samples) == 0:
            return {}
        scores_psnr, scores_ssim = [], []
        batch = []
        for index in range(len(self.val_samples)):
            image, hole, ok = self.val_samples[(index, self.config.seed + index)]
            if ok:
                batch.append((image, hole))
        for start in range(0, len(batch), 8):
            gt = torch.stack([b[0] for b in batch[start : start + 8]]).to(self.device)
            known = 1 - torch.stack([b[1] for b in batch[start : start + 8]]).to(self.device)
            refined = self.ema(gt * known, known).refined.float()
            comp = composite(known, gt, refined)
            scores_psnr.append(psnr(comp, gt).cpu())
            scores_ssim.append(ssim(comp, gt).cpu())
        return {
            "val_psnr": float(torch.cat(scores_psnr).mean()),
            "val_ssim": float(torch.cat(scores_ssim).mean()),
        }

    @torch.inference_mode()
    def write_samples(self, gt: torch.Tensor, known: torch.Tensor) -> Path:
        """A PNG grid: masked input | mask (white = hole) | coarse | refined | composite | truth,
        one row per image."""
        from ..data.grids import save_grid, with_holes_shown

        gt, known = gt[:4], known[:4]
        out = self.ema(gt * known, known)
        comp = composite(known, gt, out.refined)
        columns = [with_holes_shown(gt, known), (1 - known).expand_as(gt), out.coarse, out.refined, comp, gt]
        path = self.out_dir / "samples" / f"step_{self.step:08d}.png"
        save_grid(columns, path, titles=["input", "mask", "coarse", "refined", "composite", "truth"])
        return path

    # -- the loop --------------------------------------------------------------------------

    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "log.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._tensorboard is None:
            self._tensorboard = _tensorboard_writer(self.out_dir / "tensorboard")
        if self._tensorboard:
            for key, value in record.items():
                if key not in ("step", "images_seen") and isinstance(value, (int, float)):
                    self._tensorboard.add_scalar(key, value, record["step"])

    def _loader(self) -> DataLoader:
        sampler = StepBatchSampler(
            len(self.train_samples), self.config.batch_size, self.step, self.config.steps,
            self.config.seed, self.dist.rank, self.dist.world_size, sources=self.train_samples.mix,
        )
        return DataLoader(
            self.train_samples, batch_sampler=sampler, num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
            prefetch_factor=4 if self.config.num_workers else None, worker_init_fn=_default_signals,
        )

    def fit(self) -> TrainResult:
        config = self.config
        started = time.perf_counter()
        seconds_before = self.train_seconds
        window_start, window_images = time.perf_counter(), 0
        last_checkpoint: Path | None = None
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2))
        # Starting a DataLoader draws from torch's global RNG; keep that draw out of the
        # stream dropout uses, so a resumed run continues exactly as an uninterrupted one.
        rng_state = torch.get_rng_state()
        batches = iter(self._loader())
        torch.set_rng_state(rng_state)
        stopped_by_time_limit = False
        step_started = time.perf_counter()
        for image, hole, ok in batches:
            batch = self._usable_part(image, hole, ok)
            if batch is None:
                self.step += 1
                continue
            gt, known = batch
            record = self.train_step(gt, known)
            self.step += 1
            self.train_seconds = seconds_before + time.perf_counter() - started
            images = gt.shape[0] * self.dist.world_size
            self.images_seen += images
            window_images += images
            if self.step % config.log_every == 0 or self.step == config.steps:
                now = time.perf_counter()
                record.update(step=self.step, images_seen=self.images_seen,
                              images_per_s=window_images / max(now - window_start, 1e-9),
                              seconds=self.train_seconds)
                window_start, window_images = now, 0
                self._log(record)
            last_checkpoint = self._periodic_actions(gt, known) or last_checkpoint
            if self.on_step is not None:
                self.on_step({**record, "step": self.step})
            step_seconds, step_started = time.perf_counter() - step_started, time.perf_counter()
            if self.step < config.steps and self._out_of_time(step_seconds):
                stopped_by_time_limit = True
                break
        if stopped_by_time_limit:
            self._log({"step": self.step, "images_seen": self.images_seen, "stopped": "time limit",
                       "seconds": self.train_seconds})
            if self.dist.is_main and config.val_every:
                self._validate_and_log()
            if self.step % config.checkpoint_every:
                last_checkpoint = self._checkpoint() or last_checkpoint
        if self.images_seen == 0:
            raise PTGFillError(
                f"no training image could be read ({self.skipped_images} skipped as unreadable); nothing was exported"
            )
        if self.dist.is_main:
            self.export(self.out_dir / "last.safetensors")
            from .curves import write_training_curves

            write_training_curves(self.out_dir / "log.jsonl", self.out_dir / "curves.png")
        self.dist.barrier()  # every process returns once the model is written
        return TrainResult(
            out_dir=self.out_dir, step=self.step, last_checkpoint=last_checkpoint,
            validation=self.validation, images_seen=self.images_seen,
            seconds=self.train_seconds, skipped_images=self.skipped_images,
            stopped_by_time_limit=stopped_by_time_limit,
        )

    def _usable_part(
        self, image: torch.Tensor, hole: torch.Tensor, ok: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The batch's readable samples on the device as (gt, known); None when none is.
        Under DDP every process keeps its whole batch (equal shapes for the all-reduce)."""
        keep = ok.bool()
        self.skipped_images += int((~keep).sum())
        if not self.dist.is_distributed:
            if not keep.any():
                return None
            image, hole = image[keep], hole[keep]
        gt = image.to(self.device, non_blocking=True)
        known = 1 - hole.to(self.device, non_blocking=True)
        if self.config.channels_last:
            gt = gt.contiguous(memory_format=torch.channels_last)
        return gt, known

    def _periodic_actions(self, gt: torch.Tensor, known: torch.Tensor) -> Path | None:
        """Samples, validation and a checkpoint when this step is due for them; the checkpoint's path."""
        config, step = self.config, self.step
        if self.dist.is_main and config.sample_every and step % config.sample_every == 0:
            self.write_samples(gt, known)
        if config.val_every and (step % config.val_every == 0 or step == config.steps) and self.dist.is_main:
            self._validate_and_log()
        if step % config.checkpoint_every == 0 or step == config.steps:
            finish_started = time.perf_counter()
            checkpoint = self._checkpoint()
            self._finish_seconds = max(self._finish_seconds, 3 * (time.perf_counter() - finish_started) + 15)
            return checkpoint
        return None

    def _checkpoint(self) -> Path | None:
        """Rank 0 writes a checkpoint; every process waits for it (a resume reads it)."""
        path = self.save_checkpoint()
        self.dist.barrier()
        return path

    def _validate_and_log(self) -> None:
        """Validate, log, export ``best.safetensors`` on a new best, and time it for the time limit."""
        started = time.perf_counter()
        self.validation = self.validate()
        self._finish_seconds = max(self._finish_seconds, 2 * (time.perf_counter() - started) + 15)
        if self.validation:
            self._log({"step": self.step, "images_seen": self.images_seen, **self.validation})
            if self.validation["val_psnr"] > self.best_psnr:
                self.best_psnr = self.validation["val_psnr"]
                self.export(self.out_dir / "best.safetensors")

    def _out_of_time(self, step_seconds: float) -> bool:
        """Whether another step would leave too little of the time limit to checkpoint,
        validate and export. Under DDP, rank 0 decides for all."""
        if self.config.time_limit is None:
            return False
        elapsed = time.monotonic() - self.clock_start
        stop = elapsed + 2 * step_seconds + self._finish_seconds >= self.config.time_limit
        return self.dist.main_decides(stop, self.device)

    def model_card(self) -> dict[str, Any]:
        return {
            "trained_steps": self.step,
            "images_seen": self.images_seen,
            "train_seconds": round(self.train_seconds),
            "data": self.data_description,
            "train_config": self.config.to_dict(),
            "validation": self.validation,
            "hardware": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "torch": torch.__version__,
        }

    def export(self, path: Path) -> Path:
        """The EMA generator as safetensors + config + model card."""
        from ..weights.store import save_model

        return save_model(self.ema, path, card=self.model_card())


def _default_signals(worker_id: int) -> None:
    """Data workers leave SIGINT / SIGTERM to the main process, which stops the run cleanly
    (the command line's handler would otherwise be inherited by the fork)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _tensorboard_writer(folder: Path) -> Any:
    """A SummaryWriter when tensorboard is installed, else False (it is optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return False
    return SummaryWriter(str(folder))


def export_checkpoint(checkpoint: str | Path, out: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write a training checkpoint's EMA generator as a model file (safetensors + config + card)."""
    from ..weights.store import save_model
    from ..models.generator import PTGFillGenerator

    state = read_checkpoint(checkpoint)
    generator = PTGFillGenerator(PTGFillConfig.from_dict(json.loads(state["model_config"])))
    generator.load_state_dict(state["ema"])
    summary = {
        "trained_steps": int(state["step"]),
        "images_seen": int(state["images_seen"]),
        "train_seconds": round(float(state.get("train_seconds", 0.0))),
        "train_config": json.loads(state["train_config"]),
        "checkpoint": Path(checkpoint).name,
    }
    return save_model(generator, out, card={**summary, **(card or {})})
