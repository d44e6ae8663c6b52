"""Turning command-line arguments into jobs: which images, which mask for each, and
where each result goes."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import PTGFillError, SettingError
from .image_io import IMAGE_SUFFIXES, SUFFIX_FORMATS

OUTPUT_FORMATS: tuple[str, ...] = ("png", "jpg", "webp", "tiff", "bmp", "same")
DEFAULT_NAME_TEMPLATE = "{stem}.{ext}"  # an output file's name in a folder: the input's stem
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class FileJob:
    """One image to fill: where its pixels, its mask and its results are.

    ``mask_path`` None means the image's alpha channel is the mask. ``error`` is set
    when the job cannot run at all (no mask for it, its output exists ...)."""

    image_path: Path
    mask_path: Path | None
    output_path: Path
    coarse_path: Path | None = None
    error: str | None = None


def expand_image_args(args: Sequence[str], *, recursive: bool = False) -> list[Path]:
    """The image files that arguments name: a file as given, a folder as the image
    files in it (with ``recursive``, in its subfolders too; hidden ones skipped), a glob
    pattern as the image files it matches; sorted within each argument, duplicates
    dropped. An argument that names nothing is a PTGFillError."""
    images: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            children = path.rglob("*") if recursive else path.iterdir()
            found = [child for child in children if is_image_file(child)
                     and not any(part.startswith(".") for part in child.relative_to(path).parts)]
            if not found:
                raise PTGFillError(f"{arg}: no image files in this folder")
        elif path.exists():
            found = [path]
        elif _GLOB_CHARACTERS & set(arg):
            found = [Path(match) for match in glob.glob(arg, recursive=True)]
            found = [match for match in found if is_image_file(match)]
            if not found:
                raise PTGFillError(f"{arg}: no image files match this pattern")
        else:
            raise PTGFillError(f"{arg}: no such file or folder")
        images.extend(sorted(found))
    return list(dict.fromkeys(images))


def image_subfolders(args: Sequence[str], images: Sequence[Path]) -> dict[Path, Path]:
    """For images found inside a folder argument, their subfolder relative to it (where a
    recursive run puts their outputs, and looks for their masks first)."""
    folders = [Path(arg) for arg in args if Path(arg).is_dir()]
    subfolders: dict[Path, Path] = {}
    for image in images:
        for folder in folders:
            try:
                relative = image.parent.relative_to(folder)
            except ValueError:
                continue
            if relative.parts:
                subfolders[image] = relative
            break
    return subfolders


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


class MaskFolder:
    """The masks in a folder, found for an image by its file name's stem:
    ``masks/photo.png`` (any image suffix) or ``masks/photo_mask.png`` for ``photo.jpg``; for
    an image in a subfolder of a recursive run, ``masks/SUB/photo.*`` first (a mirrored tree)."""

    def __init__(self, folder: Path, recursive: bool = False) -> None:
        self.folder = folder
        self._by_stem: dict[tuple[Path, str], list[Path]] = {}
        for child in sorted(folder.rglob("*") if recursive else folder.iterdir()):
            if is_image_file(child):
                self._by_stem.setdefault((child.parent.relative_to(folder), child.stem), []).append(child)

    def mask_for(self, image_path: Path, subfolder: Path = Path()) -> Path:
        """The mask of ``image_path``; PTGFillError when there is none or more than one."""
        places = [subfolder, Path()] if subfolder.parts else [Path()]
        for place, stem in ((place, stem) for place in places for stem in (image_path.stem, f"{image_path.stem}_mask")):
            candidates = self._by_stem.get((place, stem), [])
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                names = ", ".join(candidate.name for candidate in candidates)
                raise PTGFillError(f"{image_path}: more than one mask for it in {self.folder} ({names})")
        raise PTGFillError(
            f"{image_path}: no mask for it in {self.folder} "
            f"(looked for {image_path.stem}.* and {image_path.stem}_mask.*)"
        )


def plan_jobs(
    images: Sequence[Path],
    *,
    mask: Path | None,
    output: Path,
    output_format: str | None = None,
    save_coarse: bool = False,
    overwrite: bool = False,
    name_template: str = DEFAULT_NAME_TEMPLATE,
    subfolders: dict[Path, Path] | None = None,
) -> list[FileJob]:
    """One job per image.

    ``mask``: a mask file for every image, a folder of masks paired by stem, or None
    for the images' alpha channels. ``output``: a file when there is one image and it
    has an image suffix, otherwise a folder of ``{stem}.{format}`` files.
    ``output_format``: png, jpg, webp, tiff, bmp or same (as the input); None is the
    output file's suffix, or png for a folder. Problems with the arguments as a whole
    raise PTGFillError; problems of one image go in that job's ``error``.
    ``name_template``: an output's name in a folder, from the input's ``{stem}`` and the
    output format's ``{ext}``; it must end in ``.{ext}``. ``subfolders``: an image's folder
    relative to the folder it was found in (a recursive run), mirrored under ``output``.
    """
    check_name_template(name_template)
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise PTGFillError(f"unknown output format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    if mask is not None and not mask.exists():
        raise PTGFillError(f"{mask}: no such mask file or folder")
    if mask is not None and not (mask.is_file() or mask.is_dir()):
        raise PTGFillError(f"{mask}: the mask is not a regular file or folder (a pipe, socket or device)")
    masks = MaskFolder(mask, recursive=bool(subfolders)) if mask is not None and mask.is_dir() else None
    output_is_file = _output_is_file(output, len(images), output_format)
    jobs: list[FileJob] = []
    claimed: dict[Path, Path] = {}  # output -> the image that writes it
    for image_path in images:
        if output_is_file:
            output_path = output
        else:
            subfolder = (subfolders or {}).get(image_path, Path())
            output_path = output / subfolder / name_template.format(
                stem=image_path.stem, ext=_suffix_for(image_path, output_format))
        coarse_path = (
            output_path.with_name(f"{output_path.stem}_coarse{output_path.suffix}") if save_coarse else None
        )
        error = None
        mask_path = mask
        if masks is not None:
            try:
                mask_path = masks.mask_for(image_path, (subfolders or {}).get(image_path, Path()))
            except PTGFillError as problem:
                mask_path, error = None, str(problem)
        if error is None and mask_path is not None and _same_file(mask_path, image_path):
            error = f"{image_path}: its mask is the image itself; give the masks' file or folder as the mask"
        for target in filter(None, (output_path, coarse_path)):
            if error:
                break
            error = _output_problem(target, image_path, claimed, overwrite)
        if error is None:
            claimed.update({target: image_path for target in (output_path, coarse_path) if target})
        jobs.append(FileJob(image_path, mask_path, output_path, coarse_path, error))
    return jobs


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.samefile(second)
    except OSError:
        return False


def output_name_template(name: str | None = None, suffix: str | None = None) -> str:
    """The template ``--name`` gives, or ``{stem}SUFFIX.{ext}`` for ``--suffix``, or the default."""
    if name is not None and suffix is not None:
        raise SettingError("name", "and `suffix` exclude each other: give either, not both")
    if name is not None:
        return name
    return DEFAULT_NAME_TEMPLATE if suffix is None else "{stem}" + suffix + ".{ext}"


def check_name_template(template: str) -> None:
    """PTGFillError unless ``template`` names a file from ``{stem}`` and ends in ``.{ext}``."""
    if not template.endswith(".{ext}"):
        raise SettingError("name", f"{template!r} must end in .{{ext}} (the output format sets the extension)")
    try:
        name = template.format(stem="photo", ext="png")
    except (KeyError, IndexError, ValueError) as error:
        raise SettingError("name", f"{template!r}: only {{stem}} and {{ext}} can be filled in ({error})") from None
    if "{stem}" not in template or "/" in name or "\\" in name or name.startswith("."):
        raise SettingError("name", f"{template!r} must use {{stem}} and name a file, not a path or a hidden file")


def _output_is_file(output: Path, image_count: int, output_format: str | None) -> bool:
    looks_like_file = output.suffix.lower() in SUFFIX_FORMATS and not output.is_dir()
    if not looks_like_file:
        if output.exists() and not output.is_dir():
            raise PTGFillError(f"{output}: exists and is not a folder")
        return False
    if image_count > 1:
        raise PTGFillError(
            f"{output}: is a file name but there are {image_count} images; give a folder"
        )
    suffix_format = SUFFIX_FORMATS[output.suffix.lower()]
    if output_format not in (None, "same", suffix_format):
        raise PTGFillError(f"{output}: the suffix says {suffix_format} but --format says {output_format}")
    return True


def _suffix_for(image_path: Path, output_format: str | None) -> str:
    if output_format == "same":
        suffix = image_path.suffix.lower()
        return suffix.lstrip(".") if suffix in SUFFIX_FORMATS else "png"
    return output_format or "png"


def _output_problem(target: Path, image_path: Path, claimed: dict[Path, Path], overwrite: bool) -> str | None:
    if target.resolve() == image_path.resolve():
        return f"{image_path}: the output {target} would replace the input"
    if target in claimed:
        return f"{image_path}: its output {target} is also the output of {claimed[target]}"
    if target.exists() and not overwrite:
        return f"{target}: already exists (use --overwrite to replace it)"
    return None
