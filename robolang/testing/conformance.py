"""The robot contract as a reusable pytest suite: every backend, simulated or real, must pass it.

Subclass ``RobotConformanceSuite`` in a test module under a name pytest collects
(``Test...``) and implement ``make_robot``::

    class TestMyArmConformance(RobotConformanceSuite):
        def make_robot(self):
            return MyArm(MyArmConfig(port="/dev/null"))  # with the motor bus mocked

        def commands_sent(self, robot):
            return robot.bus.write.call_count  # optional: lets the suite prove rejects send nothing

Each test builds a fresh, not-yet-connected robot, so tests are independent and a real-arm
driver only ever talks to its mocked bus (STYLE.md 9: mock the bus, not the robot).

What a backend promises (DESIGN.md, "Contracts"):

- ``action_features`` are exactly ``robolang.features.ACTION_NAMES``, each ``float``, in that
  order; ``observation_features`` are the ``STATE_NAMES`` floats (in order) and one
  ``(H, W, 3)`` tuple per camera in ``CAMERA_NAMES``; both work while disconnected.
- ``get_observation`` returns exactly those keys: finite floats and uint8 images of the
  declared shape.
- ``send_action`` returns the action really applied: the action keys, finite, in [-1, 1].
  Out-of-range entries are clipped and named in ``last_clipped``.
- NaN, +-inf, wrong keys or a wrong length raise ``UnsafeActionError`` and **nothing reaches
  the robot**: no command is written, no time passes in a simulator, the robot does not move,
  and ``last_clipped`` keeps describing the last action that was applied. The suite checks
  this through ``commands_sent`` (when a backend can count what it sends) and by comparing
  proprioception before and after. Backends must hold still on a rejected action: a real
  arm keeps its last goal and a simulator does not step.
- Using a robot before ``connect()`` or after ``disconnect()`` raises
  ``RobotNotConnectedError``; connecting twice raises and leaves the first connection usable.
- ``is_calibrated`` is ``True`` once connected, and ``with robot:`` connects and disconnects.

What LeRobot's scripts (``lerobot-teleoperate``, ``lerobot-record``; lerobot 0.4.4) read from a
robot, so that they work with every backend:

- ``name`` (recorded as the dataset's ``robot_type``) equals ``config.type`` (what
  ``--robot.type`` selects) and ``robot_type``; ``id`` is ``config.id``;
- ``make_robot_from_config(robot.config)`` builds this robot class (LeRobot looks the class up
  by name beside its config: ``FooConfig`` -> ``Foo`` in the config's package);
- ``cameras`` has one entry per ``CAMERA_NAMES`` (``lerobot-record`` takes its ``len``), and it
  and both feature dicts work while disconnected and stay the same after a disconnect;
- the dataset features ``lerobot-record`` derives from the robot are robolang's (keys, dtypes,
  shapes and names of ``robolang.recording.features.dataset_features``);
- ``control_fps`` is a positive rate, and a LeRobot loop sending actions faster than it is
  refused with ``ControlRateError`` naming the flag to pass (``robolang/control_rate.py``).

This module is part of the core package: it imports only ``robolang`` and third-party code,
never ``sim`` or ``hardware``.
"""

from __future__ import annotations

import abc
import contextlib
import math
from collections.abc import Iterator, Mapping

import numpy as np
import pytest
from lerobot.robots import Robot, make_robot_from_config

from robolang.control_rate import ControlRateError
from robolang.features import ACTION_NAMES, CAMERA_NAMES, STATE_NAMES
from robolang.recording.features import dataset_features
from robolang.robot import EEDeltaRobot, RobotNotConnectedError
from robolang.safety import UnsafeActionError

ZERO_ACTION: dict[str, float] = {"dx": 0.0, "dy": 0.0, "dz": 0.0, "dyaw": 0.0, "gripper": -1.0}
# A gentle, in-range action: a small move with the gripper closing.
IN_RANGE_ACTION: dict[str, float] = {"dx": 0.3, "dy": -0.2, "dz": 0.1, "dyaw": -0.5, "gripper": 1.0}

# (action overrides, entries that must be reported clipped). Exactly +-1 is in range.
CLIP_CASES = [
    pytest.param({"dx": 5.0, "dz": -7.0, "dyaw": 1.0, "gripper": -1.0}, {"dx", "dz"}, id="large-both-signs"),
    pytest.param({"dy": 1.0 + 1e-9, "gripper": -3.0}, {"dy", "gripper"}, id="just-over-and-gripper"),
    pytest.param({k: 2.0 for k in ACTION_NAMES}, set(ACTION_NAMES), id="all-over"),
]

