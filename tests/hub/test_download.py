"""The Hub path end to end, against the loopback Hub of conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as serialise_tensors

from ptgfill_cli.config import preset
from ptgfill_cli.errors import ModelNotFoundError, WeightsError
from ptgfill_cli.weights.resolve import load_model, resolve_model_file
from ptgfill_cli.weights.store import save_model

REPO = "ptgfill-test/lite"


def model_files(generator, tmp_path: Path, name: str = "model") -> dict[str, bytes]:
    """The files of a Hub repository holding ``generator``: model.safetensors + config.json."""
    folder = save_model(generator, tmp_path / name).parent
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def cache_files(cache: Path) -> list[Path]:
    """The downloaded files the Hub cache holds for REPO: blobs and snapshot entries."""
    repo_folder = cache / ("models--" + REPO.replace("/", "--"))
    return sorted(
        path
        for folder in ("blobs", "snapshots")
        for path in (repo_folder / folder).rglob("*")
        if path.is_file() or path.is_symlink()
    )


def test_download_and_load_at_a_revision(
    fake_hub, isolated_hub_env, tmp_path, lite_generator, refined_output
):
    commit = fake_hub.publish(REPO, model_files(lite_generator, tmp_path), refs=("main", "v1"))

    loaded = load_model(f"hf://{REPO}@v1")

    assert loaded.origin == "hub" and loaded.name == REPO
    assert loaded.config == preset("lite")
    assert loaded.source.is_relative_to(isolated_hub_env)
    assert loaded.source.parent.name == commit
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))
    assert fake_hub.gets() == [f"/{REPO}/resolve/v1/model.safetensors"]


def test_offline_reuses_the_cache_and_asks_nothing(
    fake_hub, monkeypatch, tmp_path, lite_generator, refined_output
):
    fake_hub.publish(REPO, model_files(lite_generator, tmp_path))
    first = load_model(f"hf://{REPO}")
    requests_before = len(fake_hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    # Offline with the server still up: the cache answers, the server is never asked.
    again = load_model(f"hf://{REPO}")
    assert again.source == first.source
    with pytest.raises(ModelNotFoundError) as error:
        load_model(f"hf://{REPO}@v9")
    assert len(fake_hub.requests) == requests_before
    message = str(error.value)
    assert "is not in the cache" in message and "HF_HUB_OFFLINE is set" in message
    assert f"ptgfill weights download hf://{REPO}/model.safetensors@v9" in message

    # And with the server gone.
    fake_hub.stop()
    again = load_model(f"hf://{REPO}")
    assert again.source == first.source
    assert torch.equal(refined_output(again.generator), refined_output(lite_generator))


def test_a_corrupt_download_of_a_manifest_model_is_removed(
    fake_hub, isolated_hub_env, tmp_path, write_manifest, lite_entry, lite_generator, refined_output
):
    files = model_files(lite_generator, tmp_path)
    commit = fake_hub.publish(REPO, files)
    good = files["model.safetensors"]
    bad = bytearray(good)
    bad[-100] ^= 0xFF  # same length: only the hash can tell
    fake_hub.corrupt(REPO, "model.safetensors", bytes(bad))
    entry = lite_entry(
        hashlib.sha256(good).hexdigest(),
        hf={"repo": REPO, "filename": "model.safetensors", "revision": commit},
    )
    manifest = write_manifest({"lite-hub": entry})

    with pytest.raises(WeightsError, match="is corrupt: it does not match the manifest's sha256"):
        load_model("lite-hub", manifest_path=manifest)
    assert cache_files(isolated_hub_env) == []

    del fake_hub.corrupted[(REPO, "model.safetensors")]
    loaded = load_model("lite-hub", manifest_path=manifest)
    assert loaded.origin == "hub" and loaded.name == "lite-hub"
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))
    assert len(fake_hub.gets()) == 2
    assert len(cache_files(isolated_hub_env)) == 2  # the blob and its snapshot link


def test_a_corrupt_download_without_a_manifest_fails_the_etag_check(
    fake_hub, isolated_hub_env, tmp_path, lite_generator
):
    files = model_files(lite_generator, tmp_path)
    fake_hub.publish(REPO, files)
    bad = bytearray(files["model.safetensors"])
    bad[-1] ^= 0x01
    fake_hub.corrupt(REPO, "model.safetensors", bytes(bad))

    with pytest.raises(WeightsError, match="does not match the Hub's ETag"):
        resolve_model_file(f"hf://{REPO}")
    assert cache_files(isolated_hub_env) == []


def test_revisions_are_pinned(
    fake_hub, tmp_path, lite_generator, other_lite_generator, refined_output
):
    first = fake_hub.publish(REPO, model_files(lite_generator, tmp_path, "a"), refs=("main", "v1"))
    second = fake_hub.publish(REPO, model_files(other_lite_generator, tmp_path, "b"), refs=("main",))
    expected_first = refined_output(lite_generator)
    expected_second = refined_output(other_lite_generator)
    assert not torch.equal(expected_first, expected_second)

    assert torch.equal(refined_output(load_model(f"hf://{REPO}@v1").generator), expected_first)
    assert torch.equal(refined_output(load_model(f"hf://{REPO}@{first}").generator), expected_first)
    assert torch.equal(refined_output(load_model(f"hf://{REPO}").generator), expected_second)
    assert resolve_model_file(f"hf://{REPO}@main").download.commit == second

    # A commit hash that is cached needs no request at all.
    requests_before = len(fake_hub.requests)
    assert torch.equal(refined_output(load_model(f"hf://{REPO}@{first}").generator), expected_first)
    assert len(fake_hub.requests) == requests_before


def test_config_json_is_fetched_when_the_weights_carry_none(
    fake_hub, tmp_path, lite_generator, refined_output
):
    files = model_files(lite_generator, tmp_path)
    files["model.safetensors"] = serialise_tensors(dict(lite_generator.state_dict()))  # no metadata
    fake_hub.publish(REPO, files)

    resolved = resolve_model_file(f"hf://{REPO}")
    assert resolved.config_path is not None and resolved.config_path.name == "config.json"
    loaded = load_model(f"hf://{REPO}")
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))

    del files["config.json"]
    fake_hub.publish(REPO, files)
    with pytest.raises(WeightsError, match="no ptgfill config in its metadata, and its config.json"):
        load_model(f"hf://{REPO}")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("hf://nobody/nothing", "Hub repository nobody/nothing not found at http://127.0.0.1"),
        (f"hf://{REPO}@v404", "revision 'v404' not found in Hub repository"),
        (f"hf://{REPO}/other.safetensors", "file other.safetensors not found in Hub repository"),
    ],
)
def test_what_the_hub_lacks_is_named(fake_hub, tmp_path, lite_generator, uri, message):
    fake_hub.publish(REPO, model_files(lite_generator, tmp_path))
    with pytest.raises(ModelNotFoundError, match=message):
        load_model(uri)


def test_an_unreachable_hub_falls_back_on_the_cache_at_once(fake_hub, tmp_path, lite_generator, monkeypatch):
    import time

    fake_hub.publish(REPO, model_files(lite_generator, tmp_path))
    first = load_model(f"hf://{REPO}")
    fake_hub.stop()  # the endpoint now refuses connections; HF_HUB_OFFLINE is not set
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    started = time.monotonic()
    assert load_model(f"hf://{REPO}").source == first.source
    with pytest.raises(ModelNotFoundError, match=r"cannot be reached \(.*HF_HUB_OFFLINE=1 skips the Hub"):
        load_model(f"hf://{REPO}@v9")
    assert time.monotonic() - started < 10  # huggingface_hub alone retries for about 27 s
