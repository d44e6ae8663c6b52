"""Timing the generator against the straightforward published computation and OpenCV.

Every implementation in one run sees the same inputs: a real photo resized to
the benchmark size with a fixed irregular hole mask. Times are medians of
repeated runs after warm-up; speed-ups are ratios within one run, which is what
a noisy shared machine can support.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import torch

from .config import preset
from .data.grids import to_uint8
from .errors import SettingError
from .runtime.memory import available_bytes, fill_bytes, gigabytes
from .runtime.precision import AUTOCAST_DTYPES, compiled_for_inference

if TYPE_CHECKING:  # pragma: no cover
    from .inference.onnx_network import OnnxNetwork

INPAINT_PATHS = ("inpaint path", "inpaint path (serial)", "inpaint path (flip-average)")  # overlapped, serial, flipped
EAGER = "ptgfill eager"  # beside a compiled "ptgfill", the same network uncompiled
ONNXRUNTIME = "onnxruntime"  # the network exported to ONNX (fp32), on onnxruntime's CPU provider


@dataclass
class BenchmarkResult:
    implementation: str
    model: str
    size: int
    batch_size: int
    device: str
    precision: str
    median_s: float  # per batch
    min_s: float
    max_s: float
    repeats: int
    images_per_s: float
    peak_memory_mb: float | None
    memory_kind: str
    compile_s: float | None = None
    max_abs_diff_vs_straightforward: float | None = None
    gflop: float | None = None  # per batch, counted by torch's FlopCounterMode (2 per multiply-add)

    @property
    def gflop_per_s(self) -> float | None:
        return None if self.gflop is None else self.gflop / self.median_s

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "gflop_per_s": self.gflop_per_s}


def load_benchmark_model(spec: str, attention: str | None = None) -> tuple[torch.nn.Module, str]:
    """The generator ``spec`` names and its label: a preset with random weights (timing does
    not depend on them; ``paper`` computes per token by default, as the authors' checkpoints
    do), or a model (NAME|PATH|hf://...) as ``load_model`` resolves it."""
    from .config import PRESETS
    from .models.factory import build_generator

    if spec in PRESETS:
        from .weights.authors import AUTHORS_CONFIG

        mode = attention or (AUTHORS_CONFIG.attention if spec == "paper" else "tokens")
        return build_generator(preset(spec, attention=mode), seed=0), f"{spec} ({mode})"
    from .weights.resolve import load_model

    loaded = load_model(spec)
    return loaded.generator, loaded.name


def benchmark_inputs(size: int, batch_size: int, image_path: Path | None = None, seed: int = 0):
    """(image, known) tensors: a real photo and a fixed 30-40 % irregular hole mask."""
    import cv2
    from PIL import Image

    from .data.masks import generate_mask

    if image_path is None:
        image_path = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
    if image_path.is_file():
        pixels = np.asarray(Image.open(image_path).convert("RGB"))
    else:  # an installed package without the examples folder: a smooth synthetic picture
        ramp = np.linspace(0, 255, 512, dtype=np.float32)
        pixels = np.stack([*np.meshgrid(ramp, ramp[::-1]), np.full((512, 512), 128.0)], -1).astype(np.uint8)
    pixels = cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA)
    hole = generate_mask("irregular", size, size, (0.3, 0.4), np.random.default_rng(seed)) > 127
    image = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255)[None].repeat(batch_size, 1, 1, 1)
    known = torch.from_numpy(~hole).float()[None, None].repeat(batch_size, 1, 1, 1)
    return image, known


