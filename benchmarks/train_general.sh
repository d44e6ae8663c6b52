#!/usr/bin/env bash
# Train PTG-Fill on the general mix of ../shared/data: scenes, objects and faces (a minority).
# Every source keeps a fixed test split (the first 5 % by file-name hash, --test-fraction) that
# training and validation never see, and validates on the next 3 %.
# Usage: benchmarks/train_general.sh OUT [more ptgfill train options, which win over these]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
data=../shared/data
# Shares of the samples: Intel outdoor/street 30 %, ImageNet objects 30 %, BSDS500 15 %,
# CamVid street 10 %, UTKFace faces 15 %.
exec ptgfill train \
    "$data/scenes/intel" "$data/scenes/imagenet-sample" "$data/scenes/bsds500" "$data/scenes/camvid" \
    "$data/faces/utkface" \
    --source-weights 30,30,15,10,15 --test-fraction 0.05 --val-fraction 0.03 --val-count 60 \
    --output "$out" --size 128 --crop-scale 0.05,1 --batch-size 8 --mode generator \
    --perceptual none --precision bf16 --workers 1 --log-every 25 --val-every 250 \
    --sample-every 250 --checkpoint-every 250 --keep-last 2 --resume auto "$@"
