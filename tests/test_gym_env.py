"""The gymnasium view of the play table: API conformance, registration, seeding and safety."""

from __future__ import annotations

import importlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim
from robolang.safety import UnsafeActionError
from sim.gym_env import PlayTableEnv

# Small cameras keep rendering cheap; the API does not depend on the image size.
SMALL = {"static_width": 64, "static_height": 48, "wrist_width": 32, "wrist_height": 32}


@pytest.fixture
def env():
    e = PlayTableEnv(**SMALL)
    yield e
    e.close()


def test_check_env_passes_without_warnings():
    env = gym.make(sim.ENV_ID, **SMALL)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # With a spec, check_env also builds the env with every render mode and closes twice.
            check_env(env.unwrapped)
        assert [str(w.message) for w in caught] == []
    finally:
        env.close()


def test_check_env_passes_through_make_wrappers():
    env = gym.make(sim.ENV_ID, **SMALL)
    try:
        with warnings.catch_warnings():
            # check_env warns that it was given a wrapper; that is the point of this test.
            warnings.simplefilter("ignore")
            check_env(env)
    finally:
        env.close()


def test_make_after_import_sim_and_registration_is_idempotent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second registration must neither fail nor warn
        importlib.reload(sim)
    spec = gym.spec(sim.ENV_ID)
    assert spec.entry_point == "sim.gym_env:PlayTableEnv"
    assert spec.max_episode_steps == sim.MAX_EPISODE_STEPS
    env = gym.make(sim.ENV_ID, max_episode_steps=3, **SMALL)
    try:
        obs, info = env.reset(seed=0)
        assert obs["static"].shape == (48, 64, 3) and obs["static"].dtype == np.uint8
        assert obs["wrist"].shape == (32, 32, 3)
        assert obs["state"].shape == (12,) and obs["state"].dtype == np.float32
        assert "scene_state" in info
        truncations = [env.step(env.action_space.sample())[3] for _ in range(3)]
        assert truncations == [False, False, True]  # TimeLimit from the registration
    finally:
        env.close()


def _assert_obs_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_same_seed_gives_identical_first_observation(env):
    first, _ = env.reset(seed=7)
    env.reset(seed=8)
    again, _ = env.reset(seed=7)
    _assert_obs_equal(first, again)
    other = PlayTableEnv(**SMALL)
    try:
        fresh, _ = other.reset(seed=7)
        _assert_obs_equal(first, fresh)
        different, _ = other.reset(seed=8)
        assert not np.array_equal(first["static"], different["static"])
    finally:
        other.close()


def test_unseeded_resets_follow_the_first_seed(env):
    env.reset(seed=3)
    _, info_a = env.reset()
    obs_a, _ = env.reset()
    env.reset(seed=3)
    _, info_b = env.reset()
    obs_b, _ = env.reset()
    _assert_obs_equal(obs_a, obs_b)
    assert info_a["seed"] == info_b["seed"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises(env, bad):
    env.reset(seed=0)
    before = env.scene.get_state()
    action = np.zeros(5, dtype=np.float32)
    action[2] = bad
    with pytest.raises(UnsafeActionError):
        env.step(action)
    assert env.scene.step_count == before["step_count"]  # nothing reached the physics


def test_non_finite_action_raises_through_make():
    env = gym.make(sim.ENV_ID, **SMALL)
    try:
        env.reset(seed=0)
        with pytest.raises(UnsafeActionError):
            env.step(np.array([0, np.nan, 0, 0, 0], dtype=np.float32))
    finally:
        env.close()


def test_wrong_action_shape_raises(env):
    env.reset(seed=0)
    with pytest.raises(UnsafeActionError):
        env.step(np.zeros(4, dtype=np.float32))


def test_step_clips_and_reports_what_was_applied(env):
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(np.array([1.5, 0.0, 0.0, -3.0, 2.0]))
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["clipped"].tolist() == [True, False, False, True, True]
    applied = info["applied_action"]
    assert applied.shape == (5,) and applied.dtype == np.float32
    assert np.all(np.abs(applied) <= 1.0)
    assert applied[0] == pytest.approx(1.0) and applied[4] == pytest.approx(1.0)
    assert obs in env.observation_space
    assert set(info["scene_state"]) >= {"objects", "fixtures", "light_on", "robot", "contacts"}


def test_applied_action_is_the_delayed_one_under_latency():
    # With one step of action latency the world applies the previous (hold: open gripper,
    # no motion) action first; info must say so rather than echo the command.
    env = PlayTableEnv(world={"action_latency_steps": [1, 1]}, **SMALL)
    try:
        env.reset(seed=0)
        first = env.step(np.array([1.0, 0.0, 0.0, 0.0, 1.0]))[4]["applied_action"]
        second = env.step(np.zeros(5))[4]["applied_action"]
        assert first.tolist() == [0.0, 0.0, 0.0, 0.0, -1.0]
        assert second[0] == pytest.approx(1.0) and second[4] == 1.0
    finally:
        env.close()


def test_render_rgb_array_is_the_static_image():
    env = PlayTableEnv(render_mode="rgb_array", **SMALL)
    try:
        obs, _ = env.reset(seed=1)
        assert np.array_equal(env.render(), obs["static"])
    finally:
        env.close()
    assert PlayTableEnv.metadata["render_modes"] == ["rgb_array"]
    with pytest.raises(ValueError):
        PlayTableEnv(render_mode="human")


def test_world_accepts_hydra_style_containers():
    from omegaconf import OmegaConf

    world = OmegaConf.create({"name": "t", "friction": [0.5, 0.9], "light_intensity": [0.7, 0.8]})
    env = PlayTableEnv(world=world, **SMALL)
    try:
        assert env.scene.config.world.friction == (0.5, 0.9)
        env.reset(seed=0)
        assert 0.5 <= next(iter(env.scene.world.friction.values())) <= 0.9
    finally:
        env.close()


def test_close_twice_is_allowed():
    env = PlayTableEnv(**SMALL)
    env.close()
    env.close()
