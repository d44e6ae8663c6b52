#!/usr/bin/env bash
# Evaluate a general model on the test split of every source of benchmarks/train_general.sh
# (the first 5 % of each by file-name hash: never trained or validated on), beside OpenCV Telea
# and Navier-Stokes and the face model, NVIDIA irregular masks of every bucket at 256x256; then
# object removal on the scene test images with object-shaped masks (make-masks kind 'object').
# Needs ../shared beside the checkout. Results resume per method and case (ptgfill evaluate's
# store), so the baselines can run first with MODEL "none" and a model be added later; give a
# changed model a new name or a fresh OUT, or its earlier results are reused.
# SPLIT=validation scores the validation split instead (the next 3 % by the same hash, which
# training validates on but never trains on): for choosing between models, leaving the test split
# for the figures of the one chosen.
# Usage: [SPLIT=test|validation] benchmarks/evaluate_general.sh MODEL [OUT] [FACES_LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
out=${2:-eval/general}
faces_limit=${3:-200}
data=../shared/data
masks=$data/masks/pconv-irregular
split=${SPLIT:-test}
mkdir -p "$out"
python - "$out" "$data" "$split" <<'PY'
import sys
from pathlib import Path
from ptgfill_cli.data.datasets import held_out_split, list_images
out, data, split = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if split not in ("test", "validation"):
    sys.exit(f"SPLIT must be test or validation, not {split!r}")
sources = {"intel": "scenes/intel", "imagenet-sample": "scenes/imagenet-sample", "bsds500": "scenes/bsds500",
           "camvid": "scenes/camvid", "utkface": "faces/utkface"}
scenes = []
for name, folder in sources.items():
    # As ptgfill train --test-fraction 0.05 --val-fraction 0.03 splits each source.
    kept, chosen = held_out_split(list_images(data / folder), 0.05)
    if split == "validation":
        _, chosen = held_out_split(kept, 0.08)
    (out / f"{split}-{name}.txt").write_text("".join(f"{p.resolve()}\n" for p in chosen))
    if name != "utkface":
        scenes += chosen
    print(f"{name}: {len(chosen)} {split} images")
# Object removal: a few of each scene source, in turn.
by_source = [[p for p in scenes if f"/{folder}/" in str(p)] for name, folder in sources.items() if name != "utkface"]
mixed = [group[i] for i in range(max(map(len, by_source))) for group in by_source if i < len(group)]
(out / f"{split}-scenes-objects.txt").write_text("".join(f"{p.resolve()}\n" for p in mixed[:80]))
PY
common=(--size 256 --metrics psnr,ssim,l1,hole-psnr --quiet)
for source in intel imagenet-sample bsds500 camvid; do
  ptgfill evaluate --dataset "$out/$split-$source.txt" --masks "$masks" --model "$model" \
      --compare opencv-telea,opencv-ns,ptgfill-lite-faces --grid-cases 2 -o "$out/$source" "${common[@]}"
done
ptgfill evaluate --dataset "$out/$split-utkface.txt" --masks "$masks" --model "$model" \
    --compare opencv-telea,opencv-ns,ptgfill-lite-faces --limit "$faces_limit" --grid-cases 2 \
    -o "$out/utkface" "${common[@]}"
ptgfill evaluate --dataset "$out/$split-scenes-objects.txt" --masks object --buckets 5-15,15-25,25-40 \
    --model "$model" --compare opencv-telea,ptgfill-lite-faces --grid-cases 4 -o "$out/objects" "${common[@]}"
