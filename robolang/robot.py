"""The robot contract: a ``lerobot.robots.Robot`` with normalized end-effector delta actions.

Every backend (the PyBullet play table, every real arm) subclasses ``EEDeltaRobot`` and
implements four small hooks. The base class owns what must be identical everywhere:
connection guarding (in one place), NaN rejection, clipping, scaling by the robot's limits,
and returning the action that was really applied.
"""

from __future__ import annotations

import abc
import sys
import time
import types
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robolang.control_rate import ControlRateGuard, called_from_lerobot
from robolang.errors import RobolangError
from robolang.features import ACTION_NAMES, CAMERA_NAMES, CONTROL_FPS, STATE_NAMES
from robolang.safety import action_to_array, array_to_action, clip_normalized, reject_non_finite


def _import_lerobot_robots() -> types.ModuleType:
    """LeRobot's ``lerobot.robots`` package, without importing all of ``lerobot.processor``.

    ``lerobot/robots/robot.py`` (0.4.4) imports two type aliases from ``lerobot.processor``, whose
    package ``__init__`` imports transformers and torchvision: ~4 s of the ~7 s that
    ``robolang ask`` spent before its first step, for nothing any robot uses. While the robot
    module loads, the two aliases are served from a stand-in module that is removed afterwards,
    so a later ``import lerobot.processor`` (LeRobot's scripts, the recorder) loads the real one.
    Where the real one is already loaded, it is used as is. Every robolang module takes
    ``Robot`` and ``RobotConfig`` from here, so whichever is imported first gets the light path.
    """
    if "lerobot.robots.robot" in sys.modules or "lerobot.processor" in sys.modules:
        import lerobot.robots

        return lerobot.robots
    stand_in = types.ModuleType("lerobot.processor")
    stand_in.RobotAction = dict[str, Any]  # the aliases as lerobot/processor/core.py defines them
    stand_in.RobotObservation = dict[str, Any]
    sys.modules["lerobot.processor"] = stand_in
    try:
        import lerobot.robots
    except ImportError:  # another LeRobot wants more of the package: forget the partial import, load it whole
        for name in [m for m in sys.modules if m.startswith("lerobot.robots")]:
            del sys.modules[name]
        sys.modules.pop("lerobot.processor", None)
        import lerobot.robots
    finally:
        if sys.modules.get("lerobot.processor") is stand_in:
            del sys.modules["lerobot.processor"]
    return lerobot.robots


_lerobot_robots = _import_lerobot_robots()
Robot, RobotConfig = _lerobot_robots.Robot, _lerobot_robots.RobotConfig


class RobotNotConnectedError(RuntimeError):
    """Raised when a robot is used before ``connect()`` or after ``disconnect()``."""


class RobotFault(RobolangError, RuntimeError):
    """The arm cannot go on: its controller stopped it (a protective or emergency stop), the
    connection was lost, or a sensor stopped answering. The message names which and what to do.
    ``robolang deploy`` and teleop stop on it and keep the episode recorded so far."""


@runtime_checkable
class Simulator(Protocol):
    """What a simulated robot adds to the contract; real arms have none of it.

    Everything that needs a simulator (seeded resets, the privileged scene state for
    captioning and judging, save/restore) asks ``is_simulator(robot)`` and nothing else.
    """

    scene_fields: tuple[str, ...]  # names of ``scene_vector()`` entries

    def reset(self, seed: int | None = None) -> dict: ...

    def scene_state(self) -> dict: ...

    def scene_vector(self) -> np.ndarray: ...

    def scene_description(self) -> dict: ...

    def health_monitor(self) -> Any: ...

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> None: ...


def is_simulator(robot: object) -> bool:
    """True when ``robot`` implements the ``Simulator`` protocol (seeded reset, scene state, save/restore)."""
    return isinstance(robot, Simulator)


@dataclass(frozen=True)
class EEDeltaLimits:
    """Physical size of a full-scale (|a| = 1) action, per control step.

    Defaults: 2 cm and ~8.6 deg per 10 Hz step, i.e. 0.2 m/s and ~86 deg/s at full scale,
    a comfortable speed for tabletop play (CALVIN's relative actions use the same 2 cm scale).
    """

    translation_m: float = 0.02
    yaw_rad: float = 0.15

    def scale(self, normalized: np.ndarray) -> np.ndarray:
        """(5,) normalized action -> (dx, dy, dz [m], dyaw [rad], gripper [-1, 1])."""
        out = normalized.astype(np.float64).copy()
        out[:3] *= self.translation_m
        out[3] *= self.yaw_rad
        return out

    def normalize(self, physical: np.ndarray) -> np.ndarray:
        """Inverse of ``scale``: (dx, dy, dz [m], dyaw [rad], gripper) -> normalized (5,)."""
        out = np.asarray(physical, dtype=np.float64).copy()
        out[:3] /= self.translation_m
        out[3] /= self.yaw_rad
        return out


