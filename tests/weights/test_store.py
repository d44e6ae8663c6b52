"""The ptgfill on-disk format: save/load round trips and weights that do not fit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ptgfill_cli.config import preset
from ptgfill_cli.errors import WeightsError
from ptgfill_cli.weights.format import read_safetensors_header
from ptgfill_cli.weights.resolve import load_model
from ptgfill_cli.weights.store import save_model


def test_file_round_trip_keeps_outputs_config_and_card(tmp_path, lite_generator, refined_output):
    written = save_model(lite_generator, tmp_path / "lite.safetensors", {"trained_on": "nothing"})

    assert written == tmp_path / "lite.safetensors"
    metadata = read_safetensors_header(written).metadata
    assert metadata["format"] == "ptgfill"
    assert json.loads(metadata["config"]) == preset("lite").to_dict()
    sidecar = json.loads((tmp_path / "lite.json").read_text())
    assert sidecar["config"] == preset("lite").to_dict()

    loaded = load_model(str(written))
    assert loaded.config == preset("lite")
    assert loaded.card == {"trained_on": "nothing"}
    assert loaded.name == "lite" and loaded.origin == "path" and loaded.source == written
    assert not loaded.generator.training
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))


def test_folder_round_trip_uses_hub_layout(tmp_path, lite_generator, refined_output):
    written = save_model(lite_generator, tmp_path / "my-model")

    assert written == tmp_path / "my-model" / "model.safetensors"
    assert (tmp_path / "my-model" / "config.json").is_file()
    loaded = load_model(str(tmp_path / "my-model"))
    assert loaded.name == "my-model"
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))


def test_stored_tensors_are_float32_and_contiguous(tmp_path, lite_generator):
    half = {name: tensor.half() for name, tensor in lite_generator.state_dict().items()}
    generator = type(lite_generator)(lite_generator.config)
    generator.load_state_dict(half)
    written = save_model(generator, tmp_path / "m.safetensors")
    header = json.loads(written.read_bytes()[8 : 8 + int.from_bytes(written.read_bytes()[:8], "little")])
    dtypes = {info["dtype"] for name, info in header.items() if name != "__metadata__"}
    assert dtypes == {"F32"}


def test_equal_weights_give_byte_identical_files(tmp_path, lite_generator):
    # The manifest records a sha256: saving the same model again must reproduce it.
    first = save_model(lite_generator, tmp_path / "a.safetensors", {"b": 1, "a": 2})
    again = [save_model(lite_generator, tmp_path / f"{i}.safetensors", {"a": 2, "b": 1}) for i in range(4)]
    hashes = {hashlib.sha256(path.read_bytes()).digest() for path in again}
    assert hashes == {hashlib.sha256(first.read_bytes()).digest()}


def test_config_from_sidecar_when_metadata_has_none(tmp_path, lite_generator, refined_output):
    save_model(lite_generator, tmp_path / "m.safetensors")
    # Rewrite the weights without metadata, as another tool might: the sidecar must carry the config.
    save_file(lite_generator.state_dict(), str(tmp_path / "m.safetensors"))

    loaded = load_model(str(tmp_path / "m.safetensors"))
    assert loaded.config == preset("lite")
    assert torch.equal(refined_output(loaded.generator), refined_output(lite_generator))

    (tmp_path / "m.json").unlink()
    with pytest.raises(WeightsError, match="carries no ptgfill config"):
        load_model(str(tmp_path / "m.safetensors"))


def test_missing_and_unexpected_keys_are_named(tmp_path, lite_generator):
    state = dict(lite_generator.state_dict())
    state.pop("encoder1.conv0.weight")
    state["encoder1.conv0.extra"] = torch.zeros(1)
    path = tmp_path / "broken.safetensors"
    _save_with_lite_config(state, path)

    with pytest.raises(WeightsError) as error:
        load_model(str(path))
    message = str(error.value)
    assert str(path) in message
    assert "1 missing: encoder1.conv0.weight" in message
    assert "1 unexpected: encoder1.conv0.extra" in message


def test_wrong_shapes_are_named(tmp_path, lite_generator):
    state = dict(lite_generator.state_dict())
    state["to_rgb.conv1x1.bias"] = torch.zeros(4)
    path = tmp_path / "shapes.safetensors"
    _save_with_lite_config(state, path)

    expected = r"wrong shape: to_rgb\.conv1x1\.bias \(4,\) \(expected \(3,\)\)"
    with pytest.raises(WeightsError, match=expected):
        load_model(str(path))


def test_weights_of_another_config_do_not_fit(tmp_path, lite_generator):
    path = save_model(lite_generator, tmp_path / "m.safetensors")
    metadata = read_safetensors_header(path).metadata
    metadata["config"] = json.dumps(preset("lite", base_channels=8).to_dict())
    save_file(lite_generator.state_dict(), str(path), metadata)

    with pytest.raises(WeightsError, match="does not fit the generator"):
        load_model(str(path))


def test_non_finite_weights_are_refused(tmp_path, lite_generator):
    state = dict(lite_generator.state_dict())
    state["to_rgb.conv1x1.bias"] = torch.tensor([0.0, float("nan"), 0.0])
    path = tmp_path / "nan.safetensors"
    _save_with_lite_config(state, path)

    with pytest.raises(WeightsError, match="NaN or infinite"):
        load_model(str(path))


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(WeightsError, match="not a safetensors file"):
        load_model(str(path))


def test_save_refuses_other_suffixes(tmp_path, lite_generator):
    with pytest.raises(WeightsError, match="give a .safetensors file or a folder"):
        save_model(lite_generator, tmp_path / "model.pt")


def _save_with_lite_config(state: dict[str, torch.Tensor], path: Path) -> None:
    metadata = {"format": "ptgfill", "config": json.dumps(preset("lite").to_dict())}
    save_file({name: tensor.contiguous() for name, tensor in state.items()}, str(path), metadata)


@pytest.mark.parametrize(("config", "message"), [
    ("lite", "config must be an object of fields, not str"),
    ([1, 2], "config must be an object of fields, not list"),
    ({**preset("lite").to_dict(), "bridger_heads": 0}, "bridger_heads must be positive, not 0"),
    ({**preset("lite").to_dict(), "base_channels": 16.5}, "base_channels must be a whole number, not 16.5"),
    ({**preset("lite").to_dict(), "patch_size": [16]}, "patch_size must be a whole number"),
    ({**preset("lite").to_dict(), "attention": 3}, "attention must be text"),
])
def test_a_hostile_config_in_the_metadata_is_one_line(tmp_path, lite_generator, config, message):
    path = save_model(lite_generator, tmp_path / "m.safetensors")
    metadata = read_safetensors_header(path).metadata
    metadata["config"] = json.dumps(config)
    save_file(lite_generator.state_dict(), str(path), metadata)
    with pytest.raises(WeightsError, match=f"bad config in the safetensors metadata: {message}"):
        load_model(str(path))


def test_a_config_claiming_huge_widths_is_refused_from_the_header_without_allocating(tmp_path, lite_generator):
    import resource

    path = save_model(lite_generator, tmp_path / "m.safetensors")
    metadata = read_safetensors_header(path).metadata
    metadata["config"] = json.dumps(preset("paper", base_channels=4096).to_dict())  # ~110 G parameters
    save_file(lite_generator.state_dict(), str(path), metadata)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(WeightsError, match="does not fit the generator"):
        load_model(str(path))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB: under 0.5 GB more
