"""The thin-hole upscaling sheet of the general model's card: two Kodak example photos (brought
to 256x256 as ``ptgfill evaluate --fit crop`` does) with drawn scratches (3-6 px wide lines, seed 11), filled with --upscale off
and auto; zoomed crops of input, off, auto and the original, and each fill's PSNR.

    python benchmarks/thin_hole_sheet.py [OUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ptgfill_cli.data.datasets import read_rgb
from ptgfill_cli.evaluation.catalogue import fit_image
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.inference.upscale import hole_depth
from ptgfill_cli.metrics import psnr

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SIZE = 256
CROPS = (("kodim23", 30, 150), ("kodim23", 100, 40), ("kodim05", 120, 40))  # photo, top, left
CROP, ZOOM = 96, 3


def scratches(seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for _ in range(9):
        points = np.cumsum(rng.integers(-40, 41, (5, 2)), 0) + rng.integers(40, SIZE - 40, 2)
        cv2.polylines(mask, [points.astype(np.int32)], False, 255, int(rng.integers(3, 7)))
    return mask > 127


def as_batch(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].double() / 255


def psnr_db(filled: np.ndarray, original: np.ndarray) -> float:
    return psnr(as_batch(filled), as_batch(original)).item()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/upscale-thin-holes.jpg")
    hole = scratches()
    print(f"scratches: {100 * hole.mean():.1f} % of the image, mean depth {hole_depth(~hole):.2f} px")
    fillers = {mode: Inpainter.from_pretrained("ptgfill-lite-general", device="cpu", upscale=mode) for mode in ("off", "auto")}
    filled = {}
    for name in sorted({name for name, _, _ in CROPS}):
        original = fit_image(read_rgb(EXAMPLES / f"{name}.jpg"), SIZE, "crop")
        filled[name] = {"original": original}
        for mode, inpainter in fillers.items():
            result = inpainter.inpaint(original, hole)
            filled[name][mode] = result.pixels
            print(f"{name} --upscale {mode}: {psnr_db(result.pixels, original):.2f} dB (upscaled: {result.upscaled})")
        shown = original.copy()
        shown[hole] = (255, 0, 255)
        filled[name]["input"] = shown
    rows = [np.concatenate([filled[name][kind][top:top + CROP, left:left + CROP] for kind in ("input", "off", "auto", "original")], 1)
            for name, top, left in CROPS]
    sheet = np.concatenate(rows, 0).repeat(ZOOM, 0).repeat(ZOOM, 1)
    Image.fromarray(sheet).save(out, quality=88)
    print(f"wrote {out}: columns input, --upscale off, --upscale auto, original")


if __name__ == "__main__":
    main()
