"""Bundle a trained model into weights/: the safetensors file (with its card), sidecar, manifest entry.

    python scripts/bundle_model.py RUN/last.safetensors NAME --card-json extra.json \
        --description "..." --trained-on "..." --license "..." [--default]

The exported EMA generator is re-saved as ``weights/NAME.safetensors`` with its training
card merged with ``--card-json`` (stages, hardware, what the card text says), and the
manifest gets (or replaces) the entry ``NAME`` with the file's sha256 and ``NAME.md`` as its
model card; ``--default`` makes it the default of ``ptgfill inpaint``, ``evaluate`` and the API.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli.config import PRESETS  # noqa: E402
from ptgfill_cli.weights.resolve import load_model  # noqa: E402
from ptgfill_cli.weights.store import save_model  # noqa: E402

WEIGHTS = REPO / "weights"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("export")
    parser.add_argument("name")
    parser.add_argument("--card-json", type=Path)
    parser.add_argument("--description", required=True)
    parser.add_argument("--trained-on", required=True)
    parser.add_argument("--license", required=True)
    parser.add_argument("--default", action="store_true")
    args = parser.parse_args()

    loaded = load_model(args.export)
    card = {**loaded.card, **(json.loads(args.card_json.read_text()) if args.card_json else {})}
    target = save_model(loaded.generator, WEIGHTS / f"{args.name}.safetensors", card=card)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    manifest_path = WEIGHTS / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"][args.name] = {
        "file": target.name,
        "sha256": digest,
        "config": next((name for name, config in PRESETS.items() if config == loaded.config), loaded.config.to_dict()),
        "description": args.description,
        "trained_on": args.trained_on,
        "card": {"model_card": f"{args.name}.md", "license": args.license},
    }
    if args.default:
        manifest["default"] = args.name
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{target} ({target.stat().st_size / 1e6:.1f} MB, sha256 {digest[:12]}...)")


if __name__ == "__main__":
    main()