class PeakMemory:
    """Peak memory of the measured blocks: CUDA max allocated, or CPU peak RSS.

    On Linux the RSS high-water mark is reset before the block (``/proc/self/clear_refs``);
    elsewhere it is the process's peak so far.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.kind = "cuda max allocated" if device.type == "cuda" else "cpu peak rss"
        self.peak_mb: float | None = None

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._reset_rss_peak()
        yield
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = self._rss_peak_mb()
        self.peak_mb = peak if self.peak_mb is None else max(self.peak_mb, peak)

    def _reset_rss_peak(self) -> None:
        from .runtime.allocator import allocator_state

        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.kind = "cpu peak rss"
        except OSError:
            self.kind = "cpu peak rss (process)"
        if allocator_state() == "keep-freed":
            # memory freed before the block stays resident, so the peak is not the block's own
            self.kind = "cpu peak rss (process; freed memory is kept)"

    @staticmethod
    def _rss_peak_mb() -> float:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    times: list[float]  # seconds per run
    memory: PeakMemory
    last_output: Any = None  # what the last timed run returned


def time_interleaved(
    runs: dict[str, Callable[[], Any]], device: torch.device, warmup: int, repeats: int
) -> dict[str, Timing]:
    """Time several implementations round-robin (one run of each per round), so that a
    shared machine's drift during the measurement falls on all of them alike. Peak
    memory is the highest of each implementation's own runs."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    _synchronize(device)
    measured = {name: Timing([], PeakMemory(device)) for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            timing = measured[name]
            with timing.memory.measure():
                start = time.perf_counter()
                timing.last_output = run()
                _synchronize(device)
                timing.times.append(time.perf_counter() - start)
    return measured


def time_callable(run: Callable[[], Any], device: torch.device, warmup: int, repeats: int) -> Timing:
    return time_interleaved({"run": run}, device, warmup, repeats)["run"]


def _cpu_attention_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query, key, value)


def _native_attention_flops(query, key, value, embed_dim, heads, *args, out_shape=None, **kwargs) -> int:
    """``nn.MultiheadAttention``'s fused inference op: projections, attention, output."""
    batch, queries, dim = query
    keys = key[1]
    projections = 2 * dim * dim * (2 * queries + 2 * keys)  # query, output; key, value
    return batch * (projections + 2 * 2 * queries * keys * dim)


