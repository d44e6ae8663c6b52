"""Evaluation image sets: the named benchmarks PTG-Fill reports on, local folders and
lists, and dataset repositories on the Hugging Face Hub.

``resolve_dataset(spec, data_root)`` turns a ``--dataset`` value into an ``EvalDataset``:

- a catalogue name (``celeba-hq``, ``ffhq``, ``psv``, ``places2``): the standard
  evaluation split of that benchmark, looked up under the data root (``--data-root``,
  else ``$PTGFILL_DATA_ROOT``, else ``~/.local/share/ptgfill/datasets``) by file name,
  so any layout below the dataset's folder works (flat, or FFHQ's ``69000/69999.png``);
- a folder (every image below it, sorted) or a ``.txt`` list of image paths;
- ``hf://datasets/owner/name[/folder][@revision]``: the images of a Hub dataset
  repository, fetched into the Hub cache with ``huggingface_hub.snapshot_download``.

The benchmark files are not redistributable; a missing set is an error that says where
the files are expected and how to obtain them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..errors import PTGFillError, SettingError, first_line
from ..data.datasets import center_crop, list_images, resize_shorter_side
from ..data.image_io import IMAGE_SUFFIXES
from .settings import FITS

DATA_ROOT_ENV = "PTGFILL_DATA_ROOT"
HUB_DATASET_PREFIX = "hf://datasets/"
HUB_DATASET_SYNTAX = "hf://datasets/owner/name[/folder][@revision]"


class DatasetError(PTGFillError):
    """An evaluation set cannot be found, read or downloaded."""


@dataclass(frozen=True)
class CatalogueEntry:
    """A benchmark and its standard evaluation split."""

    name: str
    title: str
    folder: str  # below the data root
    split: str  # which files, in words
    count: int  # images in the split
    resolution: str  # of the files as distributed, HEIGHTxWIDTH as every size in ptgfill
    fit: str  # how the papers bring them to the evaluation size: "crop" or "resize"
    layout: str  # what the folder holds
    obtain: str  # where to get the files
    file_names: Callable[[], list[str]] | None  # the split's file names in order; None: every image

    def expected_names(self) -> list[str] | None:
        return None if self.file_names is None else self.file_names()


CATALOGUE: dict[str, CatalogueEntry] = {
    entry.name: entry
    for entry in (
        CatalogueEntry(
            name="celeba-hq",
            title="CelebA-HQ (Karras et al., 2018)",
            folder="celeba-hq",
            split="test: 28000.jpg-29999.jpg, the last 2,000 of the 30,000 images "
                  "(the 28,000 / 2,000 train / test split of the CelebA tables)",
            count=2000,
            resolution="1024x1024",
            fit="crop",
            layout="CelebAMask-HQ's CelebA-HQ-img/ files 0.jpg ... 29999.jpg (any sub-folders)",
            obtain="download CelebAMask-HQ (github.com/switchablenorms/CelebAMask-HQ, research use) "
                   "and put or link its CelebA-HQ-img/ folder there",
            file_names=lambda: [f"{index}.jpg" for index in range(28000, 30000)],
        ),
        CatalogueEntry(
            name="ffhq",
            title="FFHQ (Karras et al., 2019)",
            folder="ffhq",
            split="validation: 60000.png-69999.png, the 10,000 images that "
                  "ffhq-dataset-v2.json marks 'validation'",
            count=10000,
            resolution="1024x1024",
            fit="crop",
            layout="images1024x1024/ as downloaded (00000/00000.png ... 69000/69999.png) or flat",
            obtain="run download_ffhq.py --images from github.com/NVlabs/ffhq-dataset "
                   "(CC BY-NC-SA 4.0) and put or link images1024x1024/ there",
            file_names=lambda: [f"{index:05d}.png" for index in range(60000, 70000)],
        ),
        CatalogueEntry(
            name="psv",
            title="Paris StreetView (Doersch et al., 2012; split of Pathak et al., 2016)",
            folder="paris-streetview",
            split="test: the 100 evaluation images of Context Encoders (paris_eval_gt), "
                  "every image in the folder, in name order",
            count=100,
            resolution="537x936",
            fit="resize",
            layout="the 100 images of paris_eval_gt/ (any names)",
            obtain="the images are not public: ask the Context Encoders authors "
                   "(github.com/pathak22/context-encoder) for the Paris StreetView set",
            file_names=None,
        ),
        CatalogueEntry(
            name="places2",
            title="Places365-Standard (Zhou et al., 2017)",
            folder="places2",
            split="validation: Places365_val_00000001.jpg-Places365_val_00036500.jpg, "
                  "all 36,500 validation images",
            count=36500,
            resolution="256x256",
            fit="crop",
            layout="val_256/ from val_256.tar (the small-image release)",
            obtain="download val_256.tar from places2.csail.mit.edu/download.html "
                   "(research use) and unpack it there",
            file_names=lambda: [f"Places365_val_{index:08d}.jpg" for index in range(1, 36501)],
        ),
    )
}


# The training splits of the same benchmarks, for ``ptgfill train``. Places2 and Paris
# StreetView training images live in folders of their own: their file names repeat
# across Places' category folders, and PSV's test folder takes every image in it.
TRAIN_CATALOGUE: dict[str, CatalogueEntry] = {
    "celeba-hq": CatalogueEntry(
        name="celeba-hq", title=CATALOGUE["celeba-hq"].title, folder="celeba-hq",
        split="train: 0.jpg-27999.jpg, the first 28,000 of the 30,000 images", count=28000,
        resolution="1024x1024", fit="crop", layout=CATALOGUE["celeba-hq"].layout,
        obtain=CATALOGUE["celeba-hq"].obtain,
        file_names=lambda: [f"{index}.jpg" for index in range(28000)],
    ),
    "ffhq": CatalogueEntry(
        name="ffhq", title=CATALOGUE["ffhq"].title, folder="ffhq",
        split="training: 00000.png-59999.png, the 60,000 images ffhq-dataset-v2.json marks 'training'",
        count=60000, resolution="1024x1024", fit="crop", layout=CATALOGUE["ffhq"].layout,
        obtain=CATALOGUE["ffhq"].obtain,
        file_names=lambda: [f"{index:05d}.png" for index in range(60000)],
    ),
    "psv": CatalogueEntry(
        name="psv", title=CATALOGUE["psv"].title, folder="paris-streetview-train",
        split="train: the 14,900 images of Context Encoders' paris_train_original, every image in the folder",
        count=14900, resolution="537x936", fit="resize",
        layout="the images of paris_train_original/ (any names)", obtain=CATALOGUE["psv"].obtain,
        file_names=None,
    ),
    "places2": CatalogueEntry(
        name="places2", title=CATALOGUE["places2"].title, folder="places2-train",
        split="train: Places365-Standard's 1,803,460 training images (data_256/, every image below the folder)",
        count=1803460, resolution="256x256", fit="crop",
        layout="data_256/ from train_256_places365standard.tar (category sub-folders)",
        obtain="download train_256_places365standard.tar from places2.csail.mit.edu/download.html "
               "(research use) and unpack it there",
        file_names=None,
    ),
}
SPLITS: tuple[str, ...] = ("test", "train")


@dataclass(frozen=True)
class EvalDataset:
    """The images of one evaluation, in order, and where they came from."""

    name: str  # the catalogue name, the folder or list, or the pinned Hub id
    root: Path  # image names in results are relative to this
    images: tuple[Path, ...]
    split: str
    default_fit: str
    expected_count: int | None = None  # the full split, when it is a catalogue set

    def relative_name(self, path: Path) -> str:
        """``path`` relative to the root (posix), or as given when outside it. Links are not
        followed: Hub snapshot files are links into the cache's blob store."""
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root)).as_posix()
        except ValueError:
            return path.as_posix()

    def describe(self) -> dict[str, object]:
        return {
            "dataset": self.name, "root": str(self.root), "split": self.split,
            "images": len(self.images), "expected_count": self.expected_count,
        }


