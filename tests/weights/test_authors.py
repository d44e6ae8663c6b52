"""The authors' .pth checkpoints: conversion, direct loading, and refusing pickled objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import torch

from ptgfill_cli.config import preset
from ptgfill_cli.errors import WeightsError
from ptgfill_cli.weights.authors import AUTHORS_CONFIG, convert_authors_checkpoint, read_authors_checkpoint
from ptgfill_cli.weights.format import read_safetensors_header
from ptgfill_cli.weights.resolve import load_model
from ptgfill_cli.models.factory import build_discriminator, build_generator
from ptgfill_cli.models.generator import PTGFillGenerator
from ptgfill_cli.models.init import golden_state_dict
from tests.conftest import SHARED

SHARED_REFERENCE = SHARED / "reference"
OFFICIAL_KEYS = SHARED_REFERENCE / "official_state_dict_keys.json"


@pytest.fixture(scope="module")
def authors_checkpoint(tmp_path_factory) -> Iterator[tuple[Path, PTGFillGenerator]]:
    """An authors'-format checkpoint of the paper generator, and that generator in memory.

    With ../shared present the weights follow the golden deterministic rule over the
    authors' key list (so the keys are exactly theirs); else a random paper generator."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    if OFFICIAL_KEYS.is_file():
        keys = json.loads(OFFICIAL_KEYS.read_text())
        generator_state = golden_state_dict([(key, shape) for key, shape in keys["generator"]])
        discriminator_state = golden_state_dict(
            [(key, shape) for key, shape in keys["discriminator"]], seed=1
        )
    else:
        generator_state = build_generator("paper", seed=0).state_dict()
        discriminator_state = build_discriminator("paper").state_dict()
    reference = PTGFillGenerator(AUTHORS_CONFIG)
    reference.load_state_dict(generator_state)
    reference.eval()  # as load_model returns it
    path = tmp_path_factory.mktemp("authors") / "celeba_hq.pth"
    torch.save({"generator": generator_state, "discriminator": discriminator_state, "epoch": 42}, path)
    torch.set_num_threads(threads)
    yield path, reference


def test_converted_checkpoint_loads_per_token_with_equal_outputs(
    tmp_path, authors_checkpoint, refined_output
):
    pth, reference = authors_checkpoint

    written = convert_authors_checkpoint(pth, tmp_path / "celeba.safetensors", {"trained_on": "CelebA-HQ"})

    card = json.loads(read_safetensors_header(written).metadata["card"])
    assert card["epoch"] == 42 and card["trained_on"] == "CelebA-HQ"
    assert card["checkpoint"] == "celeba_hq.pth" and len(card["checkpoint_sha256"]) == 64
    assert json.loads((tmp_path / "celeba.json").read_text())["config"]["attention"] == "per-token"
    loaded = load_model(str(written))
    assert loaded.config == preset("paper", attention="per-token")
    assert loaded.config.attention == "per-token"
    assert torch.equal(refined_output(loaded.generator), refined_output(reference))


def test_pth_loads_directly_with_per_token_attention(authors_checkpoint, refined_output):
    pth, reference = authors_checkpoint

    loaded = load_model(str(pth))

    assert loaded.config.attention == "per-token"
    assert loaded.card["epoch"] == 42
    assert torch.equal(refined_output(loaded.generator), refined_output(reference))


class _TouchesFile:
    """Unpickling this creates a file: a stand-in for code an untrusted .pth could run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_pickled_objects_are_refused_and_never_run(tmp_path, lite_generator):
    sentinel = tmp_path / "code-ran"
    pth = tmp_path / "evil.pth"
    torch.save({"generator": lite_generator.state_dict(), "epoch": 1, "hook": _TouchesFile(sentinel)}, pth)

    with pytest.raises(WeightsError, match=r"evil\.pth: cannot read checkpoint: it does not load as plain tensors without running code \(.+\)$"):
        load_model(str(pth))
    with pytest.raises(WeightsError, match="without running code"):
        convert_authors_checkpoint(pth, tmp_path / "out.safetensors")
    assert not sentinel.exists()
    assert not (tmp_path / "out.safetensors").exists()

    # The payload is live: a full unpickle would have run it.
    torch.load(pth, weights_only=False)
    assert sentinel.exists()


def test_a_pth_without_a_generator_is_refused(tmp_path, lite_generator):
    pth = tmp_path / "plain.pth"
    torch.save(lite_generator.state_dict(), pth)
    with pytest.raises(WeightsError, match="not an authors' checkpoint: expected a dict with"):
        read_authors_checkpoint(pth)


def test_a_lite_checkpoint_does_not_fit_the_authors_config(tmp_path, lite_generator):
    pth = tmp_path / "lite.pth"
    torch.save({"generator": lite_generator.state_dict(), "epoch": 1}, pth)
    with pytest.raises(WeightsError, match=r"lite\.pth does not fit the generator \(paper preset"):
        load_model(str(pth))


def test_data_parallel_prefixes_are_removed(tmp_path, lite_generator):
    pth = tmp_path / "ddp.pth"
    state = {f"module.{key}": value for key, value in lite_generator.state_dict().items()}
    torch.save({"generator": state, "epoch": 3}, pth)
    checkpoint = read_authors_checkpoint(pth)
    assert list(checkpoint.generator_state) == list(lite_generator.state_dict())
    assert checkpoint.epoch == 3


def test_cli_convert_writes_safetensors_and_config(run_cli, tmp_path, authors_checkpoint):
    pth, _ = authors_checkpoint
    card_file = tmp_path / "card.json"
    card_file.write_text(json.dumps({"trained_on": "CelebA-HQ", "license": "see the authors"}))
    out = tmp_path / "celeba.safetensors"

    result = run_cli("weights", "convert", str(pth), str(out), "--card-json", f"@{card_file}")

    assert result.exit_code == 0, result.stderr
    assert f"wrote {out} and {tmp_path / 'celeba.json'}" in result.stdout
    sidecar = json.loads((tmp_path / "celeba.json").read_text())
    assert sidecar["config"] == preset("paper", attention="per-token").to_dict()
    assert sidecar["card"]["trained_on"] == "CelebA-HQ" and sidecar["card"]["epoch"] == 42

    again = run_cli("weights", "convert", str(pth), str(out), "--card-json", "{}")
    assert again.exit_code == 2 and f"{out} exists; pass --overwrite" in again.stderr
