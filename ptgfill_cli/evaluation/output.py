"""An evaluation's output folder: the names of its files, when a folder may be resumed or
replaced, and writing into it atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

from ..atomic import replace_atomically, write_text_atomically
from ..data.grids import to_uint8
from ..errors import EvaluationError
from .mask_protocol import Pair

RUN_FILE = "run.json"
PAIRS_FILE = "pairs.csv"
PER_IMAGE_FILE = "per_image.csv"
FEATURES_DIR = "fid-features"
FILLED_DIR = "filled"
METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
METRICS_MD = "metrics.md"
GRID_PNG = "comparison.png"
CHART_PNG = "metrics_vs_hole_ratio.png"
RUN_FORMAT = "ptgfill-evaluation/1"
# Files and folders an evaluation writes; --overwrite removes these and nothing else.
OWN_OUTPUTS: tuple[str, ...] = (
    RUN_FILE, PAIRS_FILE, PER_IMAGE_FILE, FEATURES_DIR, FILLED_DIR, METRICS_CSV, METRICS_JSON, METRICS_MD,
    GRID_PNG, CHART_PNG,
)



def prepare_output(output: Path, identity: dict[str, object], overwrite: bool) -> bool:
    """Make ``output`` ready; True when it holds an earlier run of the same identity to resume.

    A folder holding a different run (or files that are no evaluation's) is an error unless
    ``overwrite``, which removes this evaluation's files and nothing else.
    """
    run_file = output / RUN_FILE
    if output.exists() and not output.is_dir():
        raise EvaluationError(f"{output}: exists and is not a folder")
    if overwrite and output.is_dir():
        for name in OWN_OUTPUTS:
            target = output / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    if run_file.is_file():
        try:
            earlier = json.loads(run_file.read_text(encoding="utf-8"))
        except ValueError as error:
            raise EvaluationError(f"{run_file}: unreadable ({error}); use --overwrite") from error
        if earlier.get("identity") != identity:
            changed = sorted(key for key in set(identity) | set(earlier.get("identity", {}))
                             if identity.get(key) != earlier.get("identity", {}).get(key))
            raise EvaluationError(
                f"{output} holds an evaluation with other settings ({', '.join(changed)} differ); "
                "use another --output, or --overwrite to replace it"
            )
        return True
    if output.is_dir() and any(output.iterdir()):
        raise EvaluationError(f"{output} is not empty and holds no evaluation ({RUN_FILE}); use another --output")
    output.mkdir(parents=True, exist_ok=True)
    return False


def write_json(path: Path, data: object) -> None:
    write_text_atomically(path, json.dumps(data, indent=1) + "\n")


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def save_composites(folder: Path, pairs: Sequence[Pair], composite: torch.Tensor) -> None:
    """Each case's composite as ``folder/BUCKET/INDEX_STEM.png``, written atomically."""
    for pair, image in zip(pairs, to_uint8(composite)):
        path = folder / pair.bucket / f"{pair.image_index:06d}_{Path(pair.image).stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda temporary: Image.fromarray(image).save(temporary, format="PNG"))
