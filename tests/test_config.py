"""Configs: hydra composition of the world variants, and bad values caught where they are read."""

import pytest
from omegaconf import OmegaConf

from robolang.config import ConfigError, checked, load_config
from robolang.errors import RobolangError


def test_config_composes_world_variants():
    cfg = load_config("play", ["world=heldout"])
    assert cfg.world.heldout is True
    assert cfg.robot.config.world.name == "heldout"  # interpolated into the robot
    with pytest.raises(ConfigError, match="cannot load config"):
        load_config("play", ["robot.config.nope=1"])


CFG = OmegaConf.create({"steps": 5, "lr": 3e-4, "name": "chunk", "flag": True, "train": {"batch": 0}, "none": None})


@pytest.mark.parametrize(
    ("key", "kind", "bounds", "value"),
    [
        ("steps", int, {"low": 1}, 5),
        ("lr", float, {"low": 0.0}, 3e-4),
        ("steps", float, {}, 5.0),  # an integer is a number
        ("name", str, {"choices": ("chunk", "ensemble")}, "chunk"),
        ("flag", bool, {}, True),
        ("none", int, {"optional": True}, None),
    ],
)
def test_checked_returns_good_values(key, kind, bounds, value):
    assert checked(CFG, key, kind, **bounds) == value


@pytest.mark.parametrize(
    ("key", "kind", "bounds", "message"),
    [
        ("train.batch", int, {"low": 1}, "train.batch=0 is not allowed: train.batch must be an integer >= 1"),
        ("steps", int, {"high": 3}, "steps=5 is not allowed: steps must be an integer <= 3"),
        ("name", str, {"choices": ("a", "b")}, "name='chunk' is not allowed: name must be one of a, b"),
        ("flag", int, {}, "flag=True is not allowed"),  # a bool is not a count
        ("lr", int, {}, "lr=0.0003 is not allowed: lr must be an integer"),
        ("missing", int, {}, "missing=None is not allowed"),
        ("steps", int, {"low": 0, "high": 4}, "an integer from 0 to 4"),
    ],
)
def test_checked_names_key_value_and_what_is_allowed(key, kind, bounds, message):
    with pytest.raises(ConfigError) as caught:
        checked(CFG, key, kind, **bounds)
    assert message in str(caught.value)
    assert isinstance(caught.value, RobolangError)


@pytest.mark.parametrize("name", ["train", "eval", "baseline_act"])
def test_the_torch_device_is_settable_beside_the_teleop_device_group(name):
    """`device` is the teleop device group; a plain `device=cuda` used to collide with it."""
    assert load_config(name, ["torch_device=cuda"]).torch_device == "cuda"
    assert load_config("teleop", ["device=gamepad"]).device._target_.endswith("Gamepad")


@pytest.mark.parametrize(
    ("verb", "said"), [("train", "torch_device='tpu' is not allowed"), ("eval", "torch_device='tpu'")]
)
def test_a_bad_torch_device_is_one_line(verb, said, tmp_path, capsys):
    from robolang import cli

    assert cli.main([verb, "torch_device=tpu", f"out={tmp_path / 'x'}"]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
