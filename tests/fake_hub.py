"""Fixtures for every test that touches models or the Hub (imported by tests/conftest.py):
an isolated environment (autouse: no test reads the user's cache or reaches the real
Hub), small models, a manifest writer, the CLI runner, and a loopback Hugging Face Hub.

The loopback Hub is an ``http.server`` on 127.0.0.1 (a free port, in a thread) that
answers what ``hf_hub_download`` asks in huggingface_hub 2.x: ``HEAD`` and ``GET`` on
``/{owner}/{repo}/resolve/{revision}/{filename}``. A found file gets ``X-Repo-Commit``
(the 40-hex commit the revision points at), ``ETag`` (sha256 for weights, like Git
LFS; the git blob id for other files, like git) and ``Content-Length``; a miss gets
404 with the ``X-Error-Code`` the real Hub sends (RepoNotFound, RevisionNotFound,
EntryNotFound), which huggingface_hub turns into its typed errors.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

import pytest
import torch
from huggingface_hub import constants as hf_constants

from ptgfill_cli.models.factory import build_generator
from ptgfill_cli.models.generator import PTGFillGenerator

LFS_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
# Nothing listens on the discard port: a test that reaches for the network by
# mistake fails instead of leaving the machine.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


# ---------------------------------------------------------------- environment


@pytest.fixture(autouse=True)
def isolated_hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own Hub cache and HF home, online mode, and no real endpoint."""
    cache = tmp_path / "ptgfill-cache"
    monkeypatch.setenv("PTGFILL_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE_ENDPOINT)
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "PTGFILL_WEIGHTS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    # huggingface_hub read HF_HUB_OFFLINE once, at import; its HTTP layer obeys that copy.
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    return cache


# ---------------------------------------------------------------- models


@pytest.fixture(scope="session")
def lite_generator() -> PTGFillGenerator:
    """A randomly initialised lite generator: plumbing for tests, never shipped."""
    return build_generator("lite", seed=0).eval()  # as load_model returns it


@pytest.fixture(scope="session")
def other_lite_generator() -> PTGFillGenerator:
    return build_generator("lite", seed=1).eval()


@pytest.fixture(scope="session")
def probe() -> tuple[torch.Tensor, torch.Tensor]:
    """A 64x64 image and a mask with a hole, for comparing model outputs."""
    generator = torch.Generator().manual_seed(7)
    image = torch.rand(1, 3, 64, 64, generator=generator)
    known = torch.ones(1, 1, 64, 64)
    known[..., 16:40, 20:48] = 0
    return image, known


@pytest.fixture(scope="session")
def refined_output(probe: tuple[torch.Tensor, torch.Tensor]) -> Callable[[torch.nn.Module], torch.Tensor]:
    """The refined output of a generator on the probe."""

    def run(model: torch.nn.Module) -> torch.Tensor:
        with torch.no_grad():
            return model(*probe).refined

    return run


# ---------------------------------------------------------------- manifest


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write ``weights/manifest.json`` in a temp folder; returns its path."""

    def write(models: dict[str, Any] | None = None, default: str | None = None) -> Path:
        weights_dir = tmp_path / "weights"
        weights_dir.mkdir(exist_ok=True)
        path = weights_dir / "manifest.json"
        path.write_text(json.dumps({"default": default, "models": models or {}}, indent=2))
        return path

    return write


@pytest.fixture(scope="session")
def lite_entry() -> Callable[..., dict[str, Any]]:
    """A manifest entry for a lite model; keywords give ``file=`` and/or ``hf=``."""

    def entry(sha256: str, **source: Any) -> dict[str, Any]:
        return {
            **source,
            "sha256": sha256,
            "config": "lite",
            "description": "test model",
            "trained_on": "nothing (random weights)",
        }

    return entry


# ---------------------------------------------------------------- CLI


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run ``ptgfill ARGS`` through the real entry point, ``main()``, which turns
    PTGFillErrors into one line on stderr and exit code 2."""
    from ptgfill_cli.cli.app import main

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["ptgfill", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main()
        captured = capsys.readouterr()
        code = exit_info.value.code
        return CliResult(0 if code is None else int(code), captured.out, captured.err)

    return run


# ---------------------------------------------------------------- loopback Hub


@dataclass
class FakeRepo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit


class FakeHub:
    """An in-memory Hub: publish files under revisions, optionally serve corrupt bytes."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.corrupted: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content

    def publish(self, repo_id: str, files: dict[str, bytes], refs: tuple[str, ...] = ("main",)) -> str:
        """Add a commit holding ``files``; ``refs`` (branches or tags) move to it."""
        repo = self.repos.setdefault(repo_id, FakeRepo())
        digest = hashlib.sha1(repo_id.encode())
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name])
        digest.update(str(len(repo.commits)).encode())
        commit = digest.hexdigest()
        repo.commits[commit] = dict(files)
        for ref in refs:
            repo.refs[ref] = commit
        return commit

    def corrupt(self, repo_id: str, filename: str, body: bytes) -> None:
        """Serve ``body`` instead of the file on GET; HEAD still describes the real file."""
        self.corrupted[(repo_id, filename)] = body

    def gets(self) -> list[str]:
        return [path for method, path in self.requests if method == "GET"]

    # -- server

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "the fake Hub is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
                hub._answer(self, send_body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, send_body=True)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None

    def _answer(self, request: BaseHTTPRequestHandler, send_body: bool) -> None:
        self.requests.append((request.command, request.path))
        # The revision is quoted with safe="" by the client: split before unquoting.
        parts = urlsplit(request.path).path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(request, 404, "RepoNotFound")
        repo_id = f"{parts[0]}/{parts[1]}"
        revision = unquote(parts[3])
        filename = unquote("/".join(parts[4:]))
        repo = self.repos.get(repo_id)
        if repo is None:
            return self._error(request, 404, "RepoNotFound")
        commit = repo.refs.get(revision, revision if revision in repo.commits else None)
        if commit is None:
            return self._error(request, 404, "RevisionNotFound")
        files = repo.commits[commit]
        if filename not in files:
            return self._error(request, 404, "EntryNotFound", commit)
        data = files[filename]
        body = self.corrupted.get((repo_id, filename), data) if send_body else data
        request.send_response(200)
        request.send_header("X-Repo-Commit", commit)
        request.send_header("ETag", f'"{_etag(filename, data)}"')
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Content-Type", "application/octet-stream")
        request.end_headers()
        if send_body:
            request.wfile.write(body)

    @staticmethod
    def _error(request: BaseHTTPRequestHandler, status: int, code: str, commit: str | None = None) -> None:
        request.send_response(status)
        request.send_header("X-Error-Code", code)
        request.send_header("X-Error-Message", code)
        if commit is not None:
            request.send_header("X-Repo-Commit", commit)
        request.send_header("Content-Length", "0")
        request.end_headers()


def _etag(filename: str, data: bytes) -> str:
    if filename.endswith(LFS_SUFFIXES):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running loopback Hub, with ``HF_ENDPOINT`` pointing at it."""
    hub = FakeHub()
    hub.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    yield hub
    hub.stop()
