"""The deployable state policy: a state estimator's reading of the cameras feeds a state policy
(trained without contact flags); composed into one folder, loaded and run like any policy, on the
robot's own observation (no simulator state)."""

import numpy as np
import pytest
from helpers.eval_robot import connected_robot
from test_estimator import render_cfg, rendered  # noqa: F401 (module fixtures: frames rendered once)
from test_policy_state import FIELDS, _labelled, _train

from robolang import cli
from robolang.evaluation.rollout import PolicyController, run_episode
from robolang.features import STATE_NAMES
from robolang.perception.layout import EstimatorLayout
from robolang.policy import CheckpointError, load_policy
from robolang.policy.estimated_state import (
    GRASP_OFFSET_M,
    HELD_REACH_M,
    EstimatedStatePolicy,
    SceneFromEstimate,
    held_in_hand,
)

SHAPES = {"red_cube": "cube", "green_cube": "cube", "blue_bar": "bar", "yellow_cylinder": "cylinder", "plate": ""}


@pytest.fixture(scope="module")
def parts(rendered, tmp_path_factory):  # noqa: F811
    """A tiny estimator (32 px) and two tiny state policies: without and with contact flags."""
    root = tmp_path_factory.mktemp("deployable")
    estimator = root / "estimator"
    assert cli.main(["estimator", "train", f"data={rendered[0]}", f"out={estimator}", "threads=1",
                     "torch_device=cpu", "train.batch_size=4", "train.warmup_steps=1", "train.steps=2",
                     "model.channels=[8,16]", "model.strides=[1,2]", "model.hidden=32"]) == 0  # fmt: skip
    play = _labelled(root / "play")
    assert _train(play, root / "state", "policy.contacts=false") == 0
    assert _train(play, root / "contacts") == 0
    return root, estimator


def test_the_estimate_fills_the_scene_vector_the_state_policy_reads():
    scene = SceneFromEstimate(EstimatorLayout.from_fields(FIELDS, SHAPES), FIELDS)
    position = np.arange(15, dtype=np.float32).reshape(1, 5, 3) / 10
    yaw = np.array([[0.3, -0.2, 1.0, np.nan, np.nan]], np.float32)
    estimate = {"position": position, "yaw": yaw, "fixture": np.array([[0.1, 0.2, 0.003]], np.float32),
                "switch": np.array([[0.8]], np.float32)}  # fmt: skip
    state = np.arange(len(STATE_NAMES), dtype=np.float32) + 1
    vector = scene(estimate, state)
    at = {name: vector[i] for i, name in enumerate(FIELDS)}
    assert vector.shape == (len(FIELDS),) and vector.dtype == np.float32
    assert at["green_cube.x"] == pytest.approx(0.3) and at["plate.z"] == pytest.approx(1.4)
    assert at["red_cube.yaw"] == pytest.approx(0.3) and at["yellow_cylinder.yaw"] == 0  # no visible yaw: 0
    assert at["red_cube.qz"] == pytest.approx(np.sin(0.15)) and at["red_cube.qw"] == pytest.approx(np.cos(0.15))
    assert at["red_cube.qx"] == 0 and at["plate.qw"] == 1  # upright
    assert at["drawer.pos"] == pytest.approx(0.1) and at["light.on"] == 1
    assert [at[n] for n in ("ee.x", "ee.y", "ee.z", "ee.yaw", "gripper.width")] == [1, 2, 3, 4, 5]
    assert all(at[f] == 0 for f in FIELDS if f.startswith("contact."))


def test_an_object_in_the_hand_is_placed_at_the_grasp_point_only_while_the_fingers_hold_something():
    names = {n: i for i, n in enumerate(STATE_NAMES)}
    state = np.zeros(len(STATE_NAMES), np.float32)
    state[[names["ee.x"], names["ee.y"], names["ee.z"]]] = (0.4, 0.1, 0.15)
    grasp = np.array([0.4, 0.1, 0.15], np.float32) + GRASP_OFFSET_M
    read = np.array([[0.41, 0.09, 0.10], [0.2, -0.2, 0.02], [0.4, 0.1, 0.0]], np.float32)  # held, far, plate below
    for width, moved in ((0.04, True), (0.08, False), (0.0, False)):  # holding; open; closed on nothing
        position = read.copy()
        state[names["gripper.width"]] = width
        held_in_hand(position, state)
        np.testing.assert_allclose(position[0], grasp if moved else read[0])
        np.testing.assert_array_equal(position[1:], read[1:])  # nothing else moves
    state[names["gripper.width"]] = 0.04
    position = read.copy()
    position[0] = grasp + (HELD_REACH_M + 0.01, 0, 0)  # nothing read near the hand: nothing moves
    before = position.copy()
    held_in_hand(position, state)
    np.testing.assert_array_equal(position, before)
    layout = EstimatorLayout.from_fields(FIELDS, SHAPES)
    estimate = {"position": np.zeros((1, 5, 3), np.float32), "yaw": np.zeros((1, 5), np.float32),
                "fixture": np.zeros((1, 3), np.float32), "switch": np.zeros((1, 1), np.float32)}  # fmt: skip
    estimate["position"][0, 0] = (0.41, 0.09, 0.10)
    for held, expected in ((False, (0.41, 0.09, 0.10)), (True, grasp)):
        vector = SceneFromEstimate(layout, FIELDS, held_from_gripper=held)(estimate, state)
        np.testing.assert_allclose([vector[FIELDS.index(f"red_cube.{a}")] for a in "xyz"], expected, atol=1e-6)


