"""Inpainting files: plan the jobs for a command line's images and options (``plan_files``),
then read, fill and write them, going on past the bad ones (``inpaint_files``)."""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..atomic import remove_stale_temporaries, unwritable_reason
from ..data.image_io import load_image, load_mask, save_image
from ..data.pairing import FileJob, expand_image_args, image_subfolders, output_name_template, plan_jobs
from ..errors import InputError, PTGFillError, SettingError
from ..runtime.memory import DEFAULT_MAX_PIXELS
from .inpainter import Inpainter, InpaintResult, PreparedImage


@dataclass(frozen=True)
class FileOptions:
    """How ``ptgfill inpaint`` maps images to masks and outputs (its options, as the library
    takes them). ``mask``: a file for every image or a folder paired by stem; or
    ``alpha_mask`` for the images' alpha channels. ``name`` / ``suffix``: output names in a
    folder (see ``pairing.output_name_template``)."""

    output: Path
    mask: Path | None = None
    alpha_mask: bool = False
    invert_mask: bool = False
    name: str | None = None
    suffix: str | None = None
    output_format: str | None = None
    quality: int = 95
    overwrite: bool = False
    skip_existing: bool = False  # resume a batch: images whose outputs exist are left alone
    recursive: bool = False  # folders' subfolders too, their tree mirrored in the output
    save_coarse: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images and masks fail unread; None: no limit

    def __post_init__(self) -> None:
        if self.overwrite and self.skip_existing:
            raise SettingError("overwrite", "and `skip_existing` exclude each other: give either, not both")
        if self.mask is None and not self.alpha_mask:
            raise SettingError("mask", "is needed: give a mask file or folder, or `alpha_mask` to use the "
                                       "images' alpha channels")
        if self.mask is not None and self.alpha_mask:
            raise SettingError("mask", "and `alpha_mask` exclude each other: give either, not both")
        if self.invert_mask and self.alpha_mask:
            raise SettingError("invert_mask", "applies to mask files, not to `alpha_mask`")
        if not 1 <= self.quality <= 100:
            raise SettingError("quality", f"must be from 1 to 100, not {self.quality}")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise SettingError("max_pixels", f"must be at least 1 (or None for no limit), not {self.max_pixels}")


@dataclass(frozen=True)
class FilePlan:
    """The jobs for a set of images, and the masks already read (one shared by all)."""

    jobs: list[FileJob]
    options: FileOptions
    loaded_masks: dict[Path, np.ndarray] = field(default_factory=dict)
    skipped: frozenset[int] = frozenset()  # indices of jobs whose outputs exist (skip_existing)


@dataclass(frozen=True)
class FillSummary:
    """What the inpainter did to one image (its pixels are in the written file)."""

    width: int
    height: int
    hole_ratio: float
    strategy: str  # original, resize, crop, or copy when there was no hole
    working_sizes: list[tuple[int, int]]  # (H, W) of each working piece, before any enlargement
    note: str | None = None  # why it was filled otherwise than asked (a memory fallback)
    upscaled: bool = False  # thin holes: the network ran on the working image enlarged

    @classmethod
    def of(cls, result: InpaintResult) -> "FillSummary":
        return cls(result.image.width, result.image.height, result.hole_ratio, result.strategy,
                   list(result.working_sizes), result.note, result.upscaled)

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "hole_ratio": round(self.hole_ratio, 6),
                "strategy": self.strategy, "working_sizes": [list(size) for size in self.working_sizes],
                "upscaled": self.upscaled, **({"note": self.note} if self.note else {})}


@dataclass
class FileResult:
    """What became of one job: ``error`` is None on success, and then ``fill`` says how."""

    job: FileJob
    error: str | None = None
    seconds: float = 0.0
    fill: FillSummary | None = None
    skipped: bool = False  # its outputs existed and skip_existing left them

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        return "error" if self.error is not None else "skipped" if self.skipped else "ok"

    def to_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "input": str(job.image_path),
            "mask": None if job.mask_path is None else str(job.mask_path),
            "output": str(job.output_path) if self.ok else None,
            "coarse": str(job.coarse_path) if self.ok and job.coarse_path else None,
            "status": self.status,
            "error": self.error,
            **(self.fill.to_dict() if self.fill is not None else {}),
            "seconds": round(self.seconds, 4),
        }


