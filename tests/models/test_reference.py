"""Faithfulness to the published network: keys, shapes and the golden vectors."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from ptgfill_cli.config import preset
from ptgfill_cli.models.discriminator import SNPatchGANDiscriminator
from ptgfill_cli.models.generator import PTGFillGenerator
from ptgfill_cli.models.init import golden_state_dict
from tests.conftest import shared_path


def _official_keys() -> dict:
    return json.loads(shared_path("reference", "official_state_dict_keys.json").read_text())


def test_paper_generator_keys_and_shapes_equal_the_authors_checkpoint():
    official = [(k, tuple(s)) for k, s in _official_keys()["generator"]]
    ours = [(k, tuple(v.shape)) for k, v in PTGFillGenerator(preset("paper")).state_dict().items()]
    assert sorted(ours) == sorted(official)


def test_discriminator_keys_and_shapes_equal_the_authors_checkpoint():
    official = [(k, tuple(s)) for k, s in _official_keys()["discriminator"]]
    ours = [(k, tuple(v.shape)) for k, v in SNPatchGANDiscriminator(preset("paper")).state_dict().items()]
    assert sorted(ours) == sorted(official)


def test_paper_generator_parameter_count():
    params = sum(p.numel() for p in PTGFillGenerator(preset("paper")).parameters())
    assert round(params / 1e6, 2) == 44.83


@pytest.mark.parametrize("mask_path", ["compact", "full"])
@pytest.mark.parametrize("case", ["sq64", "rect96x128"])
def test_golden_vectors(case: str, mask_path: str):
    golden = load_file(str(shared_path("reference", "golden_ptgfill_reference.safetensors")))
    model = PTGFillGenerator(preset("paper", attention="per-token"), mask_path=mask_path).eval()
    model.load_state_dict(golden_state_dict(_official_keys()["generator"]), strict=True)
    image, known = golden[f"{case}.image"], golden[f"{case}.mask"]
    with torch.inference_mode():
        out = model(image * known, known)
    assert (out.refined - golden[f"{case}.refined"]).abs().max().item() < 1e-4
    assert (out.coarse - golden[f"{case}.coarse"]).abs().max().item() < 1e-4
