"""Does an object-removal fill bring in colours that are not around the hole?

    python benchmarks/object_colours.py IMAGES.txt OUT_DIR METHOD [METHOD ...]

For each image of the list (brought to 256x256 as ``ptgfill evaluate --fit crop`` does) and
each object-hole bucket (5-15, 15-25, 25-40 %; the make-masks ``object`` kind, seed 0, mask i
for image i), every METHOD (a model NAME|PATH, ``opencv-telea`` or ``opencv-ns``) fills the
hole. A filled pixel's colour is *foreign* when no pixel of a 16-pixel ring of known pixels
around the hole has a colour within one 16-level bin per channel of it (RGB quantised to 16^3
bins, the ring's bins grown by one in every direction). Reported per method: the mean share of
foreign pixels in the hole, and the share of cases where over 5 % of the hole is foreign. A
sheet of the cases with the most foreign colour for the first method goes to OUT_DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli.evaluation.catalogue import fit_image  # noqa: E402
from ptgfill_cli.data.datasets import read_rgb  # noqa: E402
from ptgfill_cli.data.grids import save_grid, to_uint8  # noqa: E402
from ptgfill_cli.data.masks import generate_mask, mask_rng  # noqa: E402
from ptgfill_cli.evaluation.baselines import build_methods  # noqa: E402

BUCKETS = ((0.05, 0.15), (0.15, 0.25), (0.25, 0.4))
RING = 16
BIN = 16


def foreign_share(filled: np.ndarray, hole: np.ndarray) -> float:
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((2 * RING + 1, 2 * RING + 1), np.uint8)).astype(bool) & ~hole
    bins = filled.astype(np.int32) // BIN
    present = np.zeros((256 // BIN,) * 3, bool)
    ring_bins = bins[ring]
    present[ring_bins[:, 0], ring_bins[:, 1], ring_bins[:, 2]] = True
    for axis in range(3):  # grow by one bin along each axis in turn: the 3x3x3 neighbourhood
        grown = present.copy()
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis], upper[axis] = slice(None, -1), slice(1, None)
        grown[tuple(lower)] |= present[tuple(upper)]
        grown[tuple(upper)] |= present[tuple(lower)]
        present = grown
    hole_bins = bins[hole]
    return float((~present[hole_bins[:, 0], hole_bins[:, 1], hole_bins[:, 2]]).mean())


def main() -> None:
    images_file, out = Path(sys.argv[1]), Path(sys.argv[2])
    methods = build_methods(sys.argv[3:], torch.device("cpu"))
    paths = [Path(line) for line in images_file.read_text().splitlines() if line.strip()]
    shares = {m.name: [] for m in methods}
    cases = []
    for bucket in BUCKETS:
        for index, path in enumerate(paths):
            truth = fit_image(read_rgb(path), 256, "crop")
            hole = generate_mask("object", 256, 256, bucket, mask_rng(0, bucket, index)) > 127
            image = torch.from_numpy(truth).permute(2, 0, 1)[None].float() / 255
            known = torch.from_numpy(~hole)[None, None].float()
            fills = []
            for method in methods:
                with torch.inference_mode():
                    fill = method.fill(image, known)
                composite = (known * image + (1 - known) * fill.float()).clamp(0, 1)
                filled = to_uint8(composite)[0]
                shares[method.name].append(foreign_share(filled, hole))
                fills.append(composite)
            cases.append((shares[methods[0].name][-1], image * known + (1 - known) * torch.tensor([1.0, 0, 1]).view(1, 3, 1, 1), fills, image))
    print("| method | mean foreign share of the hole | cases over 5 % foreign |")
    print("|---|---:|---:|")
    for name, values in shares.items():
        values = np.array(values)
        print(f"| {name} | {values.mean():.2%} | {(values > 0.05).mean():.1%} ({(values > 0.05).sum()} of {len(values)}) |")
    worst = sorted(cases, key=lambda case: -case[0])[:8]
    columns = [torch.cat([case[1] for case in worst])]
    for position in range(len(methods)):
        columns.append(torch.cat([case[2][position] for case in worst]))
    columns.append(torch.cat([case[3] for case in worst]))
    out.mkdir(parents=True, exist_ok=True)
    save_grid(columns, out / "most-foreign.png", titles=["input", *[m.name for m in methods], "truth"])
    print(f"sheet of the {len(worst)} cases with the most foreign colour for {methods[0].name}: {out / 'most-foreign.png'}")


if __name__ == "__main__":
    main()
