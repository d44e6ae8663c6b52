"""inpaint, evaluate and train read a mask file the same way (one reader, ``image_io.load_mask``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ptgfill_cli.data.image_io import load_mask
from ptgfill_cli.data.masks import HOLE, read_mask
from ptgfill_cli.data.pairing import FileJob
from ptgfill_cli.inference.batch import _MaskCache
from ptgfill_cli.training.samples import MaskFiles

SIDE = 48


def _strokes() -> np.ndarray:
    hole = np.zeros((SIDE, SIDE), bool)
    hole[5:20, 8:40] = True
    hole[30:44, 2:12] = True
    return hole


def _write(kind: str, folder: Path) -> Path:
    hole = _strokes()
    path = folder / f"{kind}.png"
    if kind == "grey":
        Image.fromarray(np.where(hole, 255, 0).astype(np.uint8), "L").save(path)
    elif kind == "rgba":  # white strokes on a transparent layer, with an opaque black corner
        rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
        rgba[hole] = (255, 255, 255, 255)
        rgba[-6:, -6:] = (0, 0, 0, 255)
        rgba[:4, :4] = (255, 255, 255, 0)  # white but transparent: known
        Image.fromarray(rgba, "RGBA").save(path)
    else:  # palette: index 1 is white
        palette = Image.fromarray(hole.astype(np.uint8), "P")
        palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
        palette.save(path)
    return path


@pytest.mark.parametrize("kind", ["grey", "rgba", "palette"])
def test_the_three_commands_read_a_mask_alike(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / kind
    folder.mkdir()
    path = _write(kind, folder)
    expected = _strokes()

    inpaint = _MaskCache([FileJob(tmp_path / "photo.png", path, tmp_path / "out.png")], False, {}).get(path)
    evaluate = read_mask(path) == HOLE
    seed = 3
    train = MaskFiles(folder)(np.random.default_rng(seed), SIDE, SIDE)
    replay = np.random.default_rng(seed)  # the same draws: which file, flips, quarter turns
    replay.integers(1)
    turned = expected[:, ::-1] if replay.random() < 0.5 else expected
    turned = turned[::-1, :] if replay.random() < 0.5 else turned
    turned = np.rot90(turned, int(replay.integers(4)))

    assert np.array_equal(inpaint, expected) and np.array_equal(load_mask(path), expected)
    assert np.array_equal(evaluate, expected)
    assert np.array_equal(train, turned)
