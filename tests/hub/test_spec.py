"""Parsing hf://owner/repo[/file][@revision]."""

from __future__ import annotations

import pytest

from ptgfill_cli.errors import ModelNotFoundError
from ptgfill_cli.hub.spec import HubFileRef, ModelSpecError, parse_hub_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("hf://owner/repo", HubFileRef("owner/repo", "model.safetensors", None)),
        ("hf://owner/repo@v1.0", HubFileRef("owner/repo", "model.safetensors", "v1.0")),
        ("hf://own-er/re.po_2/lite.safetensors", HubFileRef("own-er/re.po_2", "lite.safetensors", None)),
        (
            "hf://owner/repo/sub/dir/m.safetensors@0123456789abcdef0123456789abcdef01234567",
            HubFileRef("owner/repo", "sub/dir/m.safetensors", "0123456789abcdef0123456789abcdef01234567"),
        ),
        ("hf://owner/repo@refs/pr/1", HubFileRef("owner/repo", "model.safetensors", "refs/pr/1")),
    ],
)
def test_valid_hub_ids(uri, expected):
    assert parse_hub_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("hf://", "expected hf://owner/repo"),
        ("hf://repo", "expected hf://owner/repo"),
        ("hf:///repo", "expected hf://owner/repo"),
        ("hf://owner/repo@", "empty revision"),
        ("hf://own er/repo", "not a valid owner or repository name"),
        ("hf://owner/-repo", "not a valid owner or repository name"),
        ("hf://owner/re--po", "not a valid owner or repository name"),
        ("hf://owner/repo/../x.safetensors", "malformed file path"),
        ("hf://owner/repo/a//b.safetensors", "malformed file path"),
        ("https://huggingface.co/owner/repo", "expected hf://owner/repo"),
    ],
)
def test_malformed_hub_ids_are_clear_errors(uri, reason):
    with pytest.raises(ModelSpecError, match=reason) as error:
        parse_hub_uri(uri)
    assert isinstance(error.value, ModelNotFoundError)


def test_uri_round_trips_and_siblings_share_folder_and_revision():
    ref = parse_hub_uri("hf://owner/repo/sub/m.safetensors@v2")
    assert parse_hub_uri(ref.uri) == ref
    assert ref.sibling("config.json") == HubFileRef("owner/repo", "sub/config.json", "v2")
