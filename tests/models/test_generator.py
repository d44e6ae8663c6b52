"""Generator behaviour on presets: shapes, batching, the compact mask path, attention modes."""

from __future__ import annotations

import pytest
import torch

from ptgfill_cli.config import PRESETS, PTGFillConfig, preset
from ptgfill_cli.models.factory import build_discriminator, build_generator


def _inputs(batch: int, height: int, width: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=g)
    known = (torch.rand(batch, 1, height // 8, width // 8, generator=g) > 0.4).float()
    known = torch.nn.functional.interpolate(known, size=(height, width))
    return image, known


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_output_shapes_and_range(name: str, size: tuple[int, int]):
    model = build_generator(name, seed=0).eval()
    image, known = _inputs(2, *size)
    with torch.inference_mode():
        out = model(image, known)
    for tensor in (out.refined, out.coarse):
        assert tensor.shape == (2, 3, *size)
        assert torch.isfinite(tensor).all()
        assert tensor.min() >= 0 and tensor.max() <= 1


def test_rejects_sizes_that_are_not_multiples_of_32():
    model = build_generator("lite", seed=0)
    with pytest.raises(ValueError, match="multiples of 32"):
        model(*_inputs(1, 64, 80))


@pytest.mark.parametrize("attention", ["tokens", "per-token"])
def test_batch_equals_images_one_by_one(attention: str):
    model = build_generator(preset("lite", attention=attention), seed=1).eval()
    image, known = _inputs(3, 64, 96, seed=2)
    with torch.inference_mode():
        batched = model(image, known).refined
        single = torch.cat([model(image[i : i + 1], known[i : i + 1]).refined for i in range(3)])
    assert (batched - single).abs().max().item() < 1e-5


def test_attention_modes_differ_only_in_the_bridger():
    tokens = build_generator(preset("lite", attention="tokens"), seed=3).eval()
    per_token = build_generator(preset("lite", attention="per-token"), seed=3).eval()
    per_token.load_state_dict(tokens.state_dict())
    image, known = _inputs(1, 64, 64, seed=4)
    with torch.inference_mode():
        a, b = tokens(image, known), per_token(image, known)
    assert torch.equal(a.coarse, b.coarse)
    assert not torch.allclose(a.refined, b.refined)


def test_per_token_mode_equals_attention_over_a_single_token():
    """The authors' encoder sees each token as its own sequence: reproduce that literally."""
    model = build_generator(preset("lite", attention="per-token"), seed=5).eval()
    layer = model.pc2ftransformer.transformer.layers[0]
    tokens = torch.randn(2, 7, model.config.token_dim)
    with torch.inference_mode():
        ours = layer(tokens, per_token=True)
        literal = layer(tokens.reshape(14, 1, -1), per_token=False).reshape(2, 7, -1)
    assert (ours - literal).abs().max().item() < 1e-5


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_compact_mask_path_equals_the_published_full_width_path(name: str):
    compact = build_generator(name, mask_path="compact", seed=6).eval()
    full = build_generator(name, mask_path="full", seed=6).eval()
    full.load_state_dict(compact.state_dict())
    image, known = _inputs(1, 64, 64, seed=7)
    with torch.inference_mode():
        a, b = compact(image, known), full(image, known)
    assert (a.coarse - b.coarse).abs().max().item() < 1e-4
    assert (a.refined - b.refined).abs().max().item() < 1e-4


def test_a_full_width_model_prepared_for_inference_still_runs_its_published_path():
    compact = build_generator("lite", seed=6).prepare_for_inference()
    full = build_generator("lite", mask_path="full", seed=6)
    full.load_state_dict(compact.state_dict())
    full.prepare_for_inference(channels_last=True)
    image, known = _inputs(1, 64, 64, seed=7)
    with torch.inference_mode():
        assert (compact(image, known).refined - full(image, known).refined).abs().max().item() < 1e-4


def test_hole_content_does_not_leak_into_the_output():
    model = build_generator("lite", seed=8).eval()
    image, known = _inputs(1, 64, 64, seed=9)
    scribbled = image.clone()
    scribbled[known.expand_as(image) == 0] = torch.rand(int((known == 0).sum()) * 3)
    with torch.inference_mode():
        assert torch.equal(model(image, known).refined, model(scribbled, known).refined)


def test_gradients_reach_every_parameter():
    model = build_generator(preset("lite", bridger_dropout=0.0), seed=10).train()
    image, known = _inputs(2, 64, 64, seed=11)
    out = model(image, known)
    (out.refined.mean() + out.coarse.mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_discriminator_gives_a_patch_map():
    disc = build_discriminator("lite")
    image, known = _inputs(2, 64, 64)
    scores = disc(image, known)
    assert scores.shape == (2, 1, 2, 2)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"attention": "global"}, "attention"),
        ({"patch_size": 24}, "multiple of 16"),
        ({"bridger_heads": 5}, "do not divide the token dim"),
    ],
)
def test_config_rejects_bad_values(changes: dict, message: str):
    with pytest.raises(ValueError, match=message):
        PTGFillConfig(**changes)