def default_data_root() -> Path:
    """``$PTGFILL_DATA_ROOT``, else ``$XDG_DATA_HOME/ptgfill/datasets`` (``~/.local/share``)."""
    value = os.environ.get(DATA_ROOT_ENV)
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ptgfill" / "datasets"


def resolve_dataset(
    spec: str, data_root: str | Path | None = None, limit: int | None = None, split: str = "test"
) -> EvalDataset:
    """The images ``spec`` names (see the module docstring); ``limit`` keeps the first N,
    and for a catalogue set only those N need to be present. ``split`` picks a catalogue
    set's evaluation (``test``) or training (``train``) split."""
    if limit is not None and limit < 1:
        raise SettingError("limit", f"must be at least 1, not {limit}")
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if spec in CATALOGUE:
        root = Path(data_root).expanduser() if data_root is not None else default_data_root()
        entry = CATALOGUE[spec] if split == "test" else TRAIN_CATALOGUE[spec]
        return _catalogue_dataset(entry, root, limit)
    if spec.startswith(HUB_DATASET_PREFIX):
        return _limited(hub_dataset(spec), limit)
    if spec.startswith("hf://"):
        raise DatasetError(f"{spec!r}: a Hub dataset is written {HUB_DATASET_SYNTAX}")
    path = Path(spec).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".txt"):
        images = list_images(path)
        if not images:
            raise DatasetError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in it")
        root = path if path.is_dir() else path.parent
        kind = "every image in the folder, in path order" if path.is_dir() else "the images the list names, in its order"
        return _limited(EvalDataset(str(path), root, tuple(images), kind, "crop"), limit)
    names = ", ".join(CATALOGUE)
    raise DatasetError(
        f"no dataset {spec!r}: not a catalogue name ({names}), an existing folder or .txt list, "
        f"or {HUB_DATASET_SYNTAX}"
    )