NON_FINITE = [pytest.param(math.nan, id="nan"), pytest.param(math.inf, id="+inf"), pytest.param(-math.inf, id="-inf")]

MALFORMED_ACTIONS = [
    pytest.param({k: 0.0 for k in ACTION_NAMES[:-1]}, id="missing-key"),
    pytest.param({**ZERO_ACTION, "droll": 0.0}, id="extra-key"),
    pytest.param({("x" if k == "dx" else k): 0.0 for k in ACTION_NAMES}, id="renamed-key"),
    pytest.param([0.0] * (len(ACTION_NAMES) - 1), id="too-short"),
    pytest.param([0.0] * (len(ACTION_NAMES) + 1), id="too-long"),
    pytest.param([], id="empty"),
    pytest.param({**ZERO_ACTION, "dx": "fast"}, id="non-numeric"),
]


def _is_float(value) -> bool:
    return isinstance(value, float | np.floating)


class RobotConformanceSuite(abc.ABC):
    """The robot contract as pytest tests; subclasses (``Test...``) implement ``make_robot``
    (abstract: a subclass that forgets it cannot be instantiated, so its tests error out)."""

    # ---- what a backend's test class provides ------------------------------------------------
    @abc.abstractmethod
    def make_robot(self) -> EEDeltaRobot:
        """A fresh robot that is not yet connected."""

    def commands_sent(self, robot: EEDeltaRobot) -> int | None:
        """A counter that grows whenever anything reaches the robot (a mocked bus's write count,
        a simulator's step count). ``None`` when a backend cannot count; then only
        proprioception is compared around a rejected action."""
        return None

    # ---- helpers (not collected: they do not start with ``test``) ----------------------------
    @contextlib.contextmanager
    def connected_robot(self) -> Iterator[EEDeltaRobot]:
        """A freshly made and connected robot, disconnected afterwards even when a test fails."""
        robot = self.make_robot()
        robot.connect()
        try:
            yield robot
        finally:
            if robot.is_connected:
                robot.disconnect()

    @staticmethod
    def proprioception(robot: EEDeltaRobot) -> np.ndarray:
        """(len(STATE_NAMES),) float64 proprioception from one observation."""
        obs = robot.get_observation()
        return np.asarray([obs[k] for k in STATE_NAMES], dtype=np.float64)

    def assert_rejected(self, robot: EEDeltaRobot, action, what: str) -> None:
        """``action`` must raise ``UnsafeActionError`` and leave the robot exactly as it was."""
        before = self.proprioception(robot)
        clipped_before = dict(robot.last_clipped)
        sent_before = self.commands_sent(robot)
        with pytest.raises(UnsafeActionError):
            robot.send_action(action)
        assert self.commands_sent(robot) == sent_before, f"{what}: a rejected action reached the robot"
        after = self.proprioception(robot)
        assert np.array_equal(before, after), (
            f"{what}: the robot moved on a rejected action: proprioception {before.tolist()} -> {after.tolist()}"
        )
        assert robot.last_clipped == clipped_before, f"{what}: last_clipped changed on a rejected action"

    def assert_valid_applied(self, applied) -> None:
        assert isinstance(applied, dict), f"send_action must return a dict, got {type(applied).__name__}"
        assert list(applied) == list(ACTION_NAMES), f"applied action keys {list(applied)} != {list(ACTION_NAMES)}"
        for k, v in applied.items():
            assert _is_float(v), f"applied {k} is {type(v).__name__}, not a float"
            assert math.isfinite(v), f"applied {k} = {v} is not finite"
            assert -1.0 <= v <= 1.0, f"applied {k} = {v} is outside [-1, 1]"

    # ---- identity ----------------------------------------------------------------------------
    def test_is_a_lerobot_robot(self):
        robot = self.make_robot()
        assert isinstance(robot, Robot) and isinstance(robot, EEDeltaRobot)
        assert isinstance(robot.name, str) and robot.name, "a robot needs a registry name for LeRobot's tools"
        assert isinstance(robot.config, robot.config_class)
        assert not robot.is_connected, "make_robot() must return a robot that is not yet connected"

    # ---- features ----------------------------------------------------------------------------
    def test_action_features_are_the_contract(self):
        robot = self.make_robot()
        assert list(robot.action_features.items()) == [(k, float) for k in ACTION_NAMES]

    def test_observation_features_while_disconnected(self):
        robot = self.make_robot()
        feats = robot.observation_features
        assert not robot.is_connected, "reading observation_features must not connect the robot"
        floats = [k for k, v in feats.items() if v is float]
        assert floats == list(STATE_NAMES), f"float features {floats} != STATE_NAMES {list(STATE_NAMES)}"
        cameras = {k: v for k, v in feats.items() if v is not float}
        assert set(cameras) == set(CAMERA_NAMES), f"camera features {sorted(cameras)} != {sorted(CAMERA_NAMES)}"
        for cam, shape in cameras.items():
            assert isinstance(shape, tuple) and len(shape) == 3, f"{cam}: shape {shape!r} is not (H, W, 3)"
            assert all(isinstance(n, int) and n > 0 for n in shape), f"{cam}: shape {shape!r} has a non-positive size"
            assert shape[2] == 3, f"{cam}: {shape[2]} channels, expected RGB (3)"

    # ---- observations ------------------------------------------------------------------------
    def test_observation_matches_features(self):
        with self.connected_robot() as robot:
            feats = robot.observation_features
            obs = robot.get_observation()
            assert set(obs) == set(feats), f"observation keys {sorted(obs)} != feature keys {sorted(feats)}"
            for k in STATE_NAMES:
                assert _is_float(obs[k]), f"{k} is {type(obs[k]).__name__}, not a float"
                assert math.isfinite(obs[k]), f"{k} = {obs[k]} is not finite"
            for cam in CAMERA_NAMES:
                img = obs[cam]
                assert isinstance(img, np.ndarray), f"{cam} is {type(img).__name__}, not an ndarray"
                assert img.dtype == np.uint8, f"{cam} dtype {img.dtype}, expected uint8"
                assert img.shape == feats[cam], f"{cam} shape {img.shape} != declared {feats[cam]}"

    # ---- actions -----------------------------------------------------------------------------
    def test_in_range_action_is_applied(self):
        with self.connected_robot() as robot:
            sent_before = self.commands_sent(robot)
            applied = robot.send_action(dict(IN_RANGE_ACTION))
            self.assert_valid_applied(applied)
            assert robot.last_clipped == {k: False for k in ACTION_NAMES}
            if sent_before is not None:
                assert self.commands_sent(robot) > sent_before, "a valid action did not reach the robot"

    def test_sequence_action_is_accepted(self):
        with self.connected_robot() as robot:
            applied = robot.send_action([IN_RANGE_ACTION[k] for k in ACTION_NAMES])
            self.assert_valid_applied(applied)

    @pytest.mark.parametrize(("overrides", "expected_clipped"), CLIP_CASES)
    def test_out_of_range_action_is_clipped(self, overrides, expected_clipped):
        with self.connected_robot() as robot:
            applied = robot.send_action({**ZERO_ACTION, **overrides})
            self.assert_valid_applied(applied)
            assert robot.last_clipped == {k: k in expected_clipped for k in ACTION_NAMES}
            # The next in-range action clears the marks.
            robot.send_action(dict(ZERO_ACTION))
            assert robot.last_clipped == {k: False for k in ACTION_NAMES}

    @pytest.mark.parametrize("bad", NON_FINITE)
    def test_non_finite_action_is_rejected(self, bad):
        with self.connected_robot() as robot:
            robot.send_action({**ZERO_ACTION, "dx": 3.0})  # so last_clipped has something to keep
            for k in ACTION_NAMES:
                self.assert_rejected(robot, {**ZERO_ACTION, k: bad}, f"{k}={bad}")
                self.assert_rejected(robot, [bad if n == k else ZERO_ACTION[n] for n in ACTION_NAMES], f"[{k}]={bad}")
            self.assert_valid_applied(robot.send_action(dict(ZERO_ACTION)))  # still usable

    @pytest.mark.parametrize("action", MALFORMED_ACTIONS)
    def test_malformed_action_is_rejected(self, action):
        with self.connected_robot() as robot:
            self.assert_rejected(robot, action, f"action {action!r}")
            self.assert_valid_applied(robot.send_action(dict(ZERO_ACTION)))

    # ---- connection --------------------------------------------------------------------------
    @staticmethod
    def _assert_unusable(robot) -> None:
        for call in (robot.get_observation, lambda: robot.send_action(dict(ZERO_ACTION)), robot.disconnect):
            with pytest.raises(RobotNotConnectedError):
                call()

    def test_use_before_connect_raises(self):
        robot = self.make_robot()
        assert not robot.is_connected
        self._assert_unusable(robot)

    def test_use_after_disconnect_raises(self):
        robot = self.make_robot()
        robot.connect()
        assert robot.is_connected
        robot.disconnect()
        assert not robot.is_connected
        self._assert_unusable(robot)

    def test_connect_twice_raises(self):
        with self.connected_robot() as robot:
            with pytest.raises(RuntimeError):
                robot.connect()
            assert robot.is_connected, "a failed second connect() must keep the first connection"
            robot.get_observation()

    def test_is_calibrated(self):
        with self.connected_robot() as robot:
            assert robot.is_calibrated is True

    def test_context_manager_connects_and_disconnects(self):
        robot = self.make_robot()
        with robot as entered:
            assert entered is robot
            assert robot.is_connected
            robot.get_observation()
        assert not robot.is_connected
        with pytest.raises(RobotNotConnectedError):
            robot.get_observation()

    def test_context_manager_disconnects_on_error(self):
        robot = self.make_robot()
        with pytest.raises(KeyError), robot:
            raise KeyError("boom")
        assert not robot.is_connected

    # ---- what LeRobot's scripts read ---------------------------------------------------------
    def test_lerobot_identity(self):
        robot = self.make_robot()
        assert robot.config.type == robot.name, (
            f"--robot.type={robot.config.type} builds a robot named {robot.name!r}; lerobot-record labels datasets "
            "with robot.name, so register the config under the robot's name"
        )
        assert robot.robot_type == robot.name
        assert robot.id == robot.config.id
        assert str(robot), "LeRobot's scripts log str(robot)"

    def test_lerobot_factory_builds_this_robot(self):
        robot = self.make_robot()
        built = make_robot_from_config(robot.config)  # what lerobot-teleoperate / lerobot-record call
        assert type(built) is type(robot), f"make_robot_from_config built {type(built).__name__}"
        assert not built.is_connected

    def test_cameras_and_features_while_disconnected(self):
        robot = self.make_robot()
        cameras, actions, observations = robot.cameras, robot.action_features, robot.observation_features
        assert len(cameras) == len(CAMERA_NAMES), (
            f"robot.cameras has {len(cameras)} entries; cameras are {CAMERA_NAMES}"
        )
        if isinstance(cameras, Mapping):
            assert set(cameras) == set(CAMERA_NAMES)
        assert not robot.is_connected, "reading cameras or features must not connect the robot"
        robot.connect()
        robot.disconnect()
        assert len(robot.cameras) == len(CAMERA_NAMES)
        assert robot.action_features == actions and robot.observation_features == observations

    def test_lerobot_record_dataset_features(self):
        from lerobot.datasets.pipeline_features import aggregate_pipeline_dataset_features, create_initial_features
        from lerobot.datasets.utils import combine_feature_dicts
        from lerobot.processor import make_default_processors

        robot = self.make_robot()
        teleop_processor, _, observation_processor = make_default_processors()
        theirs = combine_feature_dicts(  # as lerobot_record.record() builds them
            aggregate_pipeline_dataset_features(
                teleop_processor, create_initial_features(action=robot.action_features)
            ),
            aggregate_pipeline_dataset_features(
                observation_processor, create_initial_features(observation=robot.observation_features)
            ),
        )
        ours = dataset_features({cam: robot.camera_shape(cam) for cam in CAMERA_NAMES})
        assert set(theirs) == set(ours), f"lerobot-record would write {sorted(theirs)}, robolang {sorted(ours)}"
        for key, feature in ours.items():
            got = theirs[key]
            assert (got["dtype"], tuple(got["shape"]), list(got["names"])) == (
                feature["dtype"],
                tuple(feature["shape"]),
                list(feature["names"]),
            ), f"{key}: lerobot-record {got} != robolang {feature}"

    def test_lerobot_loop_faster_than_control_fps_is_refused(self):
        from lerobot.processor import make_default_processors
        from lerobot.scripts.lerobot_teleoperate import teleop_loop

        class HoldStill:  # all teleop_loop asks of a teleoperator
            def get_action(self):
                return dict(ZERO_ACTION)

        with self.connected_robot() as robot:
            assert robot.control_fps > 0
            fps = round(robot.control_fps)
            with pytest.raises(ControlRateError, match=f"--fps={fps} .*--dataset.fps={fps}"):
                # LeRobot's default rate; 5 s is far longer than the few steps the guard needs
                teleop_loop(HoldStill(), robot, max(60, 6 * fps), *make_default_processors(), duration=5.0)
