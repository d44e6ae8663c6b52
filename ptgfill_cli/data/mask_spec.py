"""What a mask set asks for, without numpy or OpenCV: the kinds of mask, the hole-ratio
buckets, sizes and borders, parsed from the text users give (``make-masks``, ``evaluate``,
``export``). Drawing the masks is ``masks``."""

from __future__ import annotations

import math

MASK_KINDS: tuple[str, ...] = ("irregular", "strokes", "box", "center", "object", "mix")
BASE_KINDS: tuple[str, ...] = ("irregular", "strokes", "box", "center")
DEFAULT_BUCKETS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1),
    (0.1, 0.2),
    (0.2, 0.3),
    (0.3, 0.4),
    (0.4, 0.5),
    (0.5, 0.6),
)
NVIDIA_BORDER_AT_512 = 50
MIN_SIDE = 8
MAX_SIDE = 8192  # a mask this size takes a few hundred MB to draw; beyond it is a typo


def parse_buckets(text: str) -> tuple[tuple[float, float], ...]:
    """Parse ``"1-10,10-20"`` (percent), ``"0.1-0.2,0.2-0.3"`` (fractions) or ``"5%-15%"``.

    Bounds are fractions only when every bound is written as a decimal fraction ("0.1", never
    "1" or "0") and none exceeds 1; otherwise they are percent, so ``0-1`` is 0-1 %, as it reads.
    Each bucket is the half-open range ``[lo, hi)`` with ``0 <= lo < hi <= 1``. Raises
    ``ValueError`` for anything else, and for a bucket given twice.
    """
    pairs = [_split_bucket(part) for part in text.split(",") if part.strip()]
    if not pairs:
        raise ValueError(f"no buckets in {text!r}; expected e.g. '1-10,10-20'")
    bounds = [bound for pair in pairs for bound in pair]
    is_fraction = "%" not in text and all("." in bound and float(bound) <= 1 for bound in bounds)
    is_percent = not is_fraction
    scale = 100.0 if is_percent else 1.0
    buckets = tuple((float(lo) / scale, float(hi) / scale) for lo, hi in pairs)
    for lo, hi in buckets:
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(
                f"bucket {percent_text(lo)}-{percent_text(hi)} % is not a range inside 0-100 % with lo < hi"
            )
    if len(set(buckets)) != len(buckets):
        raise ValueError(f"a bucket is given twice in {text!r}")
    return buckets


def _split_bucket(part: str) -> tuple[str, str]:
    bounds = part.replace("%", "").split("-")
    if len(bounds) != 2:
        raise ValueError(f"bucket {part.strip()!r} is not of the form LO-HI")
    for bound in bounds:
        try:
            value = float(bound)
        except ValueError:
            raise ValueError(f"bucket {part.strip()!r}: {bound.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"bucket {part.strip()!r}: bounds must be finite numbers")
    return bounds[0].strip(), bounds[1].strip()


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"512"`` (square) or ``"HEIGHTxWIDTH"`` such as ``"384x512"`` into (height, width)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        sides = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"{text!r} is not N or HEIGHTxWIDTH, e.g. 512 or 384x512") from None
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) < MIN_SIDE or max(sides) > MAX_SIDE:
        raise ValueError(f"{text!r} must be N or HEIGHTxWIDTH with sides from {MIN_SIDE} to {MAX_SIDE}")
    return sides[0], sides[1]


def auto_border(height: int, width: int) -> int:
    """The hole-free border of the NVIDIA set (50 px at 512x512), scaled to the shorter side."""
    return round(NVIDIA_BORDER_AT_512 * min(height, width) / 512)


def parse_border(text: str, height: int, width: int) -> int:
    """Parse a border width: a number of pixels, or ``"auto"`` for ``auto_border``."""
    if text.strip().lower() == "auto":
        return auto_border(height, width)
    try:
        border = int(text)
    except ValueError:
        raise ValueError(f"border {text!r} is not a number of pixels or 'auto'") from None
    check_border(border, height, width)
    return border


def check_border(border: int, height: int, width: int) -> None:
    if border < 0 or 2 * border >= min(height, width):
        raise ValueError(f"border {border} px leaves no room for holes in a {height}x{width} mask")


def percent_text(ratio: float, padded: bool = False) -> str:
    text = f"{ratio * 100:.4f}".rstrip("0").rstrip(".")
    if padded:
        whole, _, decimals = text.partition(".")
        text = whole.zfill(3) + ("." + decimals if decimals else "")
    return text
