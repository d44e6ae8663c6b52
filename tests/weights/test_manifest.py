"""The manifest: the shipped one, and validation of broken ones."""

from __future__ import annotations

import json

import pytest

from ptgfill_cli.config import preset
from ptgfill_cli.errors import ModelNotFoundError
from ptgfill_cli.weights.manifest import ManifestError, default_manifest_path, load_manifest
from ptgfill_cli.weights.resolve import load_model

GOOD_SHA = "a" * 64


def test_the_shipped_default_model_is_bundled_verified_and_trained():
    from ptgfill_cli.hub.download import sha256_of_file

    manifest = load_manifest()
    assert manifest.path == default_manifest_path()
    entry = manifest.models[manifest.default]
    bundled = manifest.bundled_path(entry)
    assert bundled is not None and bundled.is_file()
    assert sha256_of_file(bundled) == entry.sha256
    assert (manifest.weights_dir / entry.card["model_card"]).is_file()
    loaded = load_model()
    assert loaded.name == manifest.default and loaded.origin == "bundled"
    assert loaded.card["trained_steps"] > 0 and loaded.card["images_seen"] > 0  # trained, not initialised


def test_an_empty_registry_means_no_default_model(tmp_path, monkeypatch):
    (tmp_path / "manifest.json").write_text('{"default": null, "models": {}}')
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="^no default model is installed; pass --model"):
        load_model()


def test_a_valid_entry_is_parsed(write_manifest, lite_entry):
    entry = lite_entry(GOOD_SHA, file="lite.safetensors", hf={"repo": "owner/repo", "revision": "v1"})
    entry["card"] = {"license": "MIT"}
    manifest = load_manifest(write_manifest({"lite-test": entry}, default="lite-test"))

    parsed = manifest.models["lite-test"]
    assert manifest.default == "lite-test"
    assert parsed.config == preset("lite")
    assert manifest.bundled_path(parsed) == manifest.weights_dir / "lite.safetensors"
    assert parsed.hub.uri == "hf://owner/repo/model.safetensors@v1"
    assert parsed.model_card()["license"] == "MIT"
    assert parsed.model_card()["trained_on"] == "nothing (random weights)"


def test_config_may_be_an_object(write_manifest, lite_entry):
    entry = lite_entry(GOOD_SHA, file="m.safetensors")
    entry["config"] = preset("lite", attention="per-token").to_dict()
    manifest = load_manifest(write_manifest({"m": entry}))
    assert manifest.models["m"].config.attention == "per-token"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update(sha256="abc"), "'sha256' must be 64 lower-case hex digits"),
        (lambda e: e.pop("trained_on"), "missing trained_on"),
        (lambda e: e.pop("file"), "needs 'file' \\(bundled\\) or 'hf'"),
        (lambda e: e.update(config="huge"), "bad 'config': preset must be one of base, lite, paper, not 'huge'"),
        (lambda e: e.update(config={"widht": 3}), "unknown model config keys: widht"),
        (lambda e: e.update(file="../outside.safetensors"), "must stay inside"),
        (lambda e: e.update(file="m.pth"), "'file' must be a .safetensors path"),
        (lambda e: e.update(hf={"repo": "owner/repo"}), "needs a pinned 'revision'"),
        (lambda e: e.update(hf={"repo": "not a repo", "revision": "x"}), "malformed Hub repository"),
        (lambda e: e.update(color="red"), "unknown key\\(s\\) 'color'"),
    ],
)
def test_broken_entries_are_named(write_manifest, lite_entry, change, message):
    entry = lite_entry(GOOD_SHA, file="m.safetensors")
    change(entry)
    path = write_manifest({"m": entry})
    with pytest.raises(ManifestError, match=f"manifest.json: model 'm': .*{message}"):
        load_manifest(path)


def test_broken_top_level(tmp_path, write_manifest, lite_entry):
    with pytest.raises(ManifestError, match="default model 'other' is not in 'models'"):
        load_manifest(write_manifest({"m": lite_entry(GOOD_SHA, file="m.safetensors")}, default="other"))
    with pytest.raises(ManifestError, match="a model name is lower-case"):
        load_manifest(write_manifest({"Bad/Name": lite_entry(GOOD_SHA, file="m.safetensors")}))
    path = tmp_path / "manifest.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="cannot read manifest"):
        load_manifest(path)
    path.write_text(json.dumps({"models": {}, "extra": 1}))
    with pytest.raises(ManifestError, match="unknown key\\(s\\) 'extra'"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="no manifest at"):
        load_manifest(tmp_path / "absent.json")


def test_weights_dir_can_be_moved_by_environment(tmp_path, monkeypatch, write_manifest, lite_entry):
    path = write_manifest({"m": lite_entry(GOOD_SHA, file="m.safetensors")})
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(path.parent))
    assert set(load_manifest().models) == {"m"}
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(tmp_path / "nowhere"))
    assert load_manifest().models == {}
