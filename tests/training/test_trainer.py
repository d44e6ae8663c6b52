"""Training: determinism across resume, kill-and-resume, DDP, bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from ptgfill_cli.data.datasets import list_images
from ptgfill_cli.training.samples import GeneratedMasks, InpaintingSamples
from ptgfill_cli.training.settings import LossWeights, TrainConfig
from ptgfill_cli.training.trainer import COSINE_FLOOR, Trainer, export_checkpoint, learning_rate_scale
from ptgfill_cli.errors import PTGFillError
from tests.conftest import EXAMPLES, REPO_ROOT


def _config(out: Path, **changes) -> TrainConfig:
    base = dict(
        out_dir=str(out), preset="lite", size=64, batch_size=2, steps=4, mode="joint",
        perceptual="none", num_workers=0, log_every=1, sample_every=0, val_every=0,
        checkpoint_every=2, keep_last=5, device="cpu",
    )
    base.update(changes)
    return TrainConfig(**base)


def _photos() -> list[Path]:
    return [p for p in list_images(EXAMPLES) if p.parent == EXAMPLES]


def _samples(size: int = 64) -> InpaintingSamples:
    return InpaintingSamples(_photos(), size, GeneratedMasks(), load_size=96)


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    straight = Trainer(_config(tmp_path / "straight"), _samples())
    straight.fit()

    first = Trainer(_config(tmp_path / "split", steps=2), _samples())
    first.fit()
    second = Trainer(_config(tmp_path / "split"), _samples())
    second.resume("auto")
    assert second.step == 2
    second.fit()

    assert second.step == straight.step == 4
    _assert_same_state(second.generator.state_dict(), straight.generator.state_dict())
    _assert_same_state(second.discriminator.state_dict(), straight.discriminator.state_dict())
    _assert_same_state(second.ema.state_dict(), straight.ema.state_dict())


def test_checkpoints_keep_the_last_k_and_export_loads(tmp_path):
    from ptgfill_cli.weights.resolve import load_model

    trainer = Trainer(_config(tmp_path, steps=6, checkpoint_every=1, keep_last=2), _samples())
    result = trainer.fit()
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.pt"))
    assert names == ["step_00000005.pt", "step_00000006.pt"]
    assert not list(tmp_path.rglob(".*.tmp"))
    exported = load_model(str(tmp_path / "last.safetensors"))
    _assert_same_state(exported.generator.state_dict(), trainer.ema.state_dict())
    from_checkpoint = export_checkpoint(tmp_path / "checkpoints" / "step_00000006.pt", tmp_path / "again.safetensors")
    again = load_model(str(from_checkpoint))
    _assert_same_state(again.generator.state_dict(), trainer.ema.state_dict())
    assert again.card["trained_steps"] == 6
    assert result.images_seen == 12
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss_g" in r] == [1, 2, 3, 4, 5, 6]
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    broken = tmp_path / "data" / "broken.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"not a jpeg")
    paths = _photos()[:2] + [broken]
    samples = InpaintingSamples(paths, 64, GeneratedMasks(), load_size=96)
    result = Trainer(_config(tmp_path / "run", batch_size=3, steps=2, mode="generator"), samples).fit()
    assert result.skipped_images == 2
    assert result.images_seen == 4


def test_bad_settings_are_one_line_errors(tmp_path):
    with pytest.raises(PTGFillError, match="mode must be one of"):
        _config(tmp_path, mode="both")
    with pytest.raises(PTGFillError, match="multiple of 32"):
        _config(tmp_path, size=100)
    with pytest.raises(PTGFillError, match="empty"):
        Trainer(_config(tmp_path), InpaintingSamples([], 64, GeneratedMasks()))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ptgfill_cli", "train", *args]


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    args = [str(EXAMPLES), "--output", str(out), "--size", "64", "--load-size", "96", "--batch-size", "2",
            "--steps", "400", "--mode", "generator", "--perceptual", "none", "--workers", "0",
            "--checkpoint-every", "3", "--keep-last", "2", "--val-every", "0", "--sample-every", "0",
            "--val-fraction", "0", "--device", "cpu", "--quiet", "--resume", "auto"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(_cli(*args), cwd=REPO_ROOT, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("checkpoints/step_*09.pt")):
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved = sorted(out.glob("checkpoints/step_*.pt"))
    assert saved, "no checkpoint was written before the kill"
    killed_at = int(saved[-1].stem.split("_")[1])
    assert killed_at < 400

    args[args.index("--steps") + 1] = str(killed_at + 3)
    finished = subprocess.run(_cli(*args, "--json"), cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=300, env=env)
    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["step"] == killed_at + 3
    assert result["images_seen"] == 2 * (killed_at + 3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trainer = Trainer(_config(Path(out), steps=3, batch_size=4, checkpoint_every=100), _samples())
    trainer.fit()
    torch.save(trainer.generator.state_dict(), Path(out) / f"rank{rank}.pt")
    trainer.dist.stop()
    assert not torch.distributed.is_initialized()


@pytest.mark.slow
def test_two_gloo_processes_hold_identical_weights(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    _assert_same_state(rank0, rank1)
    initial = Trainer(_config(tmp_path / "fresh"), _samples()).generator.state_dict()
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0), "training changed nothing"
    assert (tmp_path / "last.safetensors").exists()
    assert not (tmp_path / "rank1").exists()


@pytest.mark.slow
def test_torchrun_runs_the_train_command_on_two_cpu_processes(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(_free_port()), "-m", "ptgfill_cli", "train", str(EXAMPLES),
               "--output", str(out), "--size", "64", "--load-size", "96", "--batch-size", "4", "--steps", "2",
               "--mode", "joint", "--perceptual", "none", "--workers", "0", "--val-fraction", "0",
               "--device", "cpu", "--quiet", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    results = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    assert [r["step"] for r in results] == [2, 2]  # both ranks finished
    assert all(r["images_seen"] == 8 for r in results)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000002.pt"]
    card = json.loads((out / "last.json").read_text())["card"]
    assert card["data"]["train_images"] == len(list_images(EXAMPLES))


def test_time_limit_stops_cleanly_and_resume_continues(tmp_path):
    from ptgfill_cli.weights.resolve import load_model

    config = _config(tmp_path, steps=6, checkpoint_every=100, time_limit=0.001)
    result = Trainer(config, _samples()).fit()
    assert result.stopped_by_time_limit and result.step == 1  # one step, then out of time
    assert result.last_checkpoint == tmp_path / "checkpoints" / "step_00000001.pt"
    assert load_model(str(tmp_path / "last.safetensors")).card["trained_steps"] == 1
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert {"step": 1, "stopped": "time limit"}.items() <= log[-1].items()

    resumed = Trainer(_config(tmp_path, steps=6, checkpoint_every=100), _samples())
    resumed.resume("auto")
    assert resumed.step == 1
    finished = resumed.fit()
    assert finished.step == 6 and not finished.stopped_by_time_limit
    straight = Trainer(_config(tmp_path / "straight", steps=6, checkpoint_every=100), _samples())
    straight.fit()
    _assert_same_state(resumed.generator.state_dict(), straight.generator.state_dict())


def test_a_generous_time_limit_changes_nothing(tmp_path):
    result = Trainer(_config(tmp_path, steps=2, time_limit=3600), _samples()).fit()
    assert result.step == 2 and not result.stopped_by_time_limit


def test_mobilenet_perceptual_and_style_losses_train(tmp_path):
    from ptgfill_cli.models.mobilenet import load_mobilenet_features

    trainer = Trainer(_config(tmp_path, steps=1, perceptual="mobilenet", mode="generator"), _samples(),
                      feature_extractor=load_mobilenet_features())
    record = trainer.train_step(*_batch())
    assert record["perceptual"] > 0 and record["style"] > 0
    with pytest.raises(PTGFillError, match="mobilenet"):
        Trainer(_config(tmp_path, perceptual="mobilenet"), _samples())
    with pytest.raises(PTGFillError, match="perceptual must be one of vgg, mobilenet, none"):
        _config(tmp_path, perceptual="alexnet")


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    samples = _samples()
    items = [samples[(i, i)] for i in range(2)]
    gt = torch.stack([item[0] for item in items])
    return gt, 1 - torch.stack([item[1] for item in items])


def test_learning_rate_warms_up_linearly_by_step(tmp_path):
    trainer = Trainer(_config(tmp_path, steps=3, lr_warmup=4, mode="generator"), _samples())
    gt, known = _batch()
    rates = []
    for _ in range(3):
        trainer.train_step(gt, known)
        rates.append(trainer.opt_g.param_groups[0]["lr"])
        trainer.step += 1
    assert rates == pytest.approx([0.25 * 2e-4, 0.5 * 2e-4, 0.75 * 2e-4])
    with pytest.raises(PTGFillError, match="lr_warmup must be a whole number of at least 0"):
        _config(tmp_path, lr_warmup=-1)


def test_cosine_schedule_warms_up_then_decays_to_its_floor_at_the_last_step(tmp_path):
    config = _config(tmp_path, steps=13, lr_warmup=2, lr_schedule="cosine", mode="generator")
    scales = [learning_rate_scale(config, step) for step in range(13)]
    assert scales[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert all(later < earlier for earlier, later in zip(scales[2:], scales[3:]))
    assert scales[7] == pytest.approx(COSINE_FLOOR + (1 - COSINE_FLOOR) / 2)  # half-way through the decay
    assert scales[-1] == pytest.approx(COSINE_FLOOR)
    constant = _config(tmp_path, steps=12, lr_warmup=2, mode="generator")
    assert [learning_rate_scale(constant, step) for step in (0, 5, 11)] == [0.5, 1.0, 1.0]
    with pytest.raises(PTGFillError, match="lr_schedule must be one of constant, cosine"):
        _config(tmp_path, lr_schedule="linear")


def test_a_run_that_reads_no_image_exports_nothing(tmp_path):
    broken = tmp_path / "data"
    broken.mkdir()
    for name in ("a.jpg", "b.png"):
        (broken / name).write_bytes(b"not an image")
    samples = InpaintingSamples(sorted(broken.iterdir()), 64, GeneratedMasks(), load_size=96)
    with pytest.raises(PTGFillError, match="no training image could be read"):
        Trainer(_config(tmp_path / "run", steps=2, mode="generator"), samples).fit()
    assert not (tmp_path / "run" / "last.safetensors").exists()


def test_sample_grid_shows_holes_in_magenta_and_the_mask_white_for_holes(tmp_path):
    from PIL import Image

    trainer = Trainer(_config(tmp_path, steps=1, mode="generator"), _samples())
    gt, known = _batch()
    path = trainer.write_samples(gt, known)
    sheet = np.asarray(Image.open(path).convert("RGB"))
    header, size, gap = 14, gt.shape[-1], 2
    hole_y, hole_x = map(int, (known[0, 0] == 0).nonzero()[0])
    known_y, known_x = map(int, (known[0, 0] == 1).nonzero()[0])
    masked_input = sheet[header : header + size, :size]
    mask_column = sheet[header : header + size, size + gap : 2 * size + gap]
    assert tuple(masked_input[hole_y, hole_x]) == (255, 0, 255)
    assert tuple(mask_column[hole_y, hole_x]) == (255, 255, 255)
    assert tuple(mask_column[known_y, known_x]) == (0, 0, 0)


def test_resume_refuses_foreign_random_and_too_long_checkpoints(tmp_path):
    first = Trainer(_config(tmp_path / "run", steps=2), _samples())
    first.fit()
    checkpoint = first.latest_checkpoint()
    foreign = tmp_path / "authors.pt"
    torch.save({"generator": first.generator.state_dict()}, foreign)  # a bare state dict, as others ship
    random_bytes = tmp_path / "random.pt"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))

    shorter = Trainer(_config(tmp_path / "run", steps=1), _samples())
    with pytest.raises(PTGFillError, match=r"is 1, but .*step_00000002.pt is already at step 2") as error:
        shorter.resume("auto")
    assert error.value.setting == "steps"
    for path, reason in ((foreign, "not a ptgfill training checkpoint"),
                         (random_bytes, "does not load as plain tensors without running code")):
        trainer = Trainer(_config(tmp_path / "other", steps=4), _samples())
        with pytest.raises(PTGFillError, match=reason) as error:
            trainer.resume(str(path))
        assert "\n" not in str(error.value) and str(path) in str(error.value)
    assert checkpoint.is_file()


def test_hole_squared_error_adds_its_weighted_term_to_the_generator_loss(tmp_path):
    gt, known = _batch()
    records = {}
    for weight in (0.0, 40.0):
        torch.manual_seed(0)
        trainer = Trainer(_config(tmp_path / str(weight), steps=1, mode="generator",
                                  losses=LossWeights(hole_mse=weight)), _samples())
        with torch.no_grad():
            refined = trainer.g_model(gt * known, known).refined.float()
        records[weight] = trainer.train_step(gt, known)
    assert "hole_mse" not in records[0.0]
    expected = float((((1 - known) * (refined - gt)) ** 2).mean())
    assert records[40.0]["hole_mse"] == pytest.approx(expected, rel=1e-4)
    assert records[40.0]["loss_g"] == pytest.approx(records[0.0]["loss_g"] + 40.0 * expected, rel=1e-4)