def describe_catalogue(data_root: str | Path | None = None) -> list[dict[str, object]]:
    """One record per catalogue set: its split, size, where it is expected and whether it is there."""
    root = Path(data_root).expanduser() if data_root is not None else default_data_root()
    return [
        {
            "name": entry.name, "title": entry.title, "split": entry.split, "count": entry.count,
            "resolution": entry.resolution, "fit": entry.fit, "expected_at": str(root / entry.folder),
            "present": (root / entry.folder).is_dir(), "obtain": entry.obtain,
        }
        for entry in CATALOGUE.values()
    ]


def _limited(dataset: EvalDataset, limit: int | None) -> EvalDataset:
    if limit is None or limit >= len(dataset.images):
        return dataset
    return EvalDataset(dataset.name, dataset.root, dataset.images[:limit], dataset.split,
                       dataset.default_fit, dataset.expected_count)


def _catalogue_dataset(entry: CatalogueEntry, data_root: Path, limit: int | None) -> EvalDataset:
    folder = data_root / entry.folder
    if not folder.is_dir():
        raise DatasetError(_missing_message(entry, folder, "the folder does not exist"))
    expected = entry.expected_names()
    if expected is None:
        images = list_images(folder)
        if not images:
            raise DatasetError(_missing_message(entry, folder, "it holds no images"))
    else:
        found = _images_by_name(folder)
        wanted = expected[:limit] if limit is not None else expected
        missing = [name for name in wanted if name not in found]
        if missing:
            raise DatasetError(_missing_message(
                entry, folder, f"{len(missing)} of the {len(wanted)} files wanted are missing, e.g. {missing[0]}"
            ))
        images = [found[name] for name in wanted]
    return _limited(EvalDataset(entry.name, folder, tuple(images), entry.split, entry.fit, entry.count), limit)


def _missing_message(entry: CatalogueEntry, folder: Path, problem: str) -> str:
    return (
        f"dataset {entry.name}: {folder}: {problem}; expected {entry.layout} ({entry.split}); "
        f"to obtain it, {entry.obtain}; the data root is --data-root or ${DATA_ROOT_ENV}"
    )


def _images_by_name(folder: Path) -> dict[str, Path]:
    """Image files below ``folder`` (links followed) by file name; the first in sorted walk order wins."""
    found: dict[str, Path] = {}
    for directory, subdirectories, files in os.walk(folder, followlinks=True):
        subdirectories.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in IMAGE_SUFFIXES and name not in found:
                found[name] = Path(directory) / name
    return found


# ---------------------------------------------------------------------------
# Hub datasets


@dataclass(frozen=True)
class HubDatasetRef:
    repo_id: str
    folder: str  # "" for the whole repository
    revision: str | None

    @property
    def uri(self) -> str:
        folder = f"/{self.folder}" if self.folder else ""
        revision = f"@{self.revision}" if self.revision else ""
        return f"{HUB_DATASET_PREFIX}{self.repo_id}{folder}{revision}"