def counted_gflop(run: Callable[[], Any]) -> float:
    """The arithmetic of one call of ``run`` in GFLOP (convolutions, matmuls, attention),
    with formulas for the CPU attention kernels torch's counter does not know."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    counter = FlopCounterMode(display=False, custom_mapping={
        aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flops,
        aten._native_multi_head_attention: _native_attention_flops,
    })
    with counter:
        run()
    return counter.get_total_flops() / 1e9


def _result(implementation: str, model: str, size: int, batch: int, device: torch.device,
            precision: str, times: list[float], memory: PeakMemory, **extra: Any) -> BenchmarkResult:
    median = statistics.median(times)
    return BenchmarkResult(
        implementation=implementation, model=model, size=size, batch_size=batch, device=str(device),
        precision=precision, median_s=median, min_s=min(times), max_s=max(times), repeats=len(times),
        images_per_s=batch / median, peak_memory_mb=memory.peak_mb, memory_kind=memory.kind, **extra,
    )


def check_fits_in_memory(model: torch.nn.Module, size: int, batch_size: int, device: torch.device) -> None:
    """Refuse (SettingError) a CPU benchmark whose network would not fit in free memory, by the
    estimate of ``runtime.memory`` scaled by the model's width against ``lite``'s, for which it
    was measured (a 4096x4096 ``lite`` needs about 12 GB)."""
    if device.type != "cpu":
        return
    config = getattr(model, "config", None)
    width = config.base_channels / preset("lite").base_channels if config is not None else 1.0
    need = int(fill_bytes(size * size, size * size, batch_size, process=False) * max(1.0, width))
    free = available_bytes()
    if free is not None and need > free:
        raise SettingError("size", f"{size} at batch {batch_size} needs about {gigabytes(need)} on the CPU and "
                                   f"{gigabytes(free)} is free: give a smaller --size or --batch-size")


def benchmark_generator(
    model: torch.nn.Module, model_name: str, size: int, batch_size: int, device: torch.device, *,
    precision: str = "fp32", warmup: int = 2, repeats: int = 5, compare: bool = True,
    compile_model: bool = False, channels_last: bool | None = None, telea: bool = True,
    onnx_network: OnnxNetwork | None = None,
) -> list[BenchmarkResult]:
    """Time ptgfill's generator and, with ``compare``, the straightforward computation
    (fp32, batch as given); with ``telea``, OpenCV Telea on the same inputs; with
    ``compile_model``, the compiled generator and the eager one; with ``onnx_network``
    (:func:`onnx_network_for` of the same model), onnxruntime.
    ``channels_last`` None: as ``Inpainter`` chooses (on for CPU)."""
    from .models.reference import straightforward_copy

    check_fits_in_memory(model, size, batch_size, device)
    image, known = benchmark_inputs(size, batch_size)
    image, known = image.to(device), known.to(device)
    dtype = AUTOCAST_DTYPES[precision]
    if channels_last is None:
        channels_last = device.type == "cpu"
    fast = model.to(device).prepare_for_inference(channels_last=channels_last)
    compile_s = None
    runner: Callable = fast
    if compile_model:
        runner = compiled_for_inference(fast)
        start = time.perf_counter()
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            runner(image, known)
        _synchronize(device)
        compile_s = time.perf_counter() - start

    def run_fast():
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            return runner(image, known).refined

    def run_eager():
        with torch.inference_mode():
            return fast(image, known)

    runs = {"ptgfill": run_fast}
    if compile_model:
        runs[EAGER] = lambda: run_eager().refined
    if onnx_network is not None:
        pixels, mask = image.cpu().numpy(), known.cpu().numpy()
        runs[ONNXRUNTIME] = lambda: onnx_network.generate(pixels, mask)[0]
    if compare:
        reference = straightforward_copy(fast).to(device)

        def run_reference():
            with torch.inference_mode():
                return reference(image, known).refined

        runs["straightforward"] = run_reference

    # Counting the arithmetic runs each implementation once, which serves as its first
    # warm-up; a compiled model already ran once to compile, and its eager original
    # (what the counter can see) does the same arithmetic.
    # torch's counter sees only torch: a compiled model's and onnxruntime's arithmetic is the
    # eager network's.
    eager_gflop = counted_gflop(run_eager) if compile_model or onnx_network is not None else None
    gflop = {
        name: eager_gflop if name in (EAGER, ONNXRUNTIME) or (name == "ptgfill" and compile_model) else counted_gflop(run)
        for name, run in runs.items()
    }
    measured = time_interleaved(runs, device, max(warmup - 1, 0), repeats)
    results = []
    fast_timing = measured["ptgfill"]
    diff = None
    for name in (EAGER, ONNXRUNTIME):
        if name in measured:
            timing = measured[name]
            other_diff = None
            if compare:
                other = torch.as_tensor(timing.last_output).float()
                other_diff = float((other - measured["straightforward"].last_output).abs().max())
            results.append(_result(name, model_name, size, batch_size, device, "fp32", timing.times, timing.memory,
                                   max_abs_diff_vs_straightforward=other_diff, gflop=gflop[name]))
    if compare:
        reference_timing = measured["straightforward"]
        diff = float((fast_timing.last_output.float() - reference_timing.last_output).abs().max())
        results.append(_result("straightforward", model_name, size, batch_size, device, "fp32",
                               reference_timing.times, reference_timing.memory,
                               gflop=gflop["straightforward"]))
    if telea:
        results.append(_benchmark_telea(image, known, model_name, size, batch_size, warmup, repeats))
    results.insert(0, _result("ptgfill", model_name, size, batch_size, device, precision,
                              fast_timing.times, fast_timing.memory,
                              compile_s=compile_s, max_abs_diff_vs_straightforward=diff, gflop=gflop["ptgfill"]))
    return results


def onnx_network_for(model: torch.nn.Module, threads: int | None = None) -> OnnxNetwork:
    """The model exported to a temporary ONNX file (dynamic size and batch, so once serves
    every benchmark case) and loaded by onnxruntime on the CPU."""
    import tempfile

    from .export.onnx_export import export_generator_onnx
    from .inference.onnx_network import OnnxNetwork

    with tempfile.TemporaryDirectory(prefix="ptgfill-benchmark-") as folder:
        path = export_generator_onnx(model, "benchmark", Path(folder) / "model.onnx")
        return OnnxNetwork(path, device="cpu", threads=threads)


def benchmark_inpaint_path(
    model: torch.nn.Module, model_name: str, size: int, device: torch.device, *, precision: str = "fp32",
    images: int = 4, warmup: int = 1, repeats: int = 3, channels_last: bool | None = None,
    overlap: bool = True, compile_model: bool = False, flip_average: bool = False,
) -> BenchmarkResult:
    """Time what ``ptgfill inpaint`` does for a folder of ``images`` JPEG photos of
    ``size`` x ``size`` with one PNG mask: decode, prepare, network, composite, encode,
    write. ``median_s`` is per image; ``overlap`` as in ``run_file_jobs``; ``flip_average`` as
    ``inpaint --flip-average`` (overlapped)."""
    import tempfile

    from PIL import Image

    from .data.pairing import FileJob
    from .inference.batch import run_file_jobs
    from .inference.inpainter import Inpainter

    image, known = benchmark_inputs(size, 1)
    inpainter = Inpainter(
        model, device=device, precision=precision, channels_last=channels_last, compile=compile_model,
        flip_average=flip_average,
    )
    with tempfile.TemporaryDirectory(prefix="ptgfill-benchmark-") as folder:
        root = Path(folder)
        pixels = to_uint8(image[:1])[0]
        for number in range(images):
            Image.fromarray(pixels).save(root / f"photo{number}.jpg", quality=95)
        Image.fromarray(((1 - known[0, 0].numpy()) * 255).astype(np.uint8)).save(root / "mask.png")
        runs = itertools.count()

        def run() -> None:
            out = root / f"out{next(runs)}"
            jobs = [FileJob(root / f"photo{n}.jpg", root / "mask.png", out / f"photo{n}.png") for n in range(images)]
            for result in run_file_jobs(inpainter, jobs, overlap=overlap):
                if not result.ok:
                    raise RuntimeError(result.error)

        timing = time_callable(run, device, warmup, repeats)
    name = INPAINT_PATHS[2] if flip_average else INPAINT_PATHS[0] if overlap else INPAINT_PATHS[1]
    return _result(name, model_name, size, 1, device, precision, [t / images for t in timing.times], timing.memory)


def _benchmark_telea(image: torch.Tensor, known: torch.Tensor, model_name: str, size: int, batch: int,
                     warmup: int, repeats: int) -> BenchmarkResult:
    import cv2

    pixels = to_uint8(image)
    holes = ((1 - known.cpu()[:, 0].numpy()) * 255).astype(np.uint8)

    def run():
        return [cv2.inpaint(p, h, 3, cv2.INPAINT_TELEA) for p, h in zip(pixels, holes)]

    timing = time_callable(run, torch.device("cpu"), warmup, repeats)
    return _result("opencv-telea", "-", size, batch, torch.device("cpu"), "uint8", timing.times, timing.memory)


def speedups(results: list[BenchmarkResult]) -> list[dict[str, Any]]:
    """ptgfill's speed-up, at the same size and batch, over the straightforward computation
    of the same model and of the published (paper) network, and over OpenCV Telea."""
    rows = []
    for fast in (r for r in results if r.implementation == "ptgfill"):
        for other in results:
            if other.implementation == "ptgfill" or other.implementation in INPAINT_PATHS:
                continue  # the inpaint path is the generator plus I/O: not a rival
            if (other.size, other.batch_size) != (fast.size, fast.batch_size):
                continue
            published = other.model.startswith("paper")
            if other.implementation == "straightforward" and other.model != fast.model and not published:
                continue
            if other.implementation in (EAGER, ONNXRUNTIME) and other.model != fast.model:
                continue  # other runtimes of the same network only
            versus = other.implementation if other.model == "-" else f"{other.implementation} {other.model}"
            rows.append({
                "model": fast.model, "size": fast.size, "batch_size": fast.batch_size,
                "precision": fast.precision, "versus": versus, "speedup": other.median_s / fast.median_s,
            })
    return rows
