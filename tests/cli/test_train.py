"""`ptgfill train` from the command line: several weighted sources, crops, time limit, MobileNet loss, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import EXAMPLES, REPO_ROOT


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ptgfill_cli", "train", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600, env=None)


def test_two_weighted_sources_with_resized_crops_train_and_are_recorded(tmp_path):
    second = tmp_path / "more"
    second.mkdir()
    for photo in sorted(EXAMPLES.glob("*.jpg")):
        shutil.copy(photo, second / f"copy_{photo.name}")
    out = tmp_path / "run"
    finished = _train(str(EXAMPLES), str(second), "--source-weights", "1,3", "--crop-scale", "0.1,1",
                      "--test-fraction", "0.2", "--val-fraction", "0.2", "--output", str(out), "--size", "64",
                      "--batch-size", "2", "--steps", "2", "--mode", "generator", "--perceptual", "mobilenet",
                      "--workers", "0", "--device", "cpu", "--time-limit", "10m", "--json")
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert json.loads(finished.stdout.strip().splitlines()[-1])["step"] == 2
    card = json.loads((out / "last.json").read_text())["card"]
    sources = card["data"]["sources"]
    assert [s["source"] for s in sources] == [str(EXAMPLES), str(second)]
    assert [s["share"] for s in sources] == [0.25, 0.75]
    assert "first 20%" in card["data"]["test"]
    assert card["train_config"]["crop_scale"] == [0.1, 1.0] and card["train_config"]["time_limit"] == 600
    # MobileNet's own default loss weights, not VGG16's.
    assert card["train_config"]["losses"]["perceptual"] == 0.004
    assert card["train_config"]["losses"]["style"] == 0.15
    # A checkpoint becomes a model file with `weights from-checkpoint`, and loads.
    checkpoint = sorted((out / "checkpoints").glob("step_*.pt"))[-1]
    exported = subprocess.run([sys.executable, "-m", "ptgfill_cli", "weights", "from-checkpoint", str(checkpoint),
                               str(tmp_path / "from-checkpoint.safetensors")], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    from ptgfill_cli.weights.resolve import load_model

    assert load_model(str(tmp_path / "from-checkpoint.safetensors")).card["trained_steps"] == 2


def test_bad_mix_and_duration_options_are_one_line_errors(tmp_path):
    base = ["--output", str(tmp_path / "run"), "--perceptual", "none", "--device", "cpu"]
    for args, message in [
        ([str(EXAMPLES), str(EXAMPLES), "--source-weights", "1"], "--source-weights must give one weight per source: 1 for 2 sources"),
        ([str(EXAMPLES), "--source-weights", "1,x"], "--source-weights must be comma-separated numbers"),
        ([str(EXAMPLES), "--source-weights", "0"], "--source-weights"),
        ([str(EXAMPLES), "--time-limit", "2x"], "duration '2x'"),
        ([str(EXAMPLES), "--crop-scale", "0,1"], "--crop-scale"),
    ]:
        finished = _train(*args, *base)
        assert finished.returncode == 2, (args, finished.stderr[-1000:])
        assert message in finished.stderr and "Traceback" not in finished.stderr, (args, finished.stderr[-1000:])
        assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr


def test_train_says_when_it_resumed_and_when_validation_is_thin(tmp_path):
    out = tmp_path / "run"
    common = [str(EXAMPLES), "--output", str(out), "--size", "64", "--batch-size", "2", "--mode", "generator",
              "--perceptual", "none", "--workers", "0", "--device", "cpu", "--val-fraction", "0.2",
              "--resume", "auto", "--quiet"]
    first = _train(*common, "--steps", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "resumed" not in first.stderr
    assert "ptgfill train: warning: only" in first.stderr and "validation image(s)" in first.stderr
    second = _train(*common, "--steps", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"ptgfill train: resumed from {out / 'checkpoints'}" in second.stderr
    assert "at step 1 of 2" in second.stderr


def test_bad_options_are_one_line_errors_naming_the_flag_before_any_data_is_read(tmp_path):
    missing = str(tmp_path / "no-such-folder")  # never listed: the options fail first
    for args, flag in [(["--preset", "lyte"], "--preset: 'lyte' is not one of 'base', 'lite', 'paper'"),
                       (["--attention", "tokenz"], "--attention: 'tokenz' is not one of"),
                       (["--mode", "gan"], "--mode: 'gan' is not one of"),
                       (["--size", "0"], "--size must be"),
                       (["--workers", "-1"], "--workers must be"),
                       (["--w-hole", "inf"], "--w-hole must be a finite weight"),
                       (["--val-fraction", "-0.1"], "--val-fraction must be in [0, 1)"),
                       (["--ema-decay", "2"], "--ema-decay must be in [0, 1)")]:
        finished = _train(missing, "--output", str(tmp_path / "run"), *args)
        assert finished.returncode == 2, (args, finished.stderr)
        lines = finished.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ptgfill: error: {flag}"), (args, finished.stderr)


def test_sigterm_stops_a_run_with_one_line_and_no_temporary_files(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "ptgfill_cli", "train", str(EXAMPLES), "--output", str(out), "--size", "64",
         "--batch-size", "2", "--steps", "100000", "--mode", "generator", "--perceptual", "none", "--workers", "0",
         "--device", "cpu", "--log-every", "1", "--checkpoint-every", "1", "--quiet"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (out / "log.jsonl").is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # mid-run: checkpoints are being written every step
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == "ptgfill: interrupted" and "Traceback" not in stderr
    assert not list(out.rglob("*.tmp"))