def parse_hub_dataset(spec: str) -> HubDatasetRef:
    """Parse ``hf://datasets/owner/name[/folder][@revision]``."""
    if not spec.startswith(HUB_DATASET_PREFIX):
        raise DatasetError(f"{spec!r} is not a Hub dataset id ({HUB_DATASET_SYNTAX})")
    body, at_sign, revision = spec[len(HUB_DATASET_PREFIX):].partition("@")
    parts = [part for part in body.split("/") if part]
    if len(parts) < 2 or (at_sign and not revision):
        raise DatasetError(f"{spec!r}: expected {HUB_DATASET_SYNTAX}")
    return HubDatasetRef(f"{parts[0]}/{parts[1]}", "/".join(parts[2:]), revision or None)


def hub_dataset(spec: str) -> EvalDataset:
    """The images of a Hub dataset repository (or one folder of it), fetched into the Hub
    cache; offline (``HF_HUB_OFFLINE=1``) only the cache is used. The name records the
    commit, so results say exactly which files were evaluated."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from ..hub.cache import hub_cache_dir
    from ..hub.download import hub_endpoint, hub_offline, hub_unreachable

    ref = parse_hub_dataset(spec)
    prefix = f"{ref.folder}/" if ref.folder else ""
    suffixes = IMAGE_SUFFIXES + tuple(suffix.upper() for suffix in IMAGE_SUFFIXES)
    patterns = [f"{prefix}*{suffix}" for suffix in suffixes]
    endpoint = hub_endpoint()
    local_only = hub_offline() or hub_unreachable(endpoint) is not None
    try:
        snapshot = snapshot_download(
            ref.repo_id, repo_type="dataset", revision=ref.revision, cache_dir=str(hub_cache_dir()),
            endpoint=endpoint, local_files_only=local_only, allow_patterns=patterns,
        )
    except RevisionNotFoundError as error:
        raise DatasetError(f"{ref.uri}: no revision {ref.revision!r} in {ref.repo_id} at {endpoint}") from error
    except RepositoryNotFoundError as error:
        raise DatasetError(f"{ref.uri}: no dataset repository {ref.repo_id} at {endpoint}") from error
    except LocalEntryNotFoundError as error:
        raise DatasetError(
            f"{ref.uri}: not in the Hub cache {hub_cache_dir()} and the Hub at {endpoint} cannot be reached "
            "(or HF_HUB_OFFLINE is set)"
        ) from error
    except (HfHubHTTPError, OSError) as error:
        raise DatasetError(f"{ref.uri}: download failed: {first_line(error)}") from error
    snapshot_path = Path(snapshot)
    root = snapshot_path / ref.folder if ref.folder else snapshot_path
    images = list_images(root) if root.is_dir() else []
    if not images:
        raise DatasetError(f"{ref.uri}: the repository has no images ({', '.join(IMAGE_SUFFIXES)})"
                           + (f" under {ref.folder}/" if ref.folder else ""))
    pinned = HubDatasetRef(ref.repo_id, ref.folder, snapshot_path.name)
    return EvalDataset(pinned.uri, root, tuple(images), "every image in the repository, in path order", "crop")


# ---------------------------------------------------------------------------
# Bringing images to the evaluation size


def fit_image(rgb: np.ndarray, size: int, fit: str) -> np.ndarray:
    """An RGB uint8 image brought to ``size`` x ``size``:

    - ``crop``: the shorter side scaled to ``size``, then the centre ``size`` x ``size``
      cut out (aspect kept; the usual practice for Places2, CelebA-HQ and FFHQ, where it
      is a plain resize of square images);
    - ``resize``: the whole image scaled to ``size`` x ``size`` (aspect not kept; what
      the inpainting papers' test loaders do with Paris StreetView).

    Downscaling uses area averaging, upscaling bicubic interpolation.
    """
    if fit not in FITS:
        raise DatasetError(f"unknown fit {fit!r}; choose {' or '.join(FITS)}")
    height, width = rgb.shape[:2]
    if fit == "crop":
        return center_crop(resize_shorter_side(rgb, size), size)
    if (height, width) == (size, size):
        return rgb
    shrinking = size <= height and size <= width
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
