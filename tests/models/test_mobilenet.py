"""The bundled MobileNetV2 feature weights reproduce the original TFLite network's activations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ptgfill_cli.errors import WeightsError
from ptgfill_cli.models.mobilenet import FEATURE_BLOCKS, LICENSE_FILE, WEIGHTS_FILE, load_mobilenet_features
from tests.conftest import EXAMPLES

GOLDEN = Path(__file__).with_name("mobilenet_golden.json")


def test_features_match_the_quantised_original():
    golden = json.loads(GOLDEN.read_text())
    pixels = np.asarray(Image.open(EXAMPLES / golden["photo"]).convert("RGB").resize((224, 224), Image.BILINEAR))
    image = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        # The quantised original reads uint8 q as (q - 128) / 128.
        features = load_mobilenet_features()(((image - 128) / 128 + 1) / 2)
    assert [f.shape[1] for f in features] == [16, 24, 32, 96]
    assert [f.shape[-1] for f in features] == [112, 56, 28, 14]
    for block, feature in zip(FEATURE_BLOCKS, features):
        expected = torch.tensor(golden["blocks"][str(block)])
        means = feature.mean(dim=(0, 2, 3))
        # 8-bit activations in the original: per-channel means agree to a few per cent of their scale.
        assert (means - expected).abs().mean() < 0.1 * expected.abs().mean(), block
        assert torch.corrcoef(torch.stack([means, expected]))[0, 1] > 0.98, block


def test_features_are_frozen_and_licensed():
    network = load_mobilenet_features()
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())
    assert "Apache License" in LICENSE_FILE.read_text()
    assert WEIGHTS_FILE.stat().st_size < 16_000_000


def test_a_bad_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(WeightsError, match="bad.safetensors"):
        load_mobilenet_features(bad)
