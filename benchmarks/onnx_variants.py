"""Speed of ONNX exports (fp32, fp16, 8-bit dynamic) on onnxruntime's CPU provider, beside
PyTorch eager on the same inputs, timed round-robin in one process (ratios within one run).
Usage: python benchmarks/onnx_variants.py FILE.onnx... [--sizes 256,512] [--repeats 7] > out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics

import torch

from ptgfill_cli.benchmark import benchmark_inputs, time_interleaved
from ptgfill_cli.inference.onnx_network import OnnxNetwork
from ptgfill_cli.weights.resolve import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    networks = {path: OnnxNetwork(path, device="cpu") for path in args.files}
    names = {network.name for network in networks.values()}
    if len(names) != 1:
        raise SystemExit(f"the files are exports of different models: {sorted(names)}")
    generator = load_model(names.pop()).generator.prepare_for_inference(channels_last=True)
    rows = []
    for size in (int(side) for side in args.sizes.split(",")):
        image, known = benchmark_inputs(size, 1)
        pixels, mask = image.numpy(), known.numpy()

        def eager():
            with torch.inference_mode():
                return generator(image, known).refined

        runs = {"torch eager fp32": eager}
        for path, network in networks.items():
            runs[f"onnxruntime {network.info.weights} ({path})"] = (lambda n=network: n.generate(pixels, mask)[0])
        measured = time_interleaved(runs, torch.device("cpu"), args.warmup, args.repeats)
        base = statistics.median(measured["torch eager fp32"].times)
        for name, timing in measured.items():
            median = statistics.median(timing.times)
            rows.append({"implementation": name, "size": size, "median_s": median, "min_s": min(timing.times),
                         "max_s": max(timing.times), "speedup_vs_torch_eager": base / median})
    print(json.dumps({"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
