"""Draw the example masks of the Kodak photos (examples/masks/kodim*.png), white = hole.

    python scripts/draw_example_masks.py

Object removal: the lighthouse of kodim21 and the blue cap of kodim03, outlined by hand
(polygons in the photos' pixel coordinates, a few pixels outside the object as a person
would draw). Scratches: generated brush strokes over kodim05 and kodim23, as the other
example masks (``generate_mask("strokes", ...)`` with ``default_rng([2026, i])``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli.data.masks import encode_png, generate_mask, hole_ratio  # noqa: E402

HEIGHT, WIDTH = 512, 768
OUTLINES = {
    "kodim21": [(334, 58), (368, 58), (374, 100), (380, 140), (388, 200), (394, 250), (398, 310),
                (302, 310), (306, 250), (312, 200), (318, 140), (324, 100)],
    "kodim03": [(612, 330), (648, 310), (702, 322), (718, 360), (710, 402), (694, 440), (664, 434),
                (638, 404), (618, 372)],
}
STROKES = {"kodim05": 7, "kodim23": 8}


def main() -> None:
    out = REPO / "examples" / "masks"
    for name, outline in OUTLINES.items():
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.fillPoly(mask, [np.array(outline, np.int32)], 255)
        (out / f"{name}.png").write_bytes(encode_png(mask))
        print(f"{name}.png: object outline, {hole_ratio(mask):.1%}")
    for name, index in STROKES.items():
        mask = generate_mask("strokes", HEIGHT, WIDTH, (0.10, 0.20), np.random.default_rng([2026, index]))
        (out / f"{name}.png").write_bytes(encode_png(mask))
        print(f"{name}.png: strokes, {hole_ratio(mask):.1%}")


if __name__ == "__main__":
    main()
