"""weights export-hub: a folder that, uploaded as it is, loads back as --model hf://owner/name."""

from __future__ import annotations

import json

import numpy as np
from huggingface_hub import ModelCard
from PIL import Image

from ptgfill_cli.weights.store import read_description_file, save_model
from tests.conftest import EXAMPLES

REPO = "ptgfill-test/exported"
CARD = {"license": "MIT", "description": "a test model", "trained_on": "nothing real",
        "validation": {"val_psnr": 20.5, "val_ssim": 0.75}}


def test_an_exported_folder_round_trips_through_the_hub(run_cli, fake_hub, tmp_path, lite_generator):
    source = save_model(lite_generator, tmp_path / "local.safetensors", CARD)
    folder = tmp_path / "hub-folder"
    result = run_cli("weights", "export-hub", str(source), str(folder))
    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]

    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "ptgfill" and config["base_channels"] == lite_generator.config.base_channels
    assert "config" not in config  # flat
    assert read_description_file(folder / "config.json").config == lite_generator.config
    card = ModelCard.load(folder / "README.md")
    assert card.data.license == "mit" and card.data.library_name == "ptgfill"
    assert "image-inpainting" in card.data.tags
    assert {(r.metric_type, r.metric_value) for r in card.data.eval_results} == {("psnr", 20.5), ("ssim", 0.75)}
    assert "hf://OWNER/NAME" in card.text and "a test model" in card.text

    fake_hub.publish(REPO, {path.name: path.read_bytes() for path in folder.iterdir()})
    image, mask = EXAMPLES / "chelsea.png", tmp_path / "mask.png"
    holes = np.zeros(Image.open(image).size[::-1], np.uint8)
    holes[100:160, 120:220] = 255
    Image.fromarray(holes).save(mask)
    outputs = {}
    for label, model in (("hub", f"hf://{REPO}"), ("local", str(source))):
        outputs[label] = tmp_path / f"{label}.png"
        done = run_cli("inpaint", str(image), "-m", str(mask), "-o", str(outputs[label]), "--model", model, "-q")
        assert done.exit_code == 0, done.stderr
    assert np.array_equal(np.asarray(Image.open(outputs["hub"])), np.asarray(Image.open(outputs["local"])))

    again = run_cli("weights", "export-hub", str(source), str(folder))
    assert again.exit_code == 2 and "pass --overwrite" in again.stderr
    assert run_cli("weights", "export-hub", str(source), str(folder), "--overwrite").exit_code == 0


def test_a_licence_the_hub_does_not_name_is_quoted_in_the_card(run_cli, tmp_path, lite_generator):
    source = save_model(lite_generator, tmp_path / "local.safetensors", {"license": "research use only"})
    assert run_cli("weights", "export-hub", str(source), str(tmp_path / "out")).exit_code == 0
    card = ModelCard.load(tmp_path / "out" / "README.md")
    assert card.data.license == "other" and card.data.license_name == "see-model-card"
    assert "**Licence:** research use only" in card.text
    assert card.data.eval_results is None
