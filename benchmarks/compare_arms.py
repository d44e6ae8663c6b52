"""Score the runs of benchmarks/compare_recipes.sh on their validation split, and draw a sheet.

    python benchmarks/compare_arms.py runs/compare ARM [ARM ...]

An ARM is a run folder under the first argument, or any model (NAME|PATH) to score beside them.

Every run's exported EMA model (``last.safetensors``), evaluated in fp32 on the same 60
validation images (3 % of each source after the 5 % test split; 128x128 centre crops) with
the same fixed masks as during training: PSNR and SSIM of the composite, and hole sharpness,
the mean |Laplacian| of the fill inside the holes over that of the truth (1 = as much fine
detail as the photo, below 1 = blurrier). OpenCV Telea is scored beside them. The sheet
(``ARMS_DIR/comparison.png``) shows the first 8 cases: input, each run, Telea, truth.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli.data.grids import save_grid, to_uint8  # noqa: E402
from ptgfill_cli.training.setup import build_samples  # noqa: E402
from ptgfill_cli.training.settings import TrainConfig, TrainData  # noqa: E402
from ptgfill_cli.weights.resolve import load_model  # noqa: E402
from ptgfill_cli.metrics import psnr, ssim  # noqa: E402


# As benchmarks/train_general.sh splits each source (the card records neither fraction).
TEST_FRACTION, VAL_FRACTION = 0.05, 0.03


def _laplacian_energy(images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    grey = images.mean(dim=1, keepdim=True)
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    response = torch.nn.functional.conv2d(grey, kernel, padding=1).abs()
    return (response * holes).sum(dim=(1, 2, 3))


def main() -> None:
    root, arms = Path(sys.argv[1]), sys.argv[2:]
    run = next(root / a for a in arms if (root / a).is_dir())
    train_config = json.loads((run / "train_config.json").read_text())
    data = json.loads((run / "last.json").read_text())["card"]["data"]  # the run's own sources and weights
    config = TrainConfig(out_dir="/tmp/unused", size=train_config["size"], crop_scale=tuple(train_config["crop_scale"]),
                         perceptual="none", device="cpu")
    _, val, _ = build_samples(config, TrainData(
        tuple(s["source"] for s in data["sources"]), source_weights=tuple(s["weight"] for s in data["sources"]),
        val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, val_count=data["val_images"]))
    items = [val[(i, train_config["seed"] + i)] for i in range(len(val))]
    gt = torch.stack([item[0] for item in items])
    holes = torch.stack([item[1] for item in items])
    known = 1 - holes
    fills: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for arm in arms:
            spec = str(root / arm / "last.safetensors") if (root / arm).is_dir() else arm  # a run, or a model
            generator = load_model(spec).generator.eval()
            refined = torch.cat([generator(gt[i:i + 8] * known[i:i + 8], known[i:i + 8]).refined for i in range(0, len(gt), 8)])
            fills[arm] = known * gt + holes * refined.clamp(0, 1)
    telea = []
    for image, hole in zip(gt, holes):
        rgb = to_uint8(image[None])[0]
        filled = cv2.inpaint(rgb, (hole[0].numpy() > 0.5).astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
        telea.append(torch.from_numpy(filled).permute(2, 0, 1).float() / 255)
    fills["opencv-telea"] = torch.stack(telea)
    truth_energy = _laplacian_energy(gt, holes)
    print("| run | val PSNR | val SSIM | hole sharpness |")
    print("|---|---:|---:|---:|")
    for name, fill in fills.items():
        quantised = (fill * 255 + 0.5).floor() / 255
        sharpness = (_laplacian_energy(quantised, holes) / truth_energy.clamp(min=1e-6)).mean()
        print(f"| {name} | {psnr(quantised, gt).mean():.2f} | {ssim(quantised, gt).mean():.4f} | {sharpness:.3f} |")
    shown = gt[:8] * known[:8] + holes[:8] * torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    save_grid([shown, *[f[:8] for f in fills.values()], gt[:8]], root / "comparison.png",
              titles=["input", *fills, "truth"])
    print(f"sheet: {root / 'comparison.png'}")


if __name__ == "__main__":
    main()