class EEDeltaRobot(Robot, abc.ABC):
    """Base class for every robolang robot, simulated or real.

    Subclasses implement ``_connect``, ``_disconnect``, ``_read_observation`` and
    ``_apply_action``. ``send_action`` validates, clips and returns what was applied;
    ``last_clipped`` says which entries of the last action were out of range.
    """

    limits: EEDeltaLimits = EEDeltaLimits()
    control_fps: int = CONTROL_FPS  # the rate the action scale assumes: one action per 1/control_fps s
    # The box (low xyz, high xyz; m, base frame) the end effector may be commanded into, when the
    # backend knows one (the sim's reachable table region; a real arm's from its config). The
    # deploy loop's safety layer keeps every command inside it; None: deploy asks for one.
    workspace: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None

    def __init__(self, config):
        super().__init__(config)
        self.config = config  # LeRobot's tools read robot.config
        self._connected = False
        self.last_clipped: dict[str, bool] = {k: False for k in ACTION_NAMES}
        self._observed_at = -float("inf")
        self._rate_guard = ControlRateGuard()

    # ---- lerobot.Robot members ---------------------------------------------------------
    @property
    def action_features(self) -> dict:
        return {k: float for k in ACTION_NAMES}

    @property
    def observation_features(self) -> dict:
        feats: dict = {k: float for k in STATE_NAMES}
        for cam in CAMERA_NAMES:
            feats[cam] = self.camera_shape(cam)
        return feats

    @property
    def cameras(self) -> Any:
        """The robot's cameras, read by LeRobot's scripts even while disconnected
        (``lerobot-record`` sizes its image writer by ``len(robot.cameras)``). By default a dict
        ``CAMERA_NAMES`` -> None (a simulator renders them); a driver assigns its own
        (``self.cameras = ...``), which must have one entry per name in ``CAMERA_NAMES``."""
        cameras = getattr(self, "_cameras", None)
        return cameras if cameras is not None else dict.fromkeys(CAMERA_NAMES)

    @cameras.setter
    def cameras(self, cameras: Any) -> None:
        self._cameras = cameras

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        """End-effector control needs no motor calibration at this level."""

    def configure(self) -> None:
        """Nothing to configure beyond what ``connect`` does."""

    def connect(self, calibrate: bool = True) -> None:
        if self._connected:
            raise RuntimeError(f"{self} is already connected")
        self._connect()
        self._connected = True
        self._rate_guard.reset()

    def disconnect(self) -> None:
        self._require_connected()
        self._disconnect()
        self._connected = False

    def get_observation(self) -> dict:
        self._require_connected()
        obs = self._read_observation()
        self._observed_at = time.monotonic()
        return obs

    def data_timestamp(self) -> float:
        """``time.monotonic()`` of the oldest sensor reading in the last observation (a camera
        frame, the arm's state). The deploy loop's watchdog holds the arm when it is too old.
        The base class says: when ``get_observation`` returned (a simulator renders on demand);
        real drivers override it with their cameras' and controller's own capture times."""
        return self._observed_at

    def send_action(self, action) -> dict[str, float]:
        """Validate, clip and apply one normalized action; return the action really applied.

        NaN or inf raises ``UnsafeActionError`` before anything is sent. Values outside
        [-1, 1] are clipped; ``last_clipped`` names them. LeRobot's loops that send actions faster
        than ``control_fps`` get ``ControlRateError`` (``robolang/control_rate.py``).
        """
        self._require_connected()
        if called_from_lerobot():  # LeRobot's loops run at the fps they were given, not ours
            self._rate_guard.check(time.monotonic(), self.control_fps, self.name)
        arr = reject_non_finite(action_to_array(action))
        clipped, mask = clip_normalized(arr)
        # The backend's answer is bounded too, so nothing out of range reaches a dataset.
        applied = np.clip(np.asarray(self._apply_action(clipped), dtype=np.float64), -1.0, 1.0)
        self.last_clipped = {k: bool(m) for k, m in zip(ACTION_NAMES, mask, strict=True)}
        return array_to_action(applied)

    # ---- the one place connection state is checked -------------------------------------
    def _require_connected(self) -> None:
        if not self._connected:
            raise RobotNotConnectedError(f"{self} is not connected; call connect() first")

    # ---- backend hooks -------------------------------------------------------------------
    @abc.abstractmethod
    def camera_shape(self, camera: str) -> tuple[int, int, int]:
        """(H, W, 3) of a camera; must work while disconnected."""

    @abc.abstractmethod
    def _connect(self) -> None: ...

    @abc.abstractmethod
    def _disconnect(self) -> None: ...

    @abc.abstractmethod
    def _read_observation(self) -> dict:
        """Flat dict: ``STATE_NAMES`` floats and ``CAMERA_NAMES`` uint8 (H, W, 3) images."""

    @abc.abstractmethod
    def _apply_action(self, action: np.ndarray) -> np.ndarray:
        """Apply a finite (5,) action in [-1, 1]; return the normalized action really applied
        (after any further safety limiting of the backend)."""
