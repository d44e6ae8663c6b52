#!/usr/bin/env bash
# The README's ONNX figures. 1. ptgfill benchmark: PyTorch eager, torch.compile and the
# onnxruntime export timed in one run, for paper and the default model at 256 and 512.
# 2. The default model exported as fp32, fp16 and 8-bit (dynamic) files: their speed beside
# PyTorch eager, and what each costs in quality on held-out Intel scenes (the test split of
# benchmarks/train_general.sh, NVIDIA masks at 256x256; needs ../shared).
# Usage: benchmarks/onnx_cpu.sh [OUT] [WORK]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/benchmarks}
work=${2:-eval/onnx}
limit=${LIMIT:-50}
mkdir -p "$out" "$work"
ptgfill benchmark --model paper --model ptgfill-lite-general --size 256 --size 512 --backend torch \
    --backend onnxruntime --compile --no-compare --no-inpaint-path --repeats 7 --json > "$out/cpu-onnx.json"
ptgfill export -o "$work/fp32.onnx" --overwrite
ptgfill export -o "$work/fp16.onnx" --fp16 --overwrite
ptgfill export -o "$work/int8.onnx" --quantize dynamic --overwrite
python benchmarks/onnx_variants.py "$work/fp32.onnx" "$work/fp16.onnx" "$work/int8.onnx" > "$out/cpu-onnx-variants.json"
python - "$work" <<'PY'
import sys
from pathlib import Path
from ptgfill_cli.data.datasets import held_out_split, list_images
_, test = held_out_split(list_images(Path("../shared/data/scenes/intel")), 0.05)
(Path(sys.argv[1]) / "test-intel.txt").write_text("".join(f"{p.resolve()}\n" for p in test))
PY
ptgfill evaluate --dataset "$work/test-intel.txt" --masks ../shared/data/masks/pconv-irregular --size 256 \
    --model "$work/fp32.onnx" --model "$work/fp16.onnx" --model "$work/int8.onnx" --limit "$limit" \
    --metrics psnr,ssim --grid-cases 2 -o "$work/quality" --quiet
cp "$work/quality/metrics.md" "$out/cpu-onnx-quality.md"