def plan_files(images: Sequence[str], options: FileOptions) -> FilePlan:
    """The jobs for ``images`` (files, folders, glob patterns) under ``options``; a mask file
    shared by every image is read here, once, so that a bad one fails before any work.
    Raises PTGFillError for problems of the whole set; one image's problem is its job's error."""
    found = expand_image_args(images, recursive=options.recursive)
    jobs = plan_jobs(
        found,
        subfolders=image_subfolders(images, found) if options.recursive else None,
        name_template=output_name_template(options.name, options.suffix),
        mask=options.mask,
        output=options.output,
        output_format=options.output_format,
        save_coarse=options.save_coarse,
        overwrite=options.overwrite or options.skip_existing,
    )
    skipped = frozenset(
        index for index, job in enumerate(jobs)
        if options.skip_existing and job.error is None
        and all(path.exists() for path in (job.output_path, job.coarse_path) if path is not None)
    )
    for folder in sorted({job.output_path.parent for job in jobs if job.error is None}):
        reason = unwritable_reason(folder)
        if reason is not None:  # every image would fail after its fill: fail before any
            raise PTGFillError(f"{folder}: cannot write outputs there ({reason})")
        remove_stale_temporaries(folder)  # left by a run killed mid-write
    loaded = {}
    if options.mask is not None and options.mask.is_file():
        loaded[options.mask] = load_shared_mask(options.mask, invert=options.invert_mask,
                                                max_pixels=options.max_pixels)
    return FilePlan(jobs, options, loaded, skipped)


def inpaint_files(inpainter: Inpainter, plan: FilePlan, *, overlap: bool = True) -> Iterator[FileResult]:
    """Fill and write every job of ``plan``, one FileResult per job, in order (see
    ``run_file_jobs``); a skipped job's result says so and nothing is written for it."""
    options = plan.options
    to_run = [job for index, job in enumerate(plan.jobs) if index not in plan.skipped]
    results = run_file_jobs(inpainter, to_run, invert_mask=options.invert_mask, quality=options.quality,
                            overwrite=options.overwrite or options.skip_existing, loaded_masks=plan.loaded_masks,
                            overlap=overlap, max_pixels=options.max_pixels)
    for index, job in enumerate(plan.jobs):
        yield FileResult(job, skipped=True) if index in plan.skipped else next(results)


def run_file_jobs(
    inpainter: Inpainter,
    jobs: Sequence[FileJob],
    *,
    invert_mask: bool = False,
    quality: int = 95,
    overwrite: bool = False,
    loaded_masks: dict[Path, np.ndarray] | None = None,
    overlap: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Iterator[FileResult]:
    """Fill the jobs' images ``inpainter.batch_size`` at a time and write the results,
    yielding one FileResult per job, in order. A job that fails (unreadable file,
    mask of the wrong size, unwritable output ...) is reported and the rest go on.
    ``loaded_masks`` holds masks already read (a mask shared by all images); images and
    masks of over ``max_pixels`` pixels fail before they are decoded.

    With ``overlap``, the next batch is decoded and the previous one encoded and
    written on two helper threads while the network runs on this one (image codecs
    and torch both release the GIL)."""
    masks = _MaskCache(jobs, invert_mask, loaded_masks or {}, max_pixels)
    chunks = [jobs[start : start + inpainter.batch_size] for start in range(0, len(jobs), inpainter.batch_size)]
    if not overlap:
        for chunk in chunks:
            results, prepared = _prepare_chunk(inpainter, chunk, masks)
            yield from _save_chunk(results, prepared, _run(inpainter, prepared, results, chunk), quality, overwrite)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="ptgfill-decode") as reader, ThreadPoolExecutor(
        1, thread_name_prefix="ptgfill-encode"
    ) as writer:
        upcoming = reader.submit(_prepare_chunk, inpainter, chunks[0], masks) if chunks else None
        saving: deque[Future[list[FileResult]]] = deque()
        try:
            for number, chunk in enumerate(chunks):
                results, prepared = upcoming.result()
                if number + 1 < len(chunks):
                    upcoming = reader.submit(_prepare_chunk, inpainter, chunks[number + 1], masks)
                filled = _run(inpainter, prepared, results, chunk)
                saving.append(writer.submit(_save_chunk, results, prepared, filled, quality, overwrite))
                while len(saving) > 1 or (saving and saving[0].done()):
                    yield from saving.popleft().result()
        except BaseException as stop:
            if isinstance(stop, GeneratorExit):  # closed by the consumer: nothing can be yielded
                raise
            # Stopped here (a signal, an unexpected error): what the writer has begun it finishes,
            # so report those files before going, or they would be written but never reported.
            if upcoming is not None:
                upcoming.cancel()
            begun = [future for future in saving if not future.cancel()]
            saving.clear()
            for future in begun:
                yield from future.result()
            raise stop
        while saving:
            yield from saving.popleft().result()


def _prepare_chunk(
    inpainter: Inpainter, chunk: Sequence[FileJob], masks: _MaskCache
) -> tuple[list[FileResult], dict[int, PreparedImage]]:
    results = [FileResult(job, job.error) for job in chunk]
    prepared: dict[int, PreparedImage] = {}
    for index, result in enumerate(results):
        if result.ok:
            started = time.perf_counter()
            try:
                prepared[index] = _prepare(inpainter, result.job, masks)
            except PTGFillError as error:
                result.error = str(error)
            result.seconds += time.perf_counter() - started
    return results, prepared


