"""Decoding images and masks into arrays, and encoding results back to files.

Pixels stay at the source bit depth (8 or 16 bits per channel) so that what the
inpainter leaves alone comes back bit for bit. Masks follow the file convention
of most tools: white = hole, and so is any pixel painted in a colour (its brightest
channel above the threshold); an alpha channel can stand in for a mask with
transparent = hole.
"""

from __future__ import annotations

import io
import stat
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..atomic import write_bytes_atomically
from ..errors import InputError, PTGFillError, first_line
from ..runtime.memory import DEFAULT_MAX_PIXELS, FALLBACK_MAX_SIDE, fill_bytes, gigabytes

# Decompression bombs are refused by the pixel limit of load_image (max_pixels), which names
# the option that lifts it; Pillow's own check would refuse above 179 MP whatever was asked.
Image.MAX_IMAGE_PIXELS = None

# Files read as images (and masks) everywhere: inpaint's inputs, datasets, mask folders.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Rec. 601 luma: a grey level from RGB (grey outputs).
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])

# Canonical output format names and the Pillow format each one is written with.
PIL_FORMATS: dict[str, str] = {
    "png": "PNG",
    "jpg": "JPEG",
    "webp": "WEBP",
    "tiff": "TIFF",
    "bmp": "BMP",
}
SUFFIX_FORMATS: dict[str, str] = {
    ".png": "png",
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".webp": "webp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
}
_EXIF_ORIENTATION = 0x0112
# Tags of IFD0 that describe a TIFF's pixel layout: they come with getexif() for a TIFF
# source, and written into an output they would contradict its real size and encoding.
_TIFF_LAYOUT_TAGS = frozenset({256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 282, 283, 284, 296, 317,
                               320, 322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532})


@dataclass(frozen=True)
class ImageMetadata:
    """What a file says about its pixels beyond their values, carried to the output: the ICC
    colour profile (a wide-gamut photo keeps its colours), EXIF with the orientation reset
    to upright (the pixels are written upright), and the resolution in dots per inch."""

    icc_profile: bytes | None = None
    exif: bytes | None = None
    dpi: tuple[float, float] | None = None

    @classmethod
    def of(cls, image: Image.Image) -> "ImageMetadata":
        exif = None
        try:
            tags = image.getexif()
            for tag in _TIFF_LAYOUT_TAGS & set(tags):
                del tags[tag]  # a TIFF's own layout (sizes, strips...) is not the output's
            if len(tags):
                tags[_EXIF_ORIENTATION] = 1
                exif = tags.tobytes()
        except (OSError, SyntaxError, ValueError, TypeError, KeyError):
            exif = None  # unreadable EXIF is not worth losing the image over
        dpi = image.info.get("dpi")
        try:
            dpi = (float(dpi[0]), float(dpi[1])) if dpi else None
        except (TypeError, ValueError, IndexError):
            dpi = None
        return cls(image.info.get("icc_profile") or None, exif, dpi)

    def save_options(self, output_format: str) -> dict[str, object]:
        """Pillow's save options that keep this metadata in ``output_format`` (BMP keeps none)."""
        options: dict[str, object] = {}
        if output_format == "bmp":
            return options
        if self.icc_profile:
            options["icc_profile"] = self.icc_profile
        if self.exif:
            options["exif"] = self.exif
        if self.dpi and output_format in ("png", "jpg", "tiff"):
            options["dpi"] = self.dpi
        return options


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image, upright: RGB pixels at the source bit depth, plus alpha if any.

    ``rgb`` is (H, W, 3) uint8 or uint16 (or float in [0, 1] for arrays handed to the
    API); a grey source has three equal channels and ``grey`` set, so that it can be
    written back as grey. ``alpha`` is (H, W) of the same dtype, or None.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    grey: bool = False
    mode: str = "RGB"  # the source's Pillow mode ("RGB;16" for 16-bit colour)
    format: str | None = None  # the source's Pillow format name, None when in memory
    path: Path | None = None
    metadata: ImageMetadata = ImageMetadata()

    @property
    def height(self) -> int:
        return self.rgb.shape[0]

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def max_value(self) -> float:
        """The value of full intensity: 255, 65535, or 1.0 for float pixels."""
        return max_value_of(self.rgb.dtype)

    def with_pixels(self, rgb: np.ndarray, alpha: np.ndarray | None) -> "LoadedImage":
        return replace(self, rgb=rgb, alpha=alpha)

    def to_pil(self) -> Image.Image:
        """A Pillow image in a mode close to the source's (16-bit colour becomes 8-bit:
        Pillow has no 16-bit RGB mode)."""
        if self.rgb.dtype == np.uint16 and self.grey and self.alpha is None:
            return Image.fromarray(_grey_of(self.rgb))  # mode I;16
        return Image.fromarray(_pil_pixels(self.rgb, self.alpha, self.grey))


