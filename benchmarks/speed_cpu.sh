#!/usr/bin/env bash
# The README's CPU speed table: every figure comes from one of these runs, and every
# ratio from within one run (ptgfill and the straightforward computation timed in the
# same process on the same photo and mask). Writes JSON to OUT (default docs/benchmarks).
# Usage: benchmarks/speed_cpu.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/benchmarks}
mkdir -p "$out"
common=(--model paper --model lite --size 256 --size 512 --repeats 7 --json)
# 1. As the ptgfill command runs: glibc keeps freed memory (both implementations).
ptgfill benchmark "${common[@]}" > "$out/cpu-fp32.json"
# 2. glibc's default allocator for both, as a plain Python process has it.
PTGFILL_ALLOCATOR=default ptgfill benchmark "${common[@]}" --no-inpaint-path > "$out/cpu-fp32-default-allocator.json"
# 3. torch.compile (inductor, frozen weights); compile seconds are in the JSON.
ptgfill benchmark "${common[@]}" --no-inpaint-path --compile > "$out/cpu-fp32-compiled.json"
# 4. bf16 autocast: faster, but not within 1e-4 of fp32 (max |diff| is in the JSON).
ptgfill benchmark "${common[@]}" --no-inpaint-path --precision bf16 > "$out/cpu-bf16.json"
# 5. A 4000x3000 photo with a small hole against the hole's crop alone.
python benchmarks/large_photo_crop.py --json > "$out/cpu-large-photo.json"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1]).glob("cpu-*.json")):
    report = json.loads(path.read_text())
    print(f"== {path.name}")
    for r in report.get("results", []):
        rate = "" if r.get("gflop_per_s") is None else f"  {r['gflop']:6.1f} GFLOP {r['gflop_per_s']:5.0f} GFLOP/s"
        print(f"  {r['implementation']:>22} {r['model']:>18} {r['size']:>4} {r['precision']:>5} "
              f"{r['median_s']:8.4f} s  {r['images_per_s']:7.2f} img/s{rate}  diff {r['max_abs_diff_vs_straightforward']}")
    for s in report.get("speedups", []):
        print(f"  {s['model']:>18} {s['size']:>4} vs {s['versus']:<36} {s['speedup']:.2f}x")
    if "results" not in report:
        print(" ", report)
PY
