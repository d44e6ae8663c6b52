"""Hub model ids: ``hf://owner/repo[/file][@revision]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ModelNotFoundError

HF_SCHEME = "hf://"
DEFAULT_HUB_FILENAME = "model.safetensors"
HF_SYNTAX = "hf://owner/repo[/file][@revision]"

# The Hub's rules for owner and repository names: letters, digits, '-', '_', '.',
# starting and ending with a letter or digit, at most 96 characters, no '--' or '..'.
_NAME_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")


class ModelSpecError(ModelNotFoundError):
    """A ``--model`` value is malformed or ambiguous."""


@dataclass(frozen=True)
class HubFileRef:
    """One file of a Hub model repository, at a revision (None: the default branch)."""

    repo_id: str
    filename: str = DEFAULT_HUB_FILENAME
    revision: str | None = None

    @property
    def uri(self) -> str:
        revision = f"@{self.revision}" if self.revision else ""
        return f"{HF_SCHEME}{self.repo_id}/{self.filename}{revision}"

    def sibling(self, filename: str) -> "HubFileRef":
        """Another file in the same folder of the same repository and revision."""
        folder = self.filename.rpartition("/")[0]
        path = f"{folder}/{filename}" if folder else filename
        return HubFileRef(self.repo_id, path, self.revision)


def is_hub_uri(text: str) -> bool:
    return text.startswith(HF_SCHEME)


def check_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is a valid ``owner/repo``, else raise ``ModelSpecError``."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise ModelSpecError(f"malformed Hub repository {repo_id!r}: expected owner/repo")
    for part in parts:
        if not _NAME_PART.fullmatch(part) or "--" in part or ".." in part:
            raise ModelSpecError(
                f"malformed Hub repository {repo_id!r}: {part!r} is not a valid owner or "
                "repository name (letters, digits, '-', '_', '.'; at most 96 characters)"
            )
    return repo_id


def check_hub_filename(filename: str, context: str) -> str:
    """Return a repository-relative file path if it has no empty, '.' or '..' parts."""
    if any(part in ("", ".", "..") for part in filename.split("/")):
        raise ModelSpecError(f"malformed file path {filename!r} in {context}")
    return filename


def parse_hub_uri(text: str) -> HubFileRef:
    """Parse ``hf://owner/repo[/file][@revision]``; the file defaults to ``model.safetensors``."""
    if not is_hub_uri(text):
        raise ModelSpecError(f"malformed Hub id {text!r}: expected {HF_SYNTAX}")
    body = text[len(HF_SCHEME) :]
    location, at, revision = body.partition("@")
    if at and not revision:
        raise ModelSpecError(f"malformed Hub id {text!r}: empty revision after '@'")
    parts = location.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ModelSpecError(f"malformed Hub id {text!r}: expected {HF_SYNTAX}")
    repo_id = check_repo_id("/".join(parts[:2]))
    filename = "/".join(parts[2:])
    if filename:
        check_hub_filename(filename, text)
    return HubFileRef(repo_id, filename or DEFAULT_HUB_FILENAME, revision or None)
