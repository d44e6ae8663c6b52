"""Markdown tables of benchmarks/evaluate_general.sh's results, for the model card and README.

    python benchmarks/summarise_general.py eval/general MODEL_NAME

MODEL_NAME is the method's name in the tables (``ptgfill-lite-general+up`` under evaluate's
default --upscale auto); the face model is read under the same suffix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCENES = ("intel", "imagenet-sample", "bsds500", "camvid")
CLASSICAL = ("opencv-telea", "opencv-ns")
FACE_MODEL = "ptgfill-lite-faces"
CLAIM_BUCKETS = ("010-020", "020-030", "030-040", "040-050")


def _rows(folder: Path) -> dict[tuple[str, str], dict]:
    results = json.loads((folder / "metrics.json").read_text())
    return {(row["method"], row["bucket"]): row for row in results["rows"]}


def _pooled(tables: list[dict[tuple[str, str], dict]], method: str, bucket: str, metric: str) -> tuple[float, int]:
    total, count = 0.0, 0
    for table in tables:
        row = table[(method, bucket)]
        total += row[metric] * row["count"]
        count += row["count"]
    return total / count, count


def main() -> None:
    root, model = Path(sys.argv[1]), sys.argv[2]
    face_model = FACE_MODEL + model[len(model.split("+")[0]):]  # filled the same way: "+up" or none
    tables = {name: _rows(root / name) for name in (*SCENES, "utkface") if (root / name / "metrics.json").exists()}
    buckets = sorted({bucket for table in tables.values() for _, bucket in table})
    # A run without the face model (as the flip-averaged one in the card) leaves its columns out.
    with_face = any(method == face_model for table in tables.values() for method, _ in table)
    shown = (model, *CLASSICAL, face_model) if with_face else (model, *CLASSICAL)
    columns = " | Telea | NS | face model" if with_face else " | Telea | NS"
    print(f"| test set | bucket | n | PTG-Fill PSNR{columns} | margin over Telea/NS | PTG-Fill SSIM{columns} |")
    print("|---|---|---:|" + "---:|" * (2 * len(shown) + 1))
    failures = []
    scene_tables = [tables[name] for name in SCENES if name in tables]
    for name in [*SCENES, "all scenes", "utkface"]:
        for bucket in buckets:
            if name == "all scenes":
                values = {m: {k: _pooled(scene_tables, m, bucket, k)[0] for k in ("psnr", "ssim")}
                          for m in shown}
                n = _pooled(scene_tables, model, bucket, "psnr")[1]
            elif name in tables:
                values = {m: tables[name][(m, bucket)] for m in shown}
                n = values[model]["count"]
            else:
                continue
            margin = values[model]["psnr"] - max(values[m]["psnr"] for m in CLASSICAL)
            ssim_ahead = values[model]["ssim"] > max(values[m]["ssim"] for m in CLASSICAL)
            if name in SCENES and bucket in CLAIM_BUCKETS and (margin < 1.0 or not ssim_ahead):
                failures.append(f"{name} {bucket}: {margin:+.2f} dB, SSIM {'ahead' if ssim_ahead else 'behind'}")
            label = f"{int(bucket[:3])}-{int(bucket[4:])} %"
            print(f"| {name} | {label} | {n} | " + " | ".join(f"{values[m]['psnr']:.2f}" for m in shown)
                  + f" | {margin:+.2f} dB | " + " | ".join(f"{values[m]['ssim']:.4f}" for m in shown) + " |")
    print()
    print("claim (every scene source, 10-50 %: >= 1 dB over the better of Telea/NS and SSIM ahead): "
          + ("met" if not failures else "NOT met: " + "; ".join(failures)))
    if "utkface" in tables and with_face:
        gaps = [tables["utkface"][(model, b)]["psnr"] - tables["utkface"][(face_model, b)]["psnr"] for b in buckets]
        print("faces, PSNR against the face model per bucket: " + ", ".join(f"{g:+.2f}" for g in gaps))
    objects = root / "objects" / "metrics.json"
    if objects.exists():
        table = _rows(root / "objects")
        print()
        print("| object holes | n | PTG-Fill PSNR | Telea PSNR | face model PSNR | PTG-Fill SSIM | Telea SSIM | face model SSIM |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for bucket in sorted({b for _, b in table}):
            cells = [table[(m, bucket)] for m in (model, "opencv-telea", face_model)]
            print(f"| {int(bucket[:3])}-{int(bucket[4:])} % | {cells[0]['count']} | "
                  + " | ".join(f"{c['psnr']:.2f}" for c in cells) + " | "
                  + " | ".join(f"{c['ssim']:.4f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