def test_the_object_the_fingers_closed_on_stays_in_the_hand_wherever_it_is_read_until_they_open():
    names = {n: i for i, n in enumerate(STATE_NAMES)}
    state = np.zeros(len(STATE_NAMES), np.float32)
    state[[names["ee.x"], names["ee.y"], names["ee.z"]]] = (0.4, 0.1, 0.05)
    state[names["gripper.width"]] = 0.04
    grasp = np.array([0.4, 0.1, 0.05], np.float32) + GRASP_OFFSET_M
    read = np.array([[0.41, 0.09, 0.03], [0.2, -0.2, 0.02]], np.float32)
    position = read.copy()
    holding = held_in_hand(position, state)  # the fingers close on the red cube
    assert holding == 0
    state[names["ee.z"]] = 0.25  # lifted high: the cameras read it back on the table, 20 cm from the hand
    lifted = np.array([[0.36, 0.12, 0.025], [0.2, -0.2, 0.02]], np.float32)
    position = lifted.copy()
    assert held_in_hand(position, state) is None  # without the memory: out of reach, left on the table
    np.testing.assert_array_equal(position, lifted)
    position = lifted.copy()
    assert held_in_hand(position, state, holding) == 0  # with it: still in the hand
    np.testing.assert_allclose(position[0], grasp + (0, 0, 0.2))
    np.testing.assert_array_equal(position[1], lifted[1])
    state[names["gripper.width"]] = 0.08  # let go: read where the cameras see it again
    position = lifted.copy()
    assert held_in_hand(position, state, holding) is None
    np.testing.assert_array_equal(position, lifted)
    layout = EstimatorLayout.from_fields(FIELDS, SHAPES)
    scene = SceneFromEstimate(layout, FIELDS, held_from_gripper=True)
    estimate = {"position": np.zeros((1, 5, 3), np.float32), "yaw": np.zeros((1, 5), np.float32),
                "fixture": np.zeros((1, 3), np.float32), "switch": np.zeros((1, 1), np.float32)}  # fmt: skip
    estimate["position"][0, 0] = (0.41, 0.09, 0.03)
    state[names["gripper.width"]], state[names["ee.z"]] = 0.04, 0.05
    scene(estimate, state)
    assert scene.holding == 0
    scene.reset()  # a new episode: nothing in the hand
    assert scene.holding is None


