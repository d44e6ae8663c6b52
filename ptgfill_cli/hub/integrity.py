"""File hashes: the sha256 a manifest records, and the ids the Hub uses as ETags."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import WeightsError

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
