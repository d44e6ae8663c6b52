"""A 4000x3000 photo with a small hole costs about what the hole's crop costs.

Fills one hole in a 4000x3000 photo (an example photo scaled up) with the crop
strategy, and the same region cut out as its own image, with one Inpainter in
one process: median seconds of several runs and the peak RSS of each case (the
process's RSS includes the 34 MB photo array in both cases).

    python benchmarks/large_photo_crop.py [--model NAME|PATH] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ptgfill_cli.benchmark import PeakMemory
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.inference.working import plan_working

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _timed(run, repeats: int) -> tuple[float, float]:
    import torch

    run()  # warm-up
    memory = PeakMemory(torch.device("cpu"))
    times = []
    with memory.measure():
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(times), memory.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name or path (default: the default model)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # glibc's default allocator (not the ptgfill command's keep-freed setting), so that
    # memory freed by one case does not count in the next case's peak RSS.

    small = np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB"))
    photo = cv2.resize(small, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    hole = np.zeros((3000, 4000), np.uint8)
    cv2.ellipse(hole, (2500, 1200), (90, 60), 30, 0, 360, 1, -1)  # ~17,000 pixels
    hole = hole.astype(bool)

    inpainter = Inpainter.from_pretrained(args.model, device="cpu")
    [plan] = plan_working(hole, "auto", multiple=inpainter.network.size_multiple)
    region = plan.region
    rows, cols = slice(region.top, region.top + region.height), slice(region.left, region.left + region.width)
    crop, crop_hole = np.ascontiguousarray(photo[rows, cols]), np.ascontiguousarray(hole[rows, cols])

    full_s, full_mb = _timed(lambda: inpainter.inpaint(photo, hole), args.repeats)
    crop_s, crop_mb = _timed(lambda: inpainter.inpaint(crop, crop_hole), args.repeats)
    report = {
        "photo": "4000x3000", "hole_pixels": int(hole.sum()), "strategy": plan.strategy,
        "crop": f"{region.width}x{region.height}", "network_input": "x".join(map(str, plan.padded_size[::-1])),
        "photo_s": round(full_s, 4), "crop_s": round(crop_s, 4), "time_ratio": round(full_s / crop_s, 2),
        "photo_peak_rss_mb": round(full_mb), "crop_peak_rss_mb": round(crop_mb),
        "photo_array_mb": round(photo.nbytes / 2**20),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