def max_value_of(dtype: np.dtype) -> float:
    """Full intensity for a pixel dtype."""
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    if np.issubdtype(dtype, np.floating):
        return 1.0
    raise InputError(f"unsupported pixel type {dtype}; use uint8, uint16 or float in [0, 1]")


def load_image(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an image file: EXIF orientation applied; grey, palette, RGBA, CMYK and
    16-bit images accepted. Raises InputError naming the file when it cannot, or when it
    has more than ``max_pixels`` pixels (None: no limit), checked from its header before
    any pixel is decoded."""
    path = Path(path)
    try:
        mode = path.stat().st_mode  # one stat; a folder fails in read_bytes with its own reason
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(f"{path}: cannot read image (not a regular file: a pipe, socket or device)")
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read image ({_reason(error)})") from None
    if data.startswith(_PNG_SIGNATURE):
        _check_png_chunks(path, data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_pixel_count(path, image.size, max_pixels)
            orientation = _orientation(image)
            mode, pil_format = image.mode, image.format
            metadata = ImageMetadata.of(image)
            if _is_16bit_colour(image, data):
                rgb, alpha, grey = _decode_with_opencv(path, data)
                mode = "RGBA;16" if alpha is not None else "RGB;16"
            else:
                image.load()
                rgb, alpha, grey = _arrays_from_pil(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"{path}: cannot read image ({_reason(error)})") from None
    rgb = orient(rgb, orientation)
    alpha = None if alpha is None else orient(alpha, orientation)
    return LoadedImage(rgb=rgb, alpha=alpha, grey=grey, mode=mode, format=pil_format, path=path,
                       metadata=metadata)


def image_from_pil(image: Image.Image) -> LoadedImage:
    """The same decoding as ``load_image`` for an already opened Pillow image
    (EXIF orientation applied if it carries any)."""
    try:
        rgb, alpha, grey = _arrays_from_pil(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(f"cannot use this image ({_reason(error)})") from None
    orientation = _orientation(image)
    return LoadedImage(
        rgb=orient(rgb, orientation),
        alpha=None if alpha is None else orient(alpha, orientation),
        grey=grey,
        mode=image.mode,
        format=image.format,
    )


def image_from_array(array: np.ndarray) -> LoadedImage:
    """Wrap an (H, W), (H, W, 3) or (H, W, 4) uint8 / uint16 / float [0, 1] RGB(A) array."""
    array = np.asarray(array)
    max_value_of(array.dtype)  # rejects unsupported dtypes
    if array.ndim == 2:
        return LoadedImage(rgb=np.repeat(array[:, :, None], 3, axis=2), grey=True, mode="L")
    if array.ndim == 3 and array.shape[2] == 1:
        return image_from_array(array[:, :, 0])
    if array.ndim == 3 and array.shape[2] == 3:
        return LoadedImage(rgb=np.ascontiguousarray(array))
    if array.ndim == 3 and array.shape[2] == 4:
        return LoadedImage(
            rgb=np.ascontiguousarray(array[:, :, :3]),
            alpha=np.ascontiguousarray(array[:, :, 3]),
            mode="RGBA",
        )
    raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {array.shape}")


def load_rgb8(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB (16-bit scaled down, alpha dropped); see
    ``load_image`` for what is accepted. Raises InputError naming the file."""
    return _to_uint8(load_image(path).rgb)


def load_mask(path: str | Path, *, invert: bool = False, threshold: int = 127,
              max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file as a boolean (H, W) array, True = hole.

    A pixel is a hole when any of its channels is brighter than ``threshold`` (on a 0-255
    scale): white, and strokes painted in any colour (red, blue, magenta...) on black; with
    ``invert``, the dark pixels are the holes. A mask with an alpha channel counts
    transparent pixels as black, so strokes on a transparent layer mark the holes.
    """
    return hole_mask_from_image(load_image(path, max_pixels=max_pixels), invert=invert, threshold=threshold)


def hole_mask_from_image(
    mask_image: LoadedImage, *, invert: bool = False, threshold: int = 127
) -> np.ndarray:
    """The hole mask a decoded mask image stands for (see ``load_mask``)."""
    level = mask_image.rgb.max(axis=2).astype(np.float32)  # any bright channel: red strokes count
    if mask_image.alpha is not None:
        level *= mask_image.alpha.astype(np.float32) / mask_image.max_value
    level *= 255.0 / mask_image.max_value
    hole_mask = level > threshold
    return ~hole_mask if invert else hole_mask


def mask_from_alpha(alpha: np.ndarray) -> np.ndarray:
    """Holes where an alpha channel is not fully opaque (True = hole)."""
    return np.asarray(alpha) < max_value_of(np.asarray(alpha).dtype)


def output_format_for(path: str | Path) -> str:
    """The canonical output format ("png", "jpg", ...) a file name asks for."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise PTGFillError(f"{path}: unknown output format {suffix or '(none)'}; use one of {known}")
    return SUFFIX_FORMATS[suffix]


def encode_image(image: LoadedImage, output_format: str, quality: int = 95) -> bytes:
    """The bytes of ``image`` as a ``output_format`` file, in the closest mode that
    format can hold: PNG and TIFF keep 16 bits, grey and alpha; JPEG drops alpha;
    JPEG, WebP and BMP are 8-bit. The source's ICC profile, EXIF (orientation reset) and DPI
    are kept where the format holds them (not in BMP, nor in 16-bit files, written by OpenCV)."""
    if output_format not in PIL_FORMATS:
        raise PTGFillError(f"unknown output format {output_format!r}")
    keeps_alpha = output_format in ("png", "webp", "tiff")
    alpha = image.alpha if keeps_alpha else None
    if image.rgb.dtype == np.uint16 and output_format in ("png", "tiff"):
        return _encode_16bit(image.rgb, alpha, image.grey, output_format)
    grey = image.grey and output_format != "webp"  # WebP has no grey mode
    pixels = _pil_pixels(image.rgb, alpha, grey)
    options = image.metadata.save_options(output_format)
    if output_format in ("jpg", "webp"):
        options["quality"] = quality
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, PIL_FORMATS[output_format], **options)
    return buffer.getvalue()


def save_image(
    image: LoadedImage | np.ndarray,
    path: str | Path,
    *,
    output_format: str | None = None,
    quality: int = 95,
    overwrite: bool = True,
) -> Path:
    """Write ``image`` atomically: encoded in memory, written to a hidden temporary file
    beside ``path``, then renamed over it, so a reader never sees a partial file.
    ``output_format`` defaults to what the file name's suffix asks for."""
    path = Path(path)
    if isinstance(image, np.ndarray):
        image = image_from_array(image)
    data = encode_image(image, output_format or output_format_for(path), quality)
    if not overwrite and path.exists():
        raise PTGFillError(f"{path}: already exists")
    write_atomically(path, data)
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by a file holding ``data``, all at once or not at all."""
    try:
        write_bytes_atomically(path, data)
    except OSError as error:
        raise PTGFillError(f"{path}: cannot write ({_reason(error)})") from None


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W[, C]) array, like
    ``PIL.ImageOps.exif_transpose`` does to an image."""
    if orientation == 2:
        array = array[:, ::-1]
    elif orientation == 3:
        array = array[::-1, ::-1]
    elif orientation == 4:
        array = array[::-1]
    elif orientation == 5:
        array = array.swapaxes(0, 1)
    elif orientation == 6:
        array = np.rot90(array, -1)
    elif orientation == 7:
        array = np.rot90(array, 2).swapaxes(0, 1)
    elif orientation == 8:
        array = np.rot90(array, 1)
    return np.ascontiguousarray(array)


def _orientation(image: Image.Image) -> int:
    try:
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1  # unreadable EXIF is not worth losing the image over
    return orientation if 1 <= orientation <= 8 else 1


def _arrays_from_pil(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(rgb, alpha, grey) for a Pillow image of any mode."""
    mode = image.mode
    if mode.startswith("I;16"):
        return _grey_to_rgb(np.asarray(image).astype(np.uint16)), None, True
    if mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ValueError("32-bit integer pixels outside the 16-bit range")
        return _grey_to_rgb(values.astype(np.uint16)), None, True
    if mode == "F":
        raise ValueError("32-bit float pixels are not supported")
    if mode in ("1", "L"):
        return _grey_to_rgb(np.asarray(image.convert("L"))), None, True
    if mode in ("LA", "La"):
        grey_alpha = np.asarray(image.convert("LA"))
        return _grey_to_rgb(grey_alpha[:, :, 0]), grey_alpha[:, :, 1].copy(), True
    has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(rgba[:, :, :3]), rgba[:, :, 3].copy(), False
    return np.asarray(image.convert("RGB")).copy(), None, False


def _check_png_chunks(path: Path, data: bytes) -> None:
    """Every chunk's CRC, as the PNG format defines it: Pillow skips them for image data, so a
    flipped bit would decode into wrong pixels without a word."""
    view = memoryview(data)  # checksums over slices of it copy nothing
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        end = position + 8 + length
        if end + 4 > len(data):
            raise InputError(f"{path}: cannot read image (truncated PNG: the {kind.decode('latin-1')} chunk is cut off)")
        if zlib.crc32(view[position + 4:end]) != int.from_bytes(data[end:end + 4], "big"):
            raise InputError(f"{path}: cannot read image (corrupt PNG: bad checksum in a {kind.decode('latin-1')} chunk)")
        if kind == b"IEND":
            return
        position = end + 4
    raise InputError(f"{path}: cannot read image (truncated PNG: no IEND chunk)")


def _is_16bit_colour(image: Image.Image, data: bytes) -> bool:
    """Whether Pillow would reduce this image to 8 bits: it has no 16-bit colour modes."""
    if image.format == "PNG":
        bit_depth, colour_type = data[24], data[25]  # from the IHDR chunk, always first
        return bit_depth == 16 and colour_type in (2, 4, 6)  # RGB, grey + alpha, RGBA
    if image.format == "TIFF" and image.mode in ("RGB", "RGBA"):
        bits_per_sample = image.tag_v2.get(258, (8,))
        return 16 in (bits_per_sample if isinstance(bits_per_sample, tuple) else (bits_per_sample,))
    return False


def _decode_with_opencv(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray | None, bool]:
    # IMREAD_UNCHANGED keeps the bit depth and alpha, and ignores EXIF orientation,
    # which the caller applies as for every other image.
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise InputError(f"{path}: cannot read image (corrupt 16-bit {path.suffix.lstrip('.')} file)")
    decoded = decoded.astype(np.uint16)
    if decoded.ndim == 2:
        return _grey_to_rgb(decoded), None, True
    rgb = np.ascontiguousarray(decoded[:, :, 2::-1])  # OpenCV gives BGR(A)
    alpha = decoded[:, :, 3].copy() if decoded.shape[2] == 4 else None
    return rgb, alpha, False


def _encode_16bit(
    rgb: np.ndarray, alpha: np.ndarray | None, grey: bool, output_format: str
) -> bytes:
    if grey and alpha is None:
        pixels = _grey_of(rgb)
    else:
        pixels = rgb[:, :, ::-1] if alpha is None else np.dstack([rgb[:, :, ::-1], alpha])
    ok, encoded = cv2.imencode(f".{'tif' if output_format == 'tiff' else 'png'}", pixels)
    if not ok:
        raise PTGFillError(f"cannot encode a 16-bit {output_format} image")
    return encoded.tobytes()


def _pil_pixels(rgb: np.ndarray, alpha: np.ndarray | None, grey: bool) -> np.ndarray:
    """8-bit pixels whose shape gives Pillow the mode: (H, W) L, (H, W, 2) LA,
    (H, W, 3) RGB, (H, W, 4) RGBA."""
    colour = _grey_of(_to_uint8(rgb)) if grey else _to_uint8(rgb)
    if alpha is None:
        return colour
    return np.dstack([colour, _to_uint8(alpha)])


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def _grey_of(rgb: np.ndarray) -> np.ndarray:
    """Luma, rounded back to the pixel type (exact for equal channels)."""
    luma = rgb.astype(np.float64) @ LUMA_WEIGHTS
    if np.issubdtype(rgb.dtype, np.floating):
        return luma.astype(rgb.dtype)
    return np.clip(np.rint(luma), 0, max_value_of(rgb.dtype)).astype(rgb.dtype)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    scaled = pixels.astype(np.float64) * (255.0 / max_value_of(pixels.dtype))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _check_pixel_count(path: Path, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        need = fill_bytes(width * height, FALLBACK_MAX_SIDE**2)
        raise InputError(f"{path}: {height}x{width} is {width * height / 1e6:.3g} megapixels, over the limit of "
                         f"{max_pixels / 1e6:g} megapixels (filling it takes about {gigabytes(need)}); "
                         "ptgfill inpaint --max-pixels raises the limit")


def _reason(error: BaseException) -> str:
    if isinstance(error, UnidentifiedImageError):
        return "not an image in a known format"
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a folder"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return first_line(error)
