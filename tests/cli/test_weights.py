"""`ptgfill weights list|download|convert` through the real entry point (errors: one line, exit 2)."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from ptgfill_cli.weights.store import save_model

REPO = "ptgfill-test/lite"


@pytest.fixture
def hub_model(fake_hub, tmp_path, lite_generator):
    """REPO on the loopback Hub, at branch main and tag v1; returns (commit, weights bytes)."""
    folder = save_model(lite_generator, tmp_path / "repo").parent
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    return fake_hub.publish(REPO, files, refs=("main", "v1")), files["model.safetensors"]


def test_list_without_models(run_cli, monkeypatch, write_manifest):
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(write_manifest().parent))
    result = run_cli("weights", "list")
    assert result.exit_code == 0, result.stderr
    assert "No models in the manifest: no trained model is bundled yet." in result.stdout
    assert "No default model: pass --model NAME|PATH|hf://owner/repo" in result.stdout


def test_download_then_list_shows_the_cached_file(run_cli, hub_model, isolated_hub_env):
    commit, _ = hub_model

    result = run_cli("weights", "download", f"hf://{REPO}", "--revision", "v1")
    assert result.exit_code == 0, result.stderr
    assert f"hf://{REPO}/model.safetensors@{commit}" in result.stdout
    assert "checked against the Hub's ETag" in result.stdout

    listing = run_cli("weights", "list", "--json")
    assert listing.exit_code == 0, listing.stderr
    document = json.loads(listing.stdout)
    assert document["cache_dir"] == str(isolated_hub_env)
    [cached] = document["cached_hub_files"]
    assert cached["uri"] == f"hf://{REPO}/model.safetensors@{commit}"
    assert cached["branches"] == ["v1"]
    text = run_cli("weights", "list").stdout
    assert f"hf://{REPO}/model.safetensors@{commit}" in text


def test_manifest_models_are_listed_as_bundled_cached_or_missing(
    run_cli, monkeypatch, hub_model, write_manifest, lite_entry, lite_generator
):
    commit, weights = hub_model
    digest = hashlib.sha256(weights).hexdigest()
    hub_source = {"repo": REPO, "filename": "model.safetensors", "revision": commit}
    manifest = write_manifest(
        {
            "on-disk": lite_entry(digest, file="on-disk.safetensors"),
            "from-hub": lite_entry(digest, hf=hub_source),
            "gone": lite_entry(digest, file="gone.safetensors"),
        },
        default="on-disk",
    )
    save_model(lite_generator, manifest.parent / "on-disk.safetensors")
    monkeypatch.setenv("PTGFILL_WEIGHTS_DIR", str(manifest.parent))

    def statuses():
        result = run_cli("weights", "list", "--json")
        assert result.exit_code == 0, result.stderr
        return {model["name"]: model["status"] for model in json.loads(result.stdout)["models"]}

    assert statuses() == {"on-disk": "bundled", "from-hub": "missing", "gone": "missing"}
    result = run_cli("weights", "download", "from-hub")
    assert result.exit_code == 0, result.stderr
    assert "checked against sha256 from the manifest" in result.stdout
    assert statuses() == {"on-disk": "bundled", "from-hub": "cached", "gone": "missing"}
    text = run_cli("weights", "list").stdout
    assert "on-disk *" in text and "(* default model)" in text

    result = run_cli("weights", "download", "on-disk")
    assert result.exit_code == 0 and "is bundled, nothing to download" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weights", "download", "nope"), "ptgfill: error: no model 'nope'"),
        (("weights", "download", "hf://owner"), "ptgfill: error: malformed Hub id 'hf://owner'"),
        (
            ("weights", "download", f"hf://{REPO}@v1", "--revision", "v2"),
            f"ptgfill: error: two revisions given: hf://{REPO}@v1 and --revision v2",
        ),
        (
            ("weights", "download", "some-name", "--revision", "v2"),
            "ptgfill: error: --revision applies to hf:// ids",
        ),
        (
            ("weights", "convert", "absent.pth", "out.safetensors"),
            "ptgfill: error: no such checkpoint file: absent.pth",
        ),
    ],
)
def test_errors_are_one_line_with_exit_code_2(run_cli, args, message):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_convert_refuses_a_checkpoint_that_does_not_fit(run_cli, tmp_path, lite_generator):
    pth = tmp_path / "lite.pth"
    torch.save({"generator": lite_generator.state_dict(), "discriminator": {}, "epoch": 1}, pth)
    result = run_cli("weights", "convert", str(pth), str(tmp_path / "out.safetensors"))
    assert result.exit_code == 2
    assert "does not fit the generator (paper preset, per-token attention)" in result.stderr
    assert not (tmp_path / "out.safetensors").exists()

    result = run_cli("weights", "convert", str(pth), str(tmp_path / "o.safetensors"), "--card-json", "[1]")
    assert result.exit_code == 2 and "--card-json must be a JSON object" in result.stderr


def test_weights_cache_lists_sizes_and_removes_a_model(run_cli, hub_model, isolated_hub_env):
    commit, _ = hub_model
    assert run_cli("weights", "download", f"hf://{REPO}", "--revision", "v1").exit_code == 0
    listing = run_cli("weights", "cache", "--json")
    assert listing.exit_code == 0, listing.stderr
    document = json.loads(listing.stdout)
    [cached] = document["files"]
    assert cached["uri"] == f"hf://{REPO}/model.safetensors@{commit}" and cached["bytes"] > 0
    assert document["total_bytes"] == cached["bytes"]
    assert "1 file(s)" in run_cli("weights", "cache").stdout

    missing = run_cli("weights", "cache", "--remove", "hf://nobody/nothing")
    assert missing.exit_code == 2 and "no cached ptgfill model" in missing.stderr
    removed = run_cli("weights", "cache", "--remove", f"hf://{REPO}")
    assert removed.exit_code == 0 and "removed 1 cached revision(s)" in removed.stdout
    assert json.loads(run_cli("weights", "cache", "--json").stdout)["files"] == []
    assert not any(path.is_file() for path in isolated_hub_env.rglob("*") if "blobs" in path.parts)
