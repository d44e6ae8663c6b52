"""The evaluation dataset catalogue: named splits under a data root, folders and lists,
Hub dataset repositories (against a loopback Hub), and bringing images to the evaluation size."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from huggingface_hub import constants as hf_constants
from PIL import Image

from ptgfill_cli.evaluation import catalogue
from ptgfill_cli.evaluation.catalogue import CATALOGUE, DatasetError, fit_image, parse_hub_dataset, resolve_dataset


def write_image(path: Path, size: tuple[int, int] = (12, 8), value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)
    return path


def png_bytes(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((6, 6, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- the catalogue


def test_the_catalogue_states_each_split() -> None:
    assert set(CATALOGUE) == {"celeba-hq", "ffhq", "psv", "places2"}
    sizes = {name: entry.expected_names() for name, entry in CATALOGUE.items()}
    assert len(sizes["celeba-hq"]) == 2000 and sizes["celeba-hq"][0] == "28000.jpg" and sizes["celeba-hq"][-1] == "29999.jpg"
    assert len(sizes["ffhq"]) == 10000 and sizes["ffhq"][0] == "60000.png" and sizes["ffhq"][-1] == "69999.png"
    assert len(sizes["places2"]) == 36500 and sizes["places2"][-1] == "Places365_val_00036500.jpg"
    assert sizes["psv"] is None and CATALOGUE["psv"].count == 100 and CATALOGUE["psv"].fit == "resize"
    for name, entry in CATALOGUE.items():
        if sizes[name] is not None:
            assert len(sizes[name]) == entry.count


def test_resolutions_are_height_by_width_as_every_size_in_ptgfill() -> None:
    from ptgfill_cli.data.mask_spec import parse_size

    assert parse_size(CATALOGUE["psv"].resolution) == (537, 936)  # Paris StreetView is landscape
    assert all(parse_size(entry.resolution) for entry in CATALOGUE.values())


def test_a_named_set_is_found_by_file_name_in_any_layout(tmp_path: Path) -> None:
    for index in (60001, 60000, 60002):
        write_image(tmp_path / "ffhq" / "images1024x1024" / "60000" / f"{index:05d}.png", value=index % 255)
    write_image(tmp_path / "ffhq" / "images1024x1024" / "00000" / "00001.png")  # a training image
    dataset = resolve_dataset("ffhq", tmp_path, limit=3)
    assert [path.name for path in dataset.images] == ["60000.png", "60001.png", "60002.png"]
    assert dataset.root == tmp_path / "ffhq" and dataset.expected_count == 10000
    assert dataset.relative_name(dataset.images[1]) == "images1024x1024/60000/60001.png"


def test_a_missing_set_says_where_it_is_expected_and_how_to_get_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catalogue.DATA_ROOT_ENV, str(tmp_path))
    with pytest.raises(DatasetError) as missing:
        resolve_dataset("celeba-hq")
    message = str(missing.value)
    assert str(tmp_path / "celeba-hq") in message and "does not exist" in message
    assert "CelebAMask-HQ" in message and "28000.jpg-29999.jpg" in message and "PTGFILL_DATA_ROOT" in message
    write_image(tmp_path / "celeba-hq" / "28000.jpg")
    assert [p.name for p in resolve_dataset("celeba-hq", limit=1).images] == ["28000.jpg"]
    with pytest.raises(DatasetError, match="1 of the 2 files wanted are missing, e.g. 28001.jpg"):
        resolve_dataset("celeba-hq", limit=2)


def test_psv_takes_every_image_of_its_folder(tmp_path: Path) -> None:
    for name in ("002_im.png", "001_im.png"):
        write_image(tmp_path / "paris-streetview" / "paris_eval_gt" / name)
    dataset = resolve_dataset("psv", tmp_path)
    assert [p.name for p in dataset.images] == ["001_im.png", "002_im.png"] and dataset.default_fit == "resize"


def test_folders_lists_and_unknown_names(tmp_path: Path) -> None:
    write_image(tmp_path / "photos" / "b.jpg")
    write_image(tmp_path / "photos" / "sub" / "a.png")
    folder = resolve_dataset(str(tmp_path / "photos"))
    assert [folder.relative_name(p) for p in folder.images] == ["b.jpg", "sub/a.png"]
    (tmp_path / "list.txt").write_text("# a list\nphotos/sub/a.png\n")
    listed = resolve_dataset(str(tmp_path / "list.txt"))
    assert listed.relative_name(listed.images[0]) == "photos/sub/a.png"
    with pytest.raises(DatasetError, match="not a catalogue name"):
        resolve_dataset("imagenet")
    with pytest.raises(DatasetError, match="hf://datasets/owner/name"):
        resolve_dataset("hf://owner/name")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        resolve_dataset(str(tmp_path / "empty"))


def test_describe_catalogue_reports_presence(tmp_path: Path) -> None:
    (tmp_path / "places2").mkdir()
    described = {entry["name"]: entry for entry in catalogue.describe_catalogue(tmp_path)}
    assert described["places2"]["present"] and not described["ffhq"]["present"]
    assert described["ffhq"]["expected_at"] == str(tmp_path / "ffhq")


def test_parse_hub_dataset_ids() -> None:
    ref = parse_hub_dataset("hf://datasets/owner/name/test/images@v1.0")
    assert (ref.repo_id, ref.folder, ref.revision) == ("owner/name", "test/images", "v1.0")
    assert parse_hub_dataset("hf://datasets/owner/name").folder == ""
    for bad in ("hf://datasets/owner", "hf://datasets/owner/name@", "hf://models/a/b"):
        with pytest.raises(DatasetError):
            parse_hub_dataset(bad)


# ---------------------------------------------------------------- fitting images


def test_fit_crop_keeps_the_aspect_and_resize_fills_the_square() -> None:
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, 20:60] = 200  # the centre square is bright, the sides dark
    cropped = fit_image(wide, 20, "crop")
    assert cropped.shape == (20, 20, 3) and cropped.min() == 200
    resized = fit_image(wide, 20, "resize")
    assert resized.shape == (20, 20, 3) and resized[:, :4].max() == 0 and resized[:, 8:12].min() == 200
    assert fit_image(cropped, 20, "resize") is cropped
    with pytest.raises(DatasetError, match="unknown fit"):
        fit_image(wide, 20, "pad")


# ---------------------------------------------------------------- Hub datasets on a loopback server


class LoopbackDatasetHub:
    """Answers what ``snapshot_download(repo_type="dataset")`` asks: the revision info, the
    recursive tree, and HEAD / GET of each file under ``/datasets/owner/name/resolve/``."""

    def __init__(self) -> None:
        self.repos: dict[str, tuple[str, dict[str, bytes]]] = {}  # repo -> (commit, files)
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def publish(self, repo_id: str, files: dict[str, bytes]) -> str:
        commit = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        self.repos[repo_id] = (commit, files)
        return commit

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                hub._answer(self, body=False)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler

    def _answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        self.requests.append(f"{request.command} {request.path}")
        parts = [unquote(p) for p in urlsplit(request.path).path.strip("/").split("/")]
        if parts[:2] == ["api", "datasets"] and len(parts) >= 6:
            repo_id, kind, revision = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
            if repo_id not in self.repos:
                return self._send(request, 404, b"", {"X-Error-Code": "RepoNotFound"})
            commit, files = self.repos[repo_id]
            if revision not in ("main", commit):
                return self._send(request, 404, b"", {"X-Error-Code": "RevisionNotFound"})
            if kind == "revision":
                info = {"id": repo_id, "sha": commit, "siblings": [{"rfilename": name} for name in files]}
                return self._send(request, 200, json.dumps(info).encode(), {"Content-Type": "application/json"})
            tree = [{"type": "file", "path": name, "size": len(data), "oid": _blob_id(data)}
                    for name, data in sorted(files.items())]
            return self._send(request, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"})
        if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
            repo_id, revision, name = f"{parts[1]}/{parts[2]}", parts[4], "/".join(parts[5:])
            if repo_id not in self.repos:
                return self._send(request, 404, b"", {"X-Error-Code": "RepoNotFound"})
            commit, files = self.repos[repo_id]
            if name not in files:
                return self._send(request, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit})
            data = files[name]
            headers = {"X-Repo-Commit": commit, "ETag": f'"{_blob_id(data)}"',
                       "Content-Type": "application/octet-stream"}
            return self._send(request, 200, data if body else b"", headers, length=len(data))
        self._send(request, 404, b"", {"X-Error-Code": "RepoNotFound"})

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str],
              length: int | None = None) -> None:
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(data) if length is None else length))
        request.end_headers()
        if data:
            request.wfile.write(data)


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@pytest.fixture
def dataset_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackDatasetHub]:
    hub = LoopbackDatasetHub()
    hub.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("PTGFILL_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    yield hub
    hub.server.shutdown()
    hub.server.server_close()
    hub.thread.join(timeout=5)


def test_a_hub_dataset_is_fetched_pinned_and_then_read_offline(
    dataset_hub: LoopbackDatasetHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = dataset_hub.publish("lab/faces", {
        "README.md": b"# faces\n", "test/b.png": png_bytes(20), "test/a.png": png_bytes(10),
        "train/c.png": png_bytes(30),
    })
    dataset = resolve_dataset("hf://datasets/lab/faces/test")
    assert dataset.name == f"hf://datasets/lab/faces/test@{commit}"
    assert [dataset.relative_name(p) for p in dataset.images] == ["a.png", "b.png"]
    assert np.asarray(Image.open(dataset.images[1]))[0, 0, 0] == 20
    fetched = [r for r in dataset_hub.requests if "/resolve/" in r and r.startswith("GET")]
    assert len(fetched) == 2 and not any("train" in r or "README" in r for r in fetched)
    whole = resolve_dataset("hf://datasets/lab/faces", limit=2)
    assert [whole.relative_name(p) for p in whole.images] == ["test/a.png", "test/b.png"]
    # Offline, the pinned commit comes from the cache without a request.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    count = len(dataset_hub.requests)
    again = resolve_dataset(f"hf://datasets/lab/faces/test@{commit}")
    assert again.images == dataset.images and len(dataset_hub.requests) == count


def test_hub_dataset_errors_are_one_line(dataset_hub: LoopbackDatasetHub, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetError, match="no dataset repository lab/missing"):
        resolve_dataset("hf://datasets/lab/missing")
    dataset_hub.publish("lab/text", {"README.md": b"no images\n"})
    with pytest.raises(DatasetError, match="has no images"):
        resolve_dataset("hf://datasets/lab/text")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetError, match="not in the Hub cache"):
        resolve_dataset("hf://datasets/lab/other")


def test_training_splits_are_the_complement_of_the_test_splits(tmp_path):
    from ptgfill_cli.evaluation.catalogue import TRAIN_CATALOGUE, resolve_dataset

    folder = tmp_path / "celeba-hq" / "CelebA-HQ-img"
    folder.mkdir(parents=True)
    for index in (0, 1, 27999, 28000):
        (folder / f"{index}.jpg").write_bytes(b"")
    train = resolve_dataset("celeba-hq", tmp_path, limit=2, split="train")
    assert [p.name for p in train.images] == ["0.jpg", "1.jpg"]
    test = resolve_dataset("celeba-hq", tmp_path, limit=1, split="test")
    assert [p.name for p in test.images] == ["28000.jpg"]
    ffhq_train = TRAIN_CATALOGUE["ffhq"].expected_names()
    assert len(ffhq_train) == 60000 and ffhq_train[-1] == "59999.png"


def test_places2_training_images_repeat_names_across_categories(tmp_path):
    from ptgfill_cli.evaluation.catalogue import resolve_dataset

    for category in ("a/airfield", "b/bakery"):
        (tmp_path / "places2-train" / category).mkdir(parents=True)
        (tmp_path / "places2-train" / category / "00000001.jpg").write_bytes(b"")
    images = resolve_dataset("places2", tmp_path, split="train").images
    assert len(images) == 2


def test_train_command_takes_a_catalogue_name(tmp_path):
    from ptgfill_cli.training.setup import training_images

    from ptgfill_cli.errors import PTGFillError

    with pytest.raises(PTGFillError, match="places2-train"):
        training_images("places2", tmp_path, "train")
