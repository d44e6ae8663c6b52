#!/usr/bin/env bash
# Reproduce the bundled face model's comparison with OpenCV (weights/ptgfill-lite-faces.md):
# held-out UTKFace photos (never used in training: the 5 % split by file-name hash that
# `ptgfill train --val-fraction 0.05` holds out), NVIDIA irregular masks resized to 256x256,
# every bucket, PTG-Fill beside OpenCV Telea and Navier-Stokes on the same pairs.
# Needs ../shared beside the checkout. Usage: benchmarks/evaluate_bundled_faces.sh [OUT] [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-eval/bundled-faces}
limit=${2:-200}
heldout="$(dirname "$out")/$(basename "$out")-heldout.txt"
mkdir -p "$(dirname "$out")"
python - "$heldout" <<'PY'
import sys
from pathlib import Path
from ptgfill_cli.data.datasets import held_out_split, list_images
_, held_out = held_out_split(list_images("../shared/data/faces/utkface"), 0.05)
Path(sys.argv[1]).write_text("".join(f"{p.resolve()}\n" for p in held_out))
print(f"{len(held_out)} held-out faces")
PY
ptgfill evaluate --dataset "$heldout" --masks ../shared/data/masks/pconv-irregular \
    --model ptgfill-lite-faces --compare opencv-telea,opencv-ns --size 256 --limit "$limit" \
    --metrics psnr,ssim,l1,hole-psnr --grid-cases 2 -o "$out" --overwrite
