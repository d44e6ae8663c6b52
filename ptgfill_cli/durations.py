"""Wall-clock durations as people write them: ``2h30m``, ``90m``, ``45s``, ``1.5h``, ``3600``."""

from __future__ import annotations

import math
import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([dhms]?)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: numbers with a unit each (d, h, m, s), summed; a bare number is seconds.

    Raises ``ValueError`` for anything else, and for a duration that is not positive.
    """
    compact = text.strip().lower().replace(" ", "")
    position, total, seen_units = 0, 0.0, []
    while position < len(compact):
        match = _PART.match(compact, position)
        if match is None:
            raise ValueError(f"duration {text!r} is not like 2h30m, 90m, 45s or 3600")
        number, unit = match.groups()
        unit = unit or "s"
        if unit in seen_units or (not match.group(2) and match.end() != len(compact)):
            raise ValueError(f"duration {text!r} is not like 2h30m, 90m, 45s or 3600")
        seen_units.append(unit)
        total += float(number) * _UNITS[unit]
        position = match.end()
    if not compact or not math.isfinite(total) or total <= 0:
        raise ValueError(f"duration {text!r} must be positive, like 2h30m, 90m, 45s or 3600")
    return total
