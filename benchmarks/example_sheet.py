"""Before/after sheet of the README: example photos, their masks, each method's fill.

    python benchmarks/example_sheet.py OUT.jpg MODEL [MODEL ...]

Rows: kodim21 (the lighthouse removed), kodim03 (the blue cap removed), kodim23 and
kodim05 (scratches), then the faces astronaut and grace_hopper (brush strokes). Columns:
the input with its hole shaded magenta, each PTG-Fill model (``ptgfill inpaint``'s
defaults: whole photo, padded), and OpenCV Telea (radius 3). Every fill is a composite:
pixels outside the hole are the photo's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli import Inpainter  # noqa: E402

EXAMPLES = REPO / "examples"
ROWS = ("kodim21", "kodim03", "kodim23", "kodim05", "astronaut", "grace_hopper")
ROW_HEIGHT = 256


def _photo(stem: str) -> Path:
    return next(p for p in sorted(EXAMPLES.glob(f"{stem}.*")) if p.suffix in (".jpg", ".png"))


def main() -> None:
    out, models = Path(sys.argv[1]), sys.argv[2:]
    inpainters = [Inpainter.from_pretrained(model, device="cpu") for model in models]
    titles = ["input (hole in magenta)", *models, "OpenCV Telea"]
    rows = []
    for stem in ROWS:
        rgb = np.asarray(Image.open(_photo(stem)).convert("RGB"))
        hole = np.asarray(Image.open(EXAMPLES / "masks" / f"{stem}.png").convert("L")) > 127
        shown = rgb.copy()
        shown[hole] = (0.35 * shown[hole] + 0.65 * np.array([255, 0, 255])).astype(np.uint8)
        fills = [inpainter.inpaint(rgb, hole).pixels for inpainter in inpainters]
        telea = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
        width = round(rgb.shape[1] * ROW_HEIGHT / rgb.shape[0])
        rows.append([Image.fromarray(a).resize((width, ROW_HEIGHT), Image.LANCZOS) for a in (shown, *fills, telea)])
    column_widths = [max(row[c].width for row in rows) for c in range(len(titles))]
    sheet = Image.new("RGB", (sum(column_widths) + 4 * len(titles), 24 + len(rows) * (ROW_HEIGHT + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for column, title in enumerate(titles):
        draw.text((x + 4, 6), title, fill="black")
        for r, row in enumerate(rows):
            sheet.paste(row[column], (x, 24 + r * (ROW_HEIGHT + 4)))
        x += column_widths[column] + 4
    sheet.save(out, quality=88)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
