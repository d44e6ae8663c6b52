"""The Inpainter: a loaded network plus the pipeline around it.

decoded image + hole mask -> working tensor (see ``working``) -> network ->
back to the region -> composite. The composite takes the network's pixels only in
the holes, so everything else is the input, bit for bit.

The network is a PyTorch generator (``torch_network``) or an exported ONNX file run by
onnxruntime (``onnx_network``); this module imports neither torch nor onnxruntime, so
the ONNX path runs where torch is not installed.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence, Union

import numpy as np
from PIL import Image

from ..data.image_io import (
    LUMA_WEIGHTS,
    LoadedImage,
    hole_mask_from_image,
    image_from_array,
    image_from_pil,
    mask_from_alpha,
)
from ..data.masks import composite, dilate_holes
from ..errors import InputError, PTGFillError, SettingError
from ..runtime.choices import DEFAULT_UPSCALE
from ..runtime.memory import FALLBACK_MAX_SIDE, available_bytes, fill_bytes, gigabytes
from .upscale import FACTOR, check_mode, fill_as_asked, mode_for, wants_upscale
from .working import (
    DEFAULT_CROP_MARGIN,
    DEFAULT_MAX_SIDE,
    STRATEGIES,
    WorkingPlan,
    from_working,
    plan_working,
    to_working,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..models.generator import PTGFillGenerator

ImageLike = Union[Image.Image, np.ndarray, LoadedImage]
MaskLike = Union[Image.Image, np.ndarray, None]
BACKENDS = ("torch", "onnxruntime")


class Network(Protocol):
    """What the pipeline needs of a network: ``generate`` maps float32 numpy batches,
    image (B, 3, H, W) in [0, 1] and known (B, 1, H, W) with 1 = known, to (refined,
    coarse) (B, 3, H, W); H and W multiples of ``size_multiple``, or exactly
    ``fixed_size`` when the network has one."""

    backend: str
    fixed_size: tuple[int, int] | None

    @property
    def size_multiple(self) -> int: ...

    @property
    def runs_on_cpu(self) -> bool: ...  # its working memory is the system's

    def generate(self, image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class InpaintResult:
    """One filled image. ``image`` has the input's dtype, alpha and grey-ness, and
    equals the input outside ``hole_mask``."""

    image: LoadedImage
    hole_mask: np.ndarray  # (H, W) bool, True = hole
    strategy: str  # original, resize, crop, or copy when there was no hole
    working_sizes: list[tuple[int, int]]  # (H, W) of each working piece, before any enlargement; none for copy
    seconds: float
    coarse: LoadedImage | None = None  # the coarse network's fill, when asked for
    note: str | None = None  # why the fill worked otherwise than asked (a memory fallback)
    upscaled: bool = False  # thin holes: the network ran on the working image enlarged (see upscale)

    @property
    def pixels(self) -> np.ndarray:
        """The filled (H, W, 3) RGB pixels."""
        return self.image.rgb

    @property
    def hole_ratio(self) -> float:
        return float(self.hole_mask.mean())

    def to_pil(self) -> Image.Image:
        return self.image.to_pil()

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.image.width,
            "height": self.image.height,
            "hole_ratio": round(self.hole_ratio, 6),
            "strategy": self.strategy,
            "working_sizes": [list(size) for size in self.working_sizes],
            "upscaled": self.upscaled,
            "seconds": round(self.seconds, 4),
            **({"note": self.note} if self.note else {}),
        }


@dataclass
class WorkingPiece:
    """One network input: a piece of an image (the whole of it, or a crop)."""

    plan: WorkingPlan
    image: np.ndarray  # (3, H, W) float32 in [0, 1]
    known: np.ndarray  # (1, H, W) float32, 1 = known
    upscaled: bool = False  # run enlarged FACTOR times (thin holes, see upscale)


@dataclass
class PreparedImage:
    """An image checked and turned into network inputs, waiting for its turn."""

    source: LoadedImage
    hole_mask: np.ndarray
    output_alpha: np.ndarray | None
    pieces: list[WorkingPiece]  # empty: no hole, the result is a copy
    seconds: float = 0.0
    note: str | None = None  # why the working image is not the one asked for


class Inpainter:
    """Fills holes in images with a PTG-Fill generator. For example::

        inpainter = Inpainter.from_pretrained()  # the default model, loaded once
        result = inpainter.inpaint(Image.open("photo.jpg"), Image.open("mask.png"))
        result.to_pil().save("filled.png")

    ``strategy`` (auto, original, resize, crop), ``max_side`` and ``crop_margin``
    choose the working image (see ``ptgfill_cli.inference.working``); ``batch_size`` is
    how many same-size working images go through the network together; ``dilate`` grows
    every hole by that many pixels before the fill (the result's ``hole_mask`` is the grown
    one: pixels outside it are the input's); ``flip_average`` averages every fill with the
    mirrored fill of the mirrored image (``inference.flip_average``), for twice the network time;
    ``upscale`` (auto, thin, off) fills images with thin holes enlarged 2x (``inference.upscale``).
    """

    def __init__(
        self,
        generator: "PTGFillGenerator | Network",
        *,
        device: "str | torch.device | None" = None,
        strategy: str = "auto",
        max_side: int = DEFAULT_MAX_SIDE,
        crop_margin: int = DEFAULT_CROP_MARGIN,
        batch_size: int = 1,
        name: str | None = None,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool = False,
        dilate: int = 0,
        flip_average: bool = False,
        upscale: str = DEFAULT_UPSCALE,
    ) -> None:
        if dilate < 0:
            raise ValueError(f"dilate must be 0 or more pixels, not {dilate}")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        if crop_margin < 0:
            raise ValueError(f"crop_margin must not be negative, not {crop_margin}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        check_mode(upscale)
        if hasattr(generator, "generate"):
            if device is not None or channels_last is not None or precision != "fp32" or compile:
                raise ValueError("device, channels_last, precision and compile apply to a PyTorch generator, "
                                 f"not to a {generator.backend} network")
            self.network: Network = generator  # type: ignore[assignment]
        else:
            from .torch_network import TorchNetwork

            self.network = TorchNetwork(
                generator, device=device, channels_last=channels_last, precision=precision, compile=compile
            )
        multiple = self.network.size_multiple
        if max_side < multiple:
            raise ValueError(f"max_side must be at least {multiple}, not {max_side}")
        if self.network.fixed_size is not None:  # every working image is padded up to it
            max_side = min(max_side, *self.network.fixed_size)
        self.strategy = strategy
        self.max_side = max_side
        self.crop_margin = crop_margin
        self.batch_size = batch_size
        self.dilate = dilate
        self.flip_average = flip_average
        self.upscale = mode_for(upscale, self.network.fixed_size)
        self.name = name

    @property
    def generator(self) -> "PTGFillGenerator":
        """The PyTorch generator (the torch backend only)."""
        generator = getattr(self.network, "generator", None)
        if generator is None:
            raise AttributeError(f"a {self.network.backend} network has no PyTorch generator")
        return generator

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike[str] | None = None,
        *,
        device: "str | torch.device" = "auto",
        backend: str = "torch",
        threads: int | None = None,
        **options: Any,
    ) -> "Inpainter":
        """An Inpainter over a model name, path or ``hf://owner/repo[/file][@revision]``
        (None: the default model; a ``Path`` is a file or folder); with ``backend="onnxruntime"``,
        over an ONNX file made by ``ptgfill export``. ``threads``: CPU threads for the network (for torch, the
        process-wide ``torch.set_num_threads``). ``options`` are the constructor's."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        if backend == "onnxruntime":
            from .onnx_network import OnnxNetwork

            if model is None:
                raise SettingError("backend", "onnxruntime needs a model FILE.onnx (made by ptgfill export)")
            if options.pop("precision", "fp32") != "fp32" or options.pop("compile", False):
                raise InputError(
                    "--precision and --compile are PyTorch's; an ONNX file's precision is set when "
                    "it is exported (ptgfill export --fp16)"
                )
            network = OnnxNetwork(model, device=str(device), threads=threads)
            return cls(network, name=network.name, **options)
        import torch

        from ..weights.resolve import load_model
        from ..runtime.device import resolve_device

        if threads is not None:
            torch.set_num_threads(threads)
        resolved = resolve_device(device)
        loaded = load_model(model, device=str(resolved))
        return cls(loaded.generator, device=resolved, name=loaded.name, **options)

    def inpaint(
        self, image: ImageLike, hole_mask: MaskLike = None, *, keep_coarse: bool = False
    ) -> InpaintResult:
        """Fill the holes of one image.

        ``hole_mask``: a boolean or integer (H, W) array (nonzero = hole), a Pillow
        mask image (white = hole), or None to use the image's alpha channel
        (transparent = hole; the result is then opaque).
        """
        return self.run([self.prepare(image, hole_mask)], keep_coarse=keep_coarse)[0]

    def inpaint_batch(
        self, items: Sequence[tuple[ImageLike, MaskLike]], *, keep_coarse: bool = False
    ) -> list[InpaintResult]:
        """Fill many images; those with the same working size share network batches.
        Results come back in the order of ``items``."""
        return self.run([self.prepare(image, mask) for image, mask in items], keep_coarse=keep_coarse)

    def prepare(self, image: ImageLike, hole_mask: MaskLike = None) -> PreparedImage:
        """Check an image and its mask and make its network input.
        Raises InputError for a mask of another size or with no known pixel."""
        started = time.perf_counter()
        source = as_loaded_image(image)
        output_alpha = source.alpha
        if hole_mask is None:
            if source.alpha is None:
                raise InputError("no mask given and the image has no alpha channel to use as one")
            hole_mask, output_alpha = mask_from_alpha(source.alpha), None
        else:
            hole_mask = as_hole_mask(hole_mask)
        if hole_mask.shape != (source.height, source.width):
            raise InputError(
                f"mask is {hole_mask.shape[1]}x{hole_mask.shape[0]} but the image is "
                f"{source.width}x{source.height}"
            )
        hole_mask = dilate_holes(hole_mask, self.dilate)
        if not hole_mask.any():
            return PreparedImage(source, hole_mask, output_alpha, [], time.perf_counter() - started)
        if hole_mask.all():
            raise InputError("mask is all hole: there are no known pixels to fill from")
        plans = self._plan(hole_mask, self.strategy, self.max_side)
        note = None
        shortfall = self._memory_shortfall(hole_mask.size, plans)
        if shortfall is not None:
            plans = self._plan(hole_mask, "crop", self._fallback_side)
            note = f"{shortfall}: filled from crops around the holes of at most {self._fallback_side} pixels"
        return PreparedImage(source, hole_mask, output_alpha, self._pieces(source, hole_mask, plans),
                             time.perf_counter() - started, note)

    def cheaper(self, item: PreparedImage, reason: str) -> PreparedImage | None:
        """``item`` planned again as crops around the holes of at most ``FALLBACK_MAX_SIDE``
        pixels, for a retry after running out of memory; None when it is already that cheap."""
        side = self._fallback_side
        if not item.pieces or all(piece.plan.strategy == "crop" and max(piece.plan.padded_size) <= side
                                  for piece in item.pieces):
            return None
        started = time.perf_counter()
        pieces = self._pieces(item.source, item.hole_mask, self._plan(item.hole_mask, "crop", side))
        return PreparedImage(item.source, item.hole_mask, item.output_alpha, pieces,
                             item.seconds + time.perf_counter() - started,
                             f"{reason}: filled from crops around the holes of at most {side} pixels")

    @property
    def _fallback_side(self) -> int:
        return min(self.max_side, FALLBACK_MAX_SIDE)

    def _memory_shortfall(self, image_pixels: int, plans: Sequence[WorkingPlan]) -> str | None:
        """Why a whole-image plan would not fit in free memory (the CPU's; crops always go on)."""
        if self.strategy == "crop" or not self.network.runs_on_cpu:
            return None
        working_pixels = max(plan.padded_size[0] * plan.padded_size[1] for plan in plans)
        if self.upscale == "thin":  # it may be enlarged (auto enlarges only small images)
            working_pixels *= FACTOR * FACTOR
        # The model is loaded already: only what the fill adds counts against free memory.
        need = fill_bytes(image_pixels, working_pixels, self.batch_size, process=False)
        available = available_bytes()
        if available is None or need <= available:
            return None
        return f"the whole image would need about {gigabytes(need)} and {gigabytes(available)} is free"

    def _pieces(self, source: LoadedImage, hole_mask: np.ndarray, plans: Sequence[WorkingPlan]) -> list[WorkingPiece]:
        pieces = [WorkingPiece(plan, *to_working(source.rgb, ~hole_mask, plan, source.max_value)) for plan in plans]
        for piece in pieces:
            piece.upscaled = wants_upscale(piece.known[0], self.upscale)
        return pieces

    def _plan(self, hole_mask: np.ndarray, strategy: str, max_side: int) -> list[WorkingPlan]:
        multiple = self.network.size_multiple
        return plan_working(
            hole_mask,
            strategy,
            max_side=max_side,
            crop_margin=self.crop_margin,
            multiple=multiple,
            # The coarse net halves the input, then its encoders halve it four more
            # times; instance norm needs more than one pixel at the bottom (2x2).
            min_side=2 * multiple,
        )

    def run(self, prepared: Sequence[PreparedImage], *, keep_coarse: bool = False) -> list[InpaintResult]:
        """Run the network on prepared images' pieces, in batches of up to
        ``batch_size`` pieces of one working size, and composite the results."""
        outputs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        network_seconds = [0.0] * len(prepared)
        by_shape: dict[tuple[tuple[int, int], bool], list[tuple[int, int]]] = defaultdict(list)
        for index, item in enumerate(prepared):
            for number, piece in enumerate(item.pieces):
                by_shape[piece.plan.padded_size, piece.upscaled].append((index, number))
        for keys in by_shape.values():
            for start in range(0, len(keys), self.batch_size):
                chunk = keys[start : start + self.batch_size]
                started = time.perf_counter()
                refined, coarse = self._generate([prepared[i].pieces[n] for i, n in chunk])
                share = (time.perf_counter() - started) / len(chunk)
                for row, (index, number) in enumerate(chunk):
                    outputs[index, number] = refined[row], coarse[row]
                    network_seconds[index] += share
        results = []
        for index, item in enumerate(prepared):
            piece_outputs = [outputs[index, number] for number in range(len(item.pieces))]
            results.append(_composite(item, piece_outputs, network_seconds[index], keep_coarse))
        return results

    def _generate(self, batch: Sequence[WorkingPiece]) -> tuple[np.ndarray, np.ndarray]:
        image = np.stack([piece.image for piece in batch])
        known = np.stack([piece.known for piece in batch])
        choices = [piece.upscaled for piece in batch]
        refined, coarse = fill_as_asked(self.network.generate, image, known, choices, self.flip_average)
        if not (np.isfinite(refined).all() and np.isfinite(coarse).all()):
            raise PTGFillError(f"the network's output ({self.network.backend}) holds NaN or infinite values; "
                               "nothing was written")
        return refined, coarse


def as_loaded_image(image: ImageLike) -> LoadedImage:
    """A Pillow image, an array or a LoadedImage as a LoadedImage."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, Image.Image):
        return image_from_pil(image)
    if isinstance(image, np.ndarray):
        return image_from_array(image)
    raise TypeError(f"expected a PIL image, a numpy array or a LoadedImage, not {type(image).__name__}")


def as_hole_mask(mask: Image.Image | np.ndarray) -> np.ndarray:
    """A boolean (H, W) hole mask from an array (nonzero = hole) or a Pillow mask
    image (white = hole, as in mask files)."""
    if isinstance(mask, Image.Image):
        return hole_mask_from_image(image_from_pil(mask))
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise InputError(f"a hole mask array must be (H, W), not {mask.shape}")
    return mask.astype(bool)


def _composite(
    item: PreparedImage,
    piece_outputs: list[tuple[np.ndarray, np.ndarray]],
    network_seconds: float,
    keep_coarse: bool,
) -> InpaintResult:
    """The source with each piece's holes taken from the network's output."""
    started = time.perf_counter()
    rgb = item.source.rgb.copy()
    coarse_rgb = item.source.rgb.copy() if keep_coarse else None
    for piece, (refined, coarse) in zip(item.pieces, piece_outputs):
        _paste(rgb, item, piece, refined)
        if coarse_rgb is not None:
            _paste(coarse_rgb, item, piece, coarse)
    return InpaintResult(
        image=item.source.with_pixels(rgb, item.output_alpha),
        hole_mask=item.hole_mask,
        strategy=item.pieces[0].plan.strategy if item.pieces else "copy",
        working_sizes=[piece.plan.padded_size for piece in item.pieces],
        seconds=item.seconds + network_seconds + time.perf_counter() - started,
        coarse=None if coarse_rgb is None else item.source.with_pixels(coarse_rgb, item.output_alpha),
        note=item.note,
        upscaled=any(piece.upscaled for piece in item.pieces),
    )


def _paste(rgb: np.ndarray, item: PreparedImage, piece: WorkingPiece, output: np.ndarray) -> None:
    """Write the network's ``output`` for ``piece`` into the holes of its region."""
    # Known working pixels first take the input's values, so that scaling back up
    # blends the hole's edge with the real surroundings, not the network's copy of them.
    blended = composite(piece.known, piece.image, output)
    region_fill = from_working(blended, piece.plan)
    if item.source.grey:
        luma = region_fill @ LUMA_WEIGHTS.astype(np.float32)
        region_fill = np.repeat(luma[:, :, None], 3, axis=2)
    fill = _from_unit(region_fill, rgb.dtype)
    rows, cols = piece.plan.region.slices
    region_holes = item.hole_mask[rows, cols]
    rgb[rows, cols][region_holes] = fill[region_holes]


def _from_unit(unit: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.floating):
        return unit.astype(dtype)
    top = np.iinfo(dtype).max
    return np.clip(np.rint(unit * top), 0, top).astype(dtype)