def _save_chunk(
    results: list[FileResult], prepared: dict[int, PreparedImage], filled: dict[int, InpaintResult],
    quality: int, overwrite: bool,
) -> list[FileResult]:
    for index, inpaint_result in filled.items():
        # The result's seconds count its preparation again, measured above.
        results[index].seconds += inpaint_result.seconds - prepared[index].seconds
        _save(results[index], inpaint_result, quality, overwrite)
    return results


def load_shared_mask(path: Path, *, invert: bool = False, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a mask meant for every image, failing early (PTGFillError) when it cannot
    serve any of them: unreadable, too large, or all hole."""
    hole_mask = load_mask(path, invert=invert, max_pixels=max_pixels)
    if hole_mask.all():
        raise PTGFillError(f"{path}: mask is all hole: there are no known pixels to fill from")
    return hole_mask


class _MaskCache:
    """Reads each mask file once when several images share it. Used by one thread at
    a time: the decoding thread, or the caller's when nothing overlaps."""

    def __init__(self, jobs: Sequence[FileJob], invert: bool, loaded: dict[Path, np.ndarray],
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        self.invert, self.max_pixels = invert, max_pixels
        self.shared = {path for path, uses in Counter(job.mask_path for job in jobs).items() if uses > 1}
        self.loaded = dict(loaded)

    def get(self, path: Path) -> np.ndarray:
        if path in self.loaded:
            return self.loaded[path]
        hole_mask = load_mask(path, invert=self.invert, max_pixels=self.max_pixels)
        if path in self.shared:
            self.loaded[path] = hole_mask
        return hole_mask


def _prepare(inpainter: Inpainter, job: FileJob, masks: _MaskCache) -> PreparedImage:
    image = load_image(job.image_path, max_pixels=masks.max_pixels)
    hole_mask = None if job.mask_path is None else masks.get(job.mask_path)
    try:
        return inpainter.prepare(image, hole_mask)
    except PTGFillError as error:
        raise InputError(f"{job.mask_path or job.image_path}: {error}") from None


def _run(
    inpainter: Inpainter,
    prepared: dict[int, PreparedImage],
    results: list[FileResult],
    chunk: Sequence[FileJob],
) -> dict[int, InpaintResult]:
    keep_coarse = any(job.coarse_path is not None for job in chunk)
    indices = list(prepared)
    try:
        filled = inpainter.run([prepared[index] for index in indices], keep_coarse=keep_coarse)
    except PTGFillError as error:  # e.g. a non-finite network output: these images fail, the rest go on
        for index in indices:
            results[index].error = f"{results[index].job.image_path}: {error}"
        return {}
    except (*_out_of_memory_errors(), MemoryError):
        return {index: filled for index in indices
                if (filled := _retry_after_out_of_memory(inpainter, prepared[index], results[index],
                                                          keep_coarse, alone=len(indices) > 1)) is not None}
    return dict(zip(indices, filled))


def _retry_after_out_of_memory(
    inpainter: Inpainter, item: PreparedImage, result: FileResult, keep_coarse: bool, alone: bool
) -> InpaintResult | None:
    """One image of a batch that ran out of memory: alone (when it shared the batch), then on
    cheaper crops around its holes; None, with the result's error set, when neither fits."""
    attempts = [item] if alone else []
    attempts += [cheaper] if (cheaper := inpainter.cheaper(item, "out of memory on the whole image")) else []
    for attempt in attempts:
        try:
            return inpainter.run([attempt], keep_coarse=keep_coarse)[0]
        except (*_out_of_memory_errors(), MemoryError):
            continue
        except PTGFillError as error:
            result.error = f"{result.job.image_path}: {error}"
            return None
    result.error = f"{result.job.image_path}: out of memory, also on crops; try a smaller --max-side or --batch-size"
    return None


def _out_of_memory_errors() -> tuple[type[BaseException], ...]:
    """torch's out-of-memory error where torch is loaded (the ONNX backend runs without it)."""
    torch = sys.modules.get("torch")
    return (torch.cuda.OutOfMemoryError,) if torch is not None else ()


def _save(result: FileResult, filled: InpaintResult, quality: int, overwrite: bool) -> None:
    job = result.job
    started = time.perf_counter()
    try:
        job.output_path.parent.mkdir(parents=True, exist_ok=True)
        save_image(filled.image, job.output_path, quality=quality, overwrite=overwrite)
        if job.coarse_path is not None and filled.coarse is not None:
            save_image(filled.coarse, job.coarse_path, quality=quality, overwrite=overwrite)
    except OSError as error:
        result.error = f"{job.output_path.parent}: cannot create the folder ({error.strerror or error})"
    except PTGFillError as error:
        result.error = str(error)
    else:
        result.fill = FillSummary.of(filled)
    result.seconds += time.perf_counter() - started
