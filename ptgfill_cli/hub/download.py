"""Fetching files from the Hugging Face Hub into the cache, and verifying them by their hashes.

``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` are read on every call (``huggingface_hub``
reads them once, at import). Offline, only the cache is used.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import constants, hf_hub_download
from huggingface_hub.utils import (
    EntryNotFoundError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..version import __version__
from ..errors import ModelNotFoundError, WeightsError, first_line
from .cache import hub_cache_dir, remove_cached_file
from .spec import HubFileRef, ModelSpecError

_TRUE_VALUES = {"1", "ON", "YES", "TRUE"}


def _transport_errors() -> tuple[type[BaseException], ...]:
    # Errors of the HTTP client huggingface_hub uses (it changed across versions);
    # they are not OSErrors, and reach us when a download breaks off mid-way.
    errors: list[type[BaseException]] = [OSError]
    for module_name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module_name).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


_TRANSPORT_ERRORS = _transport_errors()


@dataclass(frozen=True)
class HubDownload:
    """A Hub file in the local cache."""

    ref: HubFileRef  # as asked for
    path: Path  # the cache's snapshot path
    commit: str  # the commit the revision resolved to
    verified_by: str  # what the bytes were checked against


def hub_endpoint() -> str:
    value = os.environ.get("HF_ENDPOINT")
    return value.rstrip("/") if value else constants.ENDPOINT


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) as set now; when neither is set,
    what huggingface_hub decided at import."""
    values = [os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")]
    if all(value is None for value in values):
        return constants.is_offline_mode()
    return any(value is not None and value.upper() in _TRUE_VALUES for value in values)


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
REACH_TIMEOUT_S = 3.0


def hub_unreachable(endpoint: str) -> str | None:
    """Why the Hub at ``endpoint`` cannot be reached (one TCP connection, at most
    ``REACH_TIMEOUT_S``), or None. huggingface_hub retries an unreachable host six times over
    about 27 s; this lets a command fall back on the cache at once. Behind a proxy the host is
    not probed (the proxy may reach what this machine cannot)."""
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    split = urlsplit(endpoint)
    if not split.hostname:
        return None  # let huggingface_hub report the malformed endpoint
    port = split.port or (443 if split.scheme == "https" else 80)
    try:
        socket.create_connection((split.hostname, port), timeout=REACH_TIMEOUT_S).close()
    except OSError as error:
        return first_line(error)
    return None


def fetch_hub_file(ref: HubFileRef, sha256: str | None = None) -> HubDownload:
    """Download ``ref`` into the cache (or reuse the cached copy) and verify it.

    The bytes are checked against ``sha256`` when given (a manifest's hash), else
    against the Hub's ETag (the sha256 of LFS files, the git blob id of others). A
    file that fails the check is removed from the cache and ``WeightsError`` raised,
    so the next attempt downloads it afresh."""
    cache_dir = hub_cache_dir()
    endpoint = hub_endpoint()
    offline = hub_offline()
    unreachable = None if offline else hub_unreachable(endpoint)
    revision = ref.revision or constants.DEFAULT_REVISION
    try:
        local = hf_hub_download(
            ref.repo_id,
            ref.filename,
            revision=revision,
            cache_dir=str(cache_dir),
            endpoint=endpoint,
            local_files_only=offline or unreachable is not None,
            library_name="ptgfill",
            library_version=__version__,
        )
    except LocalEntryNotFoundError as error:
        if offline:
            reason = "HF_HUB_OFFLINE is set"
        elif unreachable is not None:
            reason = (f"the Hub at {endpoint} cannot be reached ({unreachable}; HF_HUB_OFFLINE=1 skips "
                      "the Hub, --model PATH takes a local file)")
        else:
            cause = f" ({first_line(error.__cause__)})" if error.__cause__ is not None else ""
            reason = f"the Hub at {endpoint} could not be reached{cause}"
        raise ModelNotFoundError(
            f"{ref.uri} is not in the cache {cache_dir} and {reason}; "
            f"fetch it while online with: ptgfill weights download {ref.uri}"
        ) from error
    except RepositoryNotFoundError as error:
        raise ModelNotFoundError(
            f"Hub repository {ref.repo_id} not found at {endpoint} "
            "(or it is private or gated and no valid token was sent)"
        ) from error
    except RevisionNotFoundError as error:
        raise ModelNotFoundError(
            f"revision {revision!r} not found in Hub repository {ref.repo_id} at {endpoint}"
        ) from error
    except EntryNotFoundError as error:
        raise ModelNotFoundError(
            f"file {ref.filename} not found in Hub repository {ref.repo_id} "
            f"at revision {revision!r}"
        ) from error
    except HFValidationError as error:
        raise ModelSpecError(f"invalid Hub id {ref.uri}: {error}") from error
    except HfHubHTTPError as error:
        raise ModelNotFoundError(
            f"the Hub at {endpoint} refused {ref.uri}: {first_line(error)}"
        ) from error
    except _TRANSPORT_ERRORS as error:
        raise ModelNotFoundError(
            f"could not download {ref.uri} from {endpoint}: {first_line(error)}"
        ) from error

    path = Path(local)
    verified_by = _verify_or_remove(path, ref, sha256)
    return HubDownload(
        ref=ref, path=path, commit=_snapshot_commit(path, ref), verified_by=verified_by
    )


def _verify_or_remove(path: Path, ref: HubFileRef, sha256: str | None) -> str:
    if sha256 is not None:
        actual = sha256_of_file(path)
        if actual == sha256.lower():
            return "sha256 from the manifest"
        expectation = f"the manifest's sha256 {sha256.lower()} (got {actual})"
    else:
        etag = _blob_etag(path)
        matches = matches_hub_etag(path, etag) if etag else None
        if matches is None:
            return "nothing (the Hub gave no checkable ETag)"
        if matches:
            return "the Hub's ETag"
        expectation = f"the Hub's ETag {etag}"
    remove_cached_file(path)
    raise WeightsError(
        f"the download of {ref.uri} is corrupt: it does not match {expectation}; "
        "it was removed from the cache, run the command again to download it afresh"
    )


def _blob_etag(snapshot_path: Path) -> str | None:
    # The cache stores each download as blobs/<etag>, linked from snapshots/<commit>/.
    blob = Path(os.path.realpath(snapshot_path))
    return blob.name if blob != snapshot_path and blob.parent.name == "blobs" else None


def _snapshot_commit(snapshot_path: Path, ref: HubFileRef) -> str:
    depth = ref.filename.count("/")
    return snapshot_path.parents[depth].name




# ---------------------------------------------------------------- file hashes


SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
GIT_SHA1_PATTERN = re.compile(r"[0-9a-f]{40}")
_CHUNK_BYTES = 1 << 20


def sha256_of_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_sha1_of_file(path: Path) -> str:
    """The git object id of a file: what the Hub reports as the ETag of a non-LFS file."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, label: str) -> None:
    """Raise ``WeightsError`` unless the file's sha256 is ``expected``."""
    actual = sha256_of_file(path)
    if actual != expected.lower():
        raise WeightsError(
            f"{label}: sha256 mismatch for {path}: expected {expected.lower()}, got {actual}"
        )


def matches_hub_etag(path: Path, etag: str) -> bool | None:
    """Whether a file matches the Hub ETag it was downloaded under.

    LFS files have their sha256 as ETag and git files their git blob id; any
    other ETag cannot be checked (None)."""
    etag = etag.lower()
    if SHA256_PATTERN.fullmatch(etag):
        return sha256_of_file(path) == etag
    if GIT_SHA1_PATTERN.fullmatch(etag):
        return git_blob_sha1_of_file(path) == etag
    return None