def test_config_round_trips_through_json(tmp_path):
    config = preset("lite", attention="per-token")
    config.save(tmp_path / "config.json")
    assert PTGFillConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ValueError, match="unknown"):
        PTGFillConfig.from_dict({**config.to_dict(), "bogus": 1})


def test_folded_inference_and_the_straightforward_reference_agree():
    from ptgfill_cli.models.reference import straightforward_copy

    model = build_generator(preset("lite", attention="per-token"), seed=12).eval()
    reference = straightforward_copy(model)
    image, known = _inputs(1, 64, 64, seed=13)
    with torch.inference_mode():
        plain = model(image, known).refined
        literal = reference(image, known).refined
        folded = model.prepare_for_inference()(image, known).refined
    assert model.pc2ftransformer.transformer.layers[0]._folded is not None
    assert (plain - literal).abs().max().item() < 1e-4
    assert (plain - folded).abs().max().item() < 1e-5


def _golden_like(model):
    """The reference's deterministic weight rule (0.05 r; norm weights 1 + 0.05 r): unlike
    the published initialisation it gives activations of a trained network's size."""
    from ptgfill_cli.models.init import golden_state_dict

    shapes = [(key, list(value.shape)) for key, value in model.state_dict().items()]
    model.load_state_dict(golden_state_dict(shapes, seed=3))
    return model


@pytest.mark.parametrize("attention", ["tokens", "per-token"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_inference_rewrites_match_the_straightforward_computation(attention: str, channels_last: bool):
    from ptgfill_cli.layers.gated_conv import DistinctiveGatedConv2d
    from ptgfill_cli.models.reference import straightforward_copy

    model = _golden_like(build_generator(preset("lite", attention=attention), seed=0))
    reference = straightforward_copy(model)
    # the authors' per-token attention mixes a batch's images, so it is compared at batch 1
    image, known = _inputs(2 if attention == "tokens" else 1, 64, 96, seed=21)
    with torch.inference_mode():
        expected = reference(image, known).refined
        fast = model.prepare_for_inference(channels_last=channels_last)
        got = fast(image, known).refined
    gated = [m for m in fast.modules() if isinstance(m, DistinctiveGatedConv2d)]
    assert all(m.fused_weight is not None for m in gated)
    assert fast.gatedconv12.fused_phases is not None  # the subpixel paths are exercised
    assert fast.decoder2.conv0.upsampled_phases is not None
    assert fast.gatedconv2.fused_weight.is_contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format
    )
    assert expected.std().item() > 0.05  # a picture, not a constant
    assert (got - expected).abs().max().item() < 1e-4


def test_fused_and_phase_split_weights_are_dropped_when_training_or_loading():
    model = build_generator("lite", seed=14).prepare_for_inference(channels_last=True)
    layer, decoder = model.gatedconv3, model.decoder2.conv0
    assert layer.fused_weight is not None and decoder.upsampled_phases is not None
    model.load_state_dict(build_generator("lite", seed=15).state_dict())
    assert layer.fused_weight is None and decoder.upsampled_phases is None
    model.prepare_for_inference().train()
    assert layer.fused_weight is None and decoder.upsampled_phases is None
    assert "fused_weight" not in model.state_dict()


def test_folded_weights_are_dropped_when_training_or_loading():
    model = build_generator(preset("lite", attention="per-token"), seed=14).prepare_for_inference()
    bridger = model.pc2ftransformer
    layer = bridger.transformer.layers[0]
    assert layer._folded is not None and bridger._folded_projections is not None
    model.load_state_dict(build_generator(preset("lite", attention="per-token"), seed=15).state_dict())
    assert layer._folded is None and bridger._folded_projections is None
    model.prepare_for_inference().train()
    assert layer._folded is None and bridger._folded_projections is None


def test_first_attention_folded_into_the_projections_changes_nothing():
    model = _golden_like(build_generator(preset("lite", attention="per-token"), seed=0)).eval()
    levels = [torch.randn(1, c, 64 // 2**i, 96 // 2**i) for i, c in enumerate((16, 32, 64, 128), start=1)]
    with torch.inference_mode():
        expected = model.pc2ftransformer(levels)
        model.pc2ftransformer.fold_for_inference()
        got = model.pc2ftransformer(levels)
    assert model.pc2ftransformer._folded_projections is not None
    assert expected.std().item() > 0.1
    assert (got - expected).abs().max().item() < 1e-4


def test_attention_across_tokens_equals_torch_multihead_attention():
    layer = build_generator(preset("lite"), seed=16).pc2ftransformer.transformer.layers[0].eval()
    tokens = torch.randn(2, 40, layer.linear1.in_features)
    with torch.inference_mode():
        ours = layer._attention_across_tokens(tokens)
        theirs = layer.self_attn(tokens, tokens, tokens, need_weights=False)[0]
    assert (ours - theirs).abs().max().item() < 1e-5
