#!/usr/bin/env bash
# Short training runs of the general recipe (benchmarks/train_general.sh), one at a time on an
# otherwise idle machine, to choose the recipe: initialisation, precision, preset, perceptual loss.
# Runs that compare at equal CPU time get steps in inverse proportion to their measured cost
# per step (2-core AMD EPYC, batch 8 at 128x128: lite bf16 0.833 s, lite fp32 1.124 s,
# base bf16 0.944 s, lite bf16 + MobileNet perceptual/style 1.083 s; steps 8-24 of a fresh run).
# They are judged on their validation split, never on the test split.
# Usage: benchmarks/compare_recipes.sh OUT_DIR ARM...   (ARM: one of the names below)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
steps=${STEPS:-320}  # lite bf16 steps; about 4.5 minutes
scaled() { python -c "import sys; print(round($steps * 0.833 / float(sys.argv[1])))" "$1"; }
for arm in "$@"; do
  case "$arm" in
    lite-init-bf16) args=(--init ptgfill-lite-faces --steps "$steps") ;;
    # Equal steps in fp32: does training in bf16 lose anything?
    lite-init-fp32) args=(--init ptgfill-lite-faces --precision fp32 --steps "$steps") ;;
    lite-init-mobilenet) args=(--init ptgfill-lite-faces --perceptual mobilenet --steps "$(scaled 1.083)") ;;
    lite-scratch) args=(--steps "$steps") ;;
    base-scratch) args=(--preset base --steps "$(scaled 0.944)") ;;
    *) echo "unknown arm $arm" >&2; exit 2 ;;
  esac
  benchmarks/train_general.sh "$out/$arm" --val-every 80 --sample-every 80 \
      --checkpoint-every 100000 --quiet --json "${args[@]}" > "$out/$arm.json"
  echo "$arm: $(cat "$out/$arm.json")"
done
