"""How much memory a fill takes, estimated before it runs, and the limits that follow.

Measured with `/usr/bin/time` on `ptgfill inpaint` (torch CPU, fp32, the `lite` model, one
image) on a 2-core AMD EPYC: the process holds about 0.6 GB before any image (torch, the
model); decoding, compositing and encoding add about 30 bytes per image pixel (9 MP: 0.87 GB,
36 MP: 1.66 GB peak, with the network on a 1024-pixel crop); the network adds about 700 bytes
per working pixel (1024x1024 whole: 1.31 GB, 1536x1536: 2.21 GB). Larger presets need more
per working pixel; the estimate is a guide for choosing, not a promise.
"""

from __future__ import annotations

import os

BASE_BYTES = 600_000_000
IMAGE_BYTES_PER_PIXEL = 30
NETWORK_BYTES_PER_PIXEL = 700
# 100 megapixels (10000x10000): about 3.7 GB to fill by crops, under the 4 GB a command may
# take unasked. Pillow's own decompression-bomb check (89 MP warning, 179 MP error) is
# replaced by this one, which names the option that lifts it.
DEFAULT_MAX_PIXELS = 100_000_000
# When the whole image would not fit (--strategy original, resize with a large --max-side,
# or out of memory), the fill falls back on crops around the holes of at most this side.
FALLBACK_MAX_SIDE = 512


def fill_bytes(image_pixels: int, working_pixels: int, batch: int = 1, *, process: bool = True) -> int:
    """Estimated peak bytes to fill an image of ``image_pixels`` whose largest network input
    has ``working_pixels``, ``batch`` such inputs at once; with ``process``, the process's own
    (torch and the model), else only what the fill adds to a process that holds them."""
    added = IMAGE_BYTES_PER_PIXEL * image_pixels + NETWORK_BYTES_PER_PIXEL * working_pixels * batch
    return added + (BASE_BYTES if process else 0)


def available_bytes() -> int | None:
    """Memory the system can give now (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def gigabytes(count: int) -> str:
    return f"{count / 1e9:.1f} GB"
