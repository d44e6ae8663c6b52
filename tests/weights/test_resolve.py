"""Resolution of --model values without the network: default, paths, bundled models."""

from __future__ import annotations

import hashlib

import pytest
import torch

from ptgfill_cli.config import preset
from ptgfill_cli.errors import ModelNotFoundError, WeightsError
from ptgfill_cli.weights.resolve import NO_DEFAULT_MESSAGE, load_model, resolve_model_file
from ptgfill_cli.hub.spec import ModelSpecError
from ptgfill_cli.weights.store import save_model


@pytest.fixture
def bundled_lite(write_manifest, lite_entry, lite_generator):
    """A manifest whose default model 'lite-test' is a bundled lite file."""

    def make(default: str | None = "lite-test", sha256: str | None = None):
        manifest = write_manifest()
        weights = save_model(lite_generator, manifest.parent / "lite-test.safetensors")
        digest = sha256 or hashlib.sha256(weights.read_bytes()).hexdigest()
        entry = lite_entry(digest, file="lite-test.safetensors")
        return write_manifest({"lite-test": entry}, default=default), weights

    return make


def test_without_a_default_the_message_says_none_is_installed(write_manifest):
    with pytest.raises(ModelNotFoundError) as error:
        load_model(manifest_path=write_manifest())
    assert str(error.value) == NO_DEFAULT_MESSAGE
    assert str(error.value).startswith(
        "no default model is installed; pass --model NAME|PATH|hf://owner/repo"
    )


def test_the_default_bundled_model_loads_with_its_card(bundled_lite, lite_generator, refined_output):
    manifest, weights = bundled_lite()

    loaded = load_model(manifest_path=manifest)

    assert loaded.name == "lite-test" and loaded.origin == "bundled" and loaded.source == weights
    assert loaded.card["trained_on"] == "nothing (random weights)"
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))


def test_a_default_whose_file_is_absent_is_not_installed(bundled_lite):
    manifest, weights = bundled_lite()
    weights.unlink()
    with pytest.raises(ModelNotFoundError, match=r"^no default model is installed \(lite-test: ") as error:
        load_model(manifest_path=manifest)
    assert f"bundled file {weights} is missing" in str(error.value)
    assert "pass --model NAME|PATH|hf://" in str(error.value)


def test_a_bundled_file_with_the_wrong_hash_is_refused(bundled_lite):
    manifest, _ = bundled_lite(sha256="0" * 64)
    with pytest.raises(WeightsError, match="bundled model lite-test: sha256 mismatch"):
        load_model("lite-test", manifest_path=manifest)


def test_the_manifest_config_must_agree_with_the_file(write_manifest, lite_entry, lite_generator):
    manifest = write_manifest()
    weights = save_model(lite_generator, manifest.parent / "m.safetensors")
    entry = lite_entry(hashlib.sha256(weights.read_bytes()).hexdigest(), file="m.safetensors")
    entry["config"] = preset("lite", attention="per-token").to_dict()
    manifest = write_manifest({"m": entry})
    with pytest.raises(WeightsError, match=r"differs from the manifest's for m \(lite preset, per-token"):
        load_model("m", manifest_path=manifest)


def test_a_word_that_is_both_a_path_and_a_name_is_ambiguous(
    tmp_path, monkeypatch, bundled_lite, lite_generator
):
    manifest, _ = bundled_lite()
    monkeypatch.chdir(tmp_path)
    save_model(lite_generator, tmp_path / "lite-test")

    with pytest.raises(ModelSpecError, match="'lite-test' is both a path .* write ./lite-test"):
        resolve_model_file("lite-test", manifest)
    assert resolve_model_file("./lite-test", manifest).origin == "path"


def test_a_local_path_comes_before_the_manifest(tmp_path, bundled_lite, lite_generator):
    manifest, bundled = bundled_lite()
    local = save_model(lite_generator, tmp_path / "elsewhere" / "lite-test.safetensors")

    resolved = resolve_model_file(str(local), manifest)
    assert (resolved.origin, resolved.path) == ("path", local)
    resolved = resolve_model_file("lite-test", manifest)
    assert (resolved.origin, resolved.path) == ("bundled", bundled)


def test_an_unknown_name_says_where_it_looked(tmp_path, monkeypatch, bundled_lite):
    manifest, _ = bundled_lite()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError) as error:
        resolve_model_file("celeba", manifest)
    message = str(error.value)
    assert f"no file or folder {tmp_path / 'celeba'}" in message
    assert f"manifest {manifest}" in message
    assert "names: lite-test" in message
    assert f"bundled files in {manifest.parent}" in message
    assert "hf://owner/repo[/file][@revision]" in message


def test_folders_and_files_that_are_not_models(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(ModelNotFoundError, match="holds no model.safetensors \\(it has: notes.txt\\)"):
        resolve_model_file(str(tmp_path / "empty"))
    (tmp_path / "image.png").write_bytes(b"png")
    with pytest.raises(WeightsError, match="is not a model: expected a .safetensors file"):
        resolve_model_file(str(tmp_path / "image.png"))
    with pytest.raises(ModelSpecError, match="malformed Hub id 'hf:owner/repo'"):
        resolve_model_file("hf:owner/repo")


def test_a_path_does_not_need_a_valid_manifest(tmp_path, write_manifest, lite_generator):
    broken = write_manifest()
    broken.write_text("{broken")
    weights = save_model(lite_generator, tmp_path / "m.safetensors")
    assert resolve_model_file(str(weights), broken).origin == "path"
    with pytest.raises(ModelNotFoundError, match="no model file or folder .*absent.safetensors"):
        resolve_model_file(str(tmp_path / "absent.safetensors"), broken)
