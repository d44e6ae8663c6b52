"""A training run's settings are checked when they are made, each error naming its setting."""

from __future__ import annotations

import pytest

from ptgfill_cli.errors import SettingError
from ptgfill_cli.training.settings import PERCEPTUAL_WEIGHTS, LossWeights, TrainConfig, TrainData, loss_weights_for


@pytest.mark.parametrize(("changes", "setting"), [
    ({"preset": "lyte"}, "preset"),
    ({"attention": "tokenz"}, "attention"),
    ({"size": 0}, "size"),
    ({"size": -64}, "size"),
    ({"size": 100}, "size"),
    ({"load_size": 64, "size": 128}, "load_size"),
    ({"num_workers": -1}, "num_workers"),
    ({"lr_g": -1.0}, "lr_g"),
    ({"lr_d": float("nan")}, "lr_d"),
    ({"checkpoint_every": 0}, "checkpoint_every"),
    ({"log_every": 0}, "log_every"),
    ({"keep_last": 0}, "keep_last"),
    ({"val_every": -1}, "val_every"),
    ({"ema_decay": 2.0}, "ema_decay"),
    ({"precision": "fp8"}, "precision"),
    ({"crop_scale": (0.5, 0.2)}, "crop_scale"),
    ({"time_limit": -5.0}, "time_limit"),
    ({"mode": "both"}, "mode"),
])
def test_a_bad_run_setting_is_refused_naming_it(changes: dict, setting: str) -> None:
    with pytest.raises(SettingError) as caught:
        TrainConfig(**changes)
    assert caught.value.setting == setting and str(caught.value).startswith(f"{setting} ")


@pytest.mark.parametrize("weight", [float("inf"), float("nan"), -0.5])
def test_loss_weights_must_be_finite_and_not_negative(weight: float) -> None:
    with pytest.raises(SettingError, match="losses.hole must be a finite weight"):
        LossWeights(hole=weight)


@pytest.mark.parametrize(("changes", "setting"), [
    ({"val_fraction": -0.1}, "val_fraction"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction"),
    ({"val_count": -1}, "val_count"),
    ({"source_weights": (1.0, float("inf"))}, "source_weights"),
    ({"source_weights": (0.0, 0.0)}, "source_weights"),
])
def test_bad_data_settings_are_refused_naming_them(changes: dict, setting: str) -> None:
    with pytest.raises(SettingError) as caught:
        TrainData(("a", "b"), **changes)
    assert caught.value.setting == setting


def test_the_defaults_are_valid_and_a_checkpoint_s_dict_comes_back_equal() -> None:
    config = TrainConfig(losses=loss_weights_for("mobilenet", hole=4.0))
    assert TrainConfig(**config.to_dict()) == config
    assert config.losses.hole == 4.0 and (config.losses.perceptual, config.losses.style) == PERCEPTUAL_WEIGHTS["mobilenet"]
    assert loss_weights_for("vgg") == LossWeights()
