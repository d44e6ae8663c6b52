"""The benchmark: same inputs for every implementation, equal outputs, ratios from one run."""

from __future__ import annotations


import pytest
import torch

from ptgfill_cli.config import preset
from ptgfill_cli.benchmark import (
    benchmark_generator, benchmark_inputs, counted_gflop, speedups, time_interleaved,
)
from ptgfill_cli.models.factory import build_generator


def test_inputs_are_a_real_photo_with_a_bucketed_hole():
    image, known = benchmark_inputs(64, 2)
    assert image.shape == (2, 3, 64, 64) and known.shape == (2, 1, 64, 64)
    assert torch.equal(image[0], image[1])
    hole = 1 - known[0].mean().item()
    assert 0.3 <= hole < 0.4
    assert image.std() > 0.1  # a photo, not a flat image
    from tests.conftest import EXAMPLES
    photo = benchmark_inputs(64, 1, image_path=EXAMPLES / "astronaut.png")[0]
    assert torch.equal(image[:1], photo)  # the default is the repository's astronaut


def test_without_the_examples_folder_the_inputs_are_a_synthetic_picture(tmp_path):
    image, known = benchmark_inputs(64, 1, image_path=tmp_path / "absent.png")
    assert image.shape == (1, 3, 64, 64) and image.std() > 0.1


def test_benchmark_reports_every_implementation_with_equal_outputs():
    model = build_generator(preset("lite", attention="per-token"), seed=0)
    results = benchmark_generator(model, "lite", 64, 1, torch.device("cpu"), warmup=0, repeats=2)
    assert [r.implementation for r in results] == ["ptgfill", "straightforward", "opencv-telea"]
    assert results[0].max_abs_diff_vs_straightforward < 1e-4
    for r in results:
        assert r.median_s > 0 and r.repeats == 2 and r.images_per_s == r.batch_size / r.median_s
    versus = {row["versus"] for row in speedups(results)}
    assert versus == {"straightforward lite", "opencv-telea"}
    # the rewrites do less arithmetic than the published computation; Telea is not counted
    fast, straightforward, telea = results
    assert 0 < fast.gflop < straightforward.gflop and telea.gflop is None
    assert fast.gflop_per_s == pytest.approx(fast.gflop / fast.median_s)


@pytest.mark.parametrize("warmup,runs", [(0, 1 + 2), (1, 1 + 2), (3, 3 + 2)])
def test_the_counted_run_is_the_first_warm_up(warmup: int, runs: int):
    model = build_generator("lite", seed=0)
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    benchmark_generator(model, "lite", 64, 1, torch.device("cpu"), warmup=warmup, repeats=2,
                        compare=False, telea=False)
    assert len(calls) == runs


def test_implementations_are_timed_round_robin():
    calls = []
    measured = time_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, torch.device("cpu"), warmup=1, repeats=3
    )
    assert calls == ["a", "b"] * 4
    for timing in measured.values():
        assert len(timing.times) == 3 and all(t >= 0 for t in timing.times) and timing.memory.peak_mb > 0
    assert measured["a"].last_output is None  # list.append's return value, kept from the last run
    counter = iter(range(10))
    assert time_interleaved({"n": lambda: next(counter)}, torch.device("cpu"), 2, 3)["n"].last_output == 4


def test_flop_count_of_a_known_convolution():
    conv = torch.nn.Conv2d(8, 16, 3, padding=1)
    x = torch.randn(2, 8, 10, 12)
    assert counted_gflop(lambda: conv(x)) == pytest.approx(2 * 2 * 16 * 10 * 12 * 8 * 9 / 1e9)


def test_flop_count_includes_the_cpu_attention_kernels():
    q, k, v = (torch.randn(2, 4, n, 16) for n in (10, 12, 12))
    with torch.inference_mode():
        sdpa = counted_gflop(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))
    assert sdpa == pytest.approx(2 * (2 * 2 * 4 * 10 * 12 * 16) / 1e9)
    attention = torch.nn.MultiheadAttention(64, 4, batch_first=True).eval()
    x = torch.randn(3, 10, 64)
    with torch.inference_mode():  # the fused inference op
        fused = counted_gflop(lambda: attention(x, x, x, need_weights=False))
    op_by_op = counted_gflop(lambda: attention(x, x, x, need_weights=False))  # grad enabled
    assert fused == pytest.approx(op_by_op) and fused > 0


def test_onnxruntime_and_eager_are_timed_beside_the_compiled_or_eager_network():
    pytest.importorskip("onnxruntime")
    from ptgfill_cli.benchmark import onnx_network_for

    model = build_generator("lite", seed=0)
    network = onnx_network_for(model, threads=1)
    results = benchmark_generator(model, "lite", 64, 2, torch.device("cpu"), warmup=1, repeats=2,
                                  telea=False, onnx_network=network)
    assert [r.implementation for r in results] == ["ptgfill", "onnxruntime", "straightforward"]
    assert results[1].max_abs_diff_vs_straightforward < 1e-4 and results[1].gflop == results[0].gflop
    rows = speedups(results)
    assert {row["versus"] for row in rows} == {"onnxruntime lite", "straightforward lite"}


def test_a_cpu_benchmark_that_would_not_fit_in_free_memory_is_refused_first(monkeypatch):
    from ptgfill_cli import benchmark
    from ptgfill_cli.errors import SettingError
    from ptgfill_cli.models.factory import build_generator
    model = build_generator("lite", seed=0)
    monkeypatch.setattr(benchmark, "available_bytes", lambda: 2 * 10**9)
    with pytest.raises(SettingError, match=r"4096 at batch 1 needs about 12.2 GB on the CPU and 2.0 GB is free"):
        benchmark.check_fits_in_memory(model, 4096, 1, torch.device("cpu"))
    benchmark.check_fits_in_memory(model, 512, 1, torch.device("cpu"))  # 0.2 GB: fits
    benchmark.check_fits_in_memory(model, 4096, 1, torch.device("meta"))  # not the system's memory


@pytest.mark.parametrize("flip_average", [False, True])
def test_the_flip_averaged_inpaint_path_runs_two_passes_per_image(monkeypatch, flip_average: bool):
    from ptgfill_cli.benchmark import benchmark_inpaint_path
    from ptgfill_cli.inference import upscale  # where the inpainter's fills are flip-averaged

    calls, original = [], upscale.flip_averaged

    def counting(generate, image, known):
        calls.append(image.shape)
        return original(generate, image, known)

    monkeypatch.setattr(upscale, "flip_averaged", counting)
    model = build_generator(preset("lite"))
    result = benchmark_inpaint_path(model, "lite", 64, torch.device("cpu"), images=2, warmup=0, repeats=1,
                                    flip_average=flip_average)
    assert result.implementation == ("inpaint path (flip-average)" if flip_average else "inpaint path")
    assert len(calls) == (2 if flip_average else 0)  # one flip-averaged fill per image