def test_compose_refuses_a_state_policy_that_reads_contacts_and_an_existing_folder(parts, capsys):
    root, estimator = parts
    args = ["estimator", "compose", f"estimator={estimator}"]
    assert cli.main([*args, f"state_policy={root / 'contacts'}", f"out={root / 'bad'}"]) == 2
    assert "policy.contacts=false" in capsys.readouterr().err and not (root / "bad").exists()
    assert cli.main([*args, f"state_policy={estimator}", f"out={root / 'bad'}"]) == 2  # an estimator is no policy
    assert not (root / "bad").exists()
    capsys.readouterr()
    assert cli.main([*args, f"state_policy={root / 'state'}", f"out={root / 'deployable'}"]) == 0
    assert cli.main([*args, f"state_policy={root / 'state'}", f"out={root / 'deployable'}"]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.fixture(scope="module")
def robot():
    yield from connected_robot()


def test_the_composed_policy_acts_on_the_robot_s_own_observation(parts, robot):
    root, estimator = parts
    out = root / "acting"
    assert (
        cli.main(["estimator", "compose", f"estimator={estimator}", f"state_policy={root / 'state'}", f"out={out}"])
        == 0
    )
    policy = load_policy(out)
    assert isinstance(policy, EstimatedStatePolicy) and not policy.privileged and policy.name == "estimated_state"
    assert policy.scene.held_from_gripper  # on by default
    raw = root / "acting_raw"
    args = ["estimator", "compose", f"estimator={estimator}", f"state_policy={root / 'state'}"]
    assert cli.main([*args, f"out={raw}", "held_from_gripper=false"]) == 0
    assert not load_policy(raw).scene.held_from_gripper
    assert cli.main([*args, f"out={root / 'bad_held'}", "held_from_gripper=sometimes"]) == 2
    assert not (root / "bad_held").exists()
    assert policy.observation_features == {"static": (32, 32, 3), "wrist": (32, 32, 3), "observation.state": (12,)}
    policy.check_robot(robot.observation_features)
    result = run_episode(robot, PolicyController(policy), "open the drawer", "open_drawer", (), 0, 12)
    assert result.steps == 12 and result.judged  # PolicyController gives only cameras + proprioception
    assert result.estimate is None  # no object named: nothing to score
    # the evaluation scores the estimate it acted on against the scene its frame showed
    lift = run_episode(robot, PolicyController(policy), "lift the red cube", "lift", ("red_cube",), 0, 1)
    names, acted_on = policy.last_estimate
    robot.reset(0)
    truth, index = robot.scene_vector(), {f: i for i, f in enumerate(robot.scene_fields)}
    red = [f"red_cube.{a}" for a in "xyz"]
    expected = np.linalg.norm(acted_on[[names.index(f) for f in red]] - truth[[index[f] for f in red]])
    assert lift.estimate == pytest.approx(expected, abs=1e-6)
    policy.scene.holding = 0  # as if the last episode ended with an object in the hand
    policy.reset()
    assert policy.last_estimate is None and policy.scene.holding is None
    vector = policy.estimate(robot.get_observation())
    assert vector.shape == (len(FIELDS),) and np.all(np.isfinite(vector))
    with pytest.raises(CheckpointError, match=r"camera 'static' gives \(64, 64, 3\)"):
        policy.check_robot({**robot.observation_features, "static": (64, 64, 3)})


def test_an_ensemble_of_state_policies_composes_with_the_estimator_and_acts(parts, robot, capsys):
    root, estimator = parts
    ensemble, out = root / "state_twice", root / "deployable_ensemble"
    assert cli.main(["ensemble", f"members=[{root / 'state'},{root / 'state'}]", f"out={ensemble}"]) == 0
    assert cli.main(["estimator", "compose", f"estimator={estimator}", f"state_policy={ensemble}", f"out={out}"]) == 0
    policy = load_policy(out)
    assert isinstance(policy, EstimatedStatePolicy) and not policy.privileged
    assert policy.state_policy.name == "ensemble of 2 privileged_state"
    result = run_episode(robot, PolicyController(policy), "open the drawer", "open_drawer", (), 0, 3)
    assert result.steps == 3
    mixed = root / "mixed"  # a member reading contact flags makes the ensemble read them: refused
    assert cli.main(["ensemble", f"members=[{root / 'state'},{root / 'contacts'}]", f"out={mixed}"]) == 0
    capsys.readouterr()
    assert (
        cli.main(["estimator", "compose", f"estimator={estimator}", f"state_policy={mixed}", f"out={root / 'no'}"]) == 2
    )
    assert "policy.contacts=false" in capsys.readouterr().err and not (root / "no").exists()


def test_dagger_refuses_a_policy_whose_cameras_are_not_the_robot_s_before_recording(parts, tmp_path, capsys):
    root, estimator = parts
    composed = tmp_path / "composed"
    assert cli.main(["estimator", "compose", f"estimator={estimator}", f"state_policy={root / 'state'}",
                     f"out={composed}"]) == 0  # fmt: skip
    sizes = [f"robot.config.{k}=64" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
    capsys.readouterr()
    assert cli.main(["dagger", f"checkpoint={composed}", f"out={tmp_path / 'dagger'}", *sizes]) == 2
    assert "camera 'static' gives (64, 64, 3)" in capsys.readouterr().err and not (tmp_path / "dagger").exists()


def test_ask_takes_the_composed_folder_and_refuses_its_privileged_state_policy(parts, tmp_path, capsys):
    root, estimator = parts
    composed = tmp_path / "composed"
    assert cli.main(["estimator", "compose", f"estimator={estimator}", f"state_policy={root / 'state'}",
                     f"out={composed}"]) == 0  # fmt: skip
    fast = [*(f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")),
            "max_steps=3", "match_tasks=[open_drawer,close_drawer]", "gui=false"]  # fmt: skip
    video = tmp_path / "ask.mp4"
    capsys.readouterr()
    assert cli.main(["ask", "open the drawer", "--checkpoint", str(composed), f"out={video}", *fast]) == 0
    assert "(task open_drawer), 3 steps" in capsys.readouterr().out and video.exists()
    assert cli.main(["ask", "open the drawer", "--checkpoint", str(root / "state"), *fast]) == 2  # privileged alone
    assert "privileged" in capsys.readouterr().err
