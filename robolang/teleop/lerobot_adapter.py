"""Any LeRobot teleoperator that emits end-effector deltas, as a robolang teleop device.

LeRobot's EE-delta teleoperators (``keyboard_ee``, ``gamepad``; lerobot 0.4.4) return
``{"delta_x", "delta_y", "delta_z"[, "gripper"]}`` and report episode control through
``get_teleop_events()``. Conversions to the robolang contract:

* **Frame.** Each teleop fixes its own axes. ``keyboard_ee``: Up -> ``delta_y = -1``, Left ->
  ``delta_x = +1``, Right Shift -> ``delta_z = +1`` (its "forward" is -y, its "left" +x,
  the SO-100 kinematic frame): ours = (-delta_y, delta_x, delta_z), a 90 deg turn about z.
  ``gamepad``: stick up -> ``delta_x > 0``, stick left -> ``delta_y > 0``, right stick up ->
  ``delta_z > 0``: already our frame. Other teleops: pass ``frame`` (3x3, rows = our
  dx, dy, dz as combinations of delta_x, delta_y, delta_z); the default is the identity.
* **Scale.** Their deltas are unit steps (keys: -1, 0, 1; sticks: [-1, 1] at step size 1):
  ours = clip(``scale`` x delta, -1, 1), with full scale = the robot's per-step limit.
* **Gripper.** Theirs is a command per step: 0 close, 1 stay, 2 open (``GripperAction`` in
  ``teleop_gamepad.py``; ``GripperVelocityToJoint`` shifts it to -1 / 0 / +1). Ours is a
  position (-1 open, +1 closed), so it is latched: 0 -> +1, 2 -> -1, 1 keeps the last.
* **Yaw.** Neither emits one; ``yaw_key`` names an action key to read it from if yours does.
* **Events.** ``rerecord_episode`` -> rerecord; ``success`` or ``terminate_episode`` ->
  next episode; ``is_intervention`` -> intervention. A teleop that disconnected itself
  (``keyboard_ee`` does on Esc) -> stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robolang.features import ACTION_NAMES
from robolang.teleop.device import StickyGripper, TeleopDevice, TeleopEvent, TeleopInput, idle_action
from robolang.teleop.mapping import MEANINGS

IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
LEROBOT_FRAMES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "keyboard_ee": ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "gamepad": IDENTITY,
}
GRIPPER_CLOSE_CODE, GRIPPER_STAY_CODE, GRIPPER_OPEN_CODE = 0, 1, 2

# What the person presses on each known teleop, for the printed key map.
LEROBOT_KEY_MAPS: dict[str, list[tuple[str, str]]] = {
    "keyboard_ee": [
        ("Up / Down", f"{MEANINGS['+x']} / {MEANINGS['-x']}"),
        ("Left / Right", f"{MEANINGS['+y']} / {MEANINGS['-y']}"),
        ("Right Shift / Left Shift", f"{MEANINGS['+z']} / {MEANINGS['-z']}"),
        ("Left Ctrl / Right Ctrl", "close / open the gripper"),
        ("s or q", MEANINGS["next_episode"]),
        ("r", MEANINGS["rerecord_episode"]),
        ("Esc", MEANINGS["stop"]),
    ],
    "gamepad": [
        ("left stick up / down", f"{MEANINGS['+x']} / {MEANINGS['-x']}"),
        ("left stick left / right", f"{MEANINGS['+y']} / {MEANINGS['-y']}"),
        ("right stick up / down", f"{MEANINGS['+z']} / {MEANINGS['-z']}"),
        ("button 6 / button 7", "close / open the gripper"),
        ("button 3 (success) or 1 (failure)", MEANINGS["next_episode"]),
        ("button 0", MEANINGS["rerecord_episode"]),
    ],
}


def convert_lerobot_action(
    raw: Mapping[str, object],
    frame: Sequence[Sequence[float]],
    scale: float,
    gripper: StickyGripper,
    yaw_key: str | None = None,
) -> dict[str, float]:
    """One LeRobot EE-delta action -> a robolang action (``gripper`` is updated in place)."""
    delta = np.array([float(raw.get(k, 0.0)) for k in ("delta_x", "delta_y", "delta_z")])
    xyz = np.asarray(frame, dtype=np.float64) @ delta * scale
    code = raw.get("gripper")
    if code is not None:
        code = int(round(float(code)))
        if code == GRIPPER_CLOSE_CODE:
            gripper.close()
        elif code == GRIPPER_OPEN_CODE:
            gripper.open()
        elif code != GRIPPER_STAY_CODE:
            raise ValueError(f"LeRobot gripper command must be 0 (close), 1 (stay) or 2 (open), got {code}")
    yaw = float(raw.get(yaw_key, 0.0)) * scale if yaw_key else 0.0
    action = idle_action(gripper.value)
    for key, value in zip(ACTION_NAMES[:4], [*xyz, yaw], strict=True):
        action[key] = float(np.clip(value, -1.0, 1.0))
    return action


def convert_lerobot_events(raw: Mapping[object, object]) -> tuple[frozenset[TeleopEvent], bool]:
    """LeRobot ``get_teleop_events()`` (keys ``TeleopEvents`` or their string values) ->
    (robolang events, intervention)."""
    flags = {getattr(k, "value", k): bool(v) for k, v in raw.items()}
    events = set()
    if flags.get("rerecord_episode"):
        events.add(TeleopEvent.RERECORD_EPISODE)
    elif flags.get("success") or flags.get("terminate_episode"):
        events.add(TeleopEvent.NEXT_EPISODE)
    return frozenset(events), flags.get("is_intervention", False)


class LeRobotTeleopAdapter(TeleopDevice):
    """Wraps a ``lerobot.teleoperators.Teleoperator`` that emits end-effector deltas.

    The adapter connects the teleop if it is not connected yet, and then also disconnects it.
    """

    def __init__(
        self,
        teleop,
        frame: Sequence[Sequence[float]] | None = None,
        scale: float = 1.0,
        yaw_key: str | None = None,
    ):
        super().__init__()
        self.teleop = teleop
        self.name = f"LeRobot {teleop.name}"
        self.frame = frame if frame is not None else LEROBOT_FRAMES.get(teleop.name, IDENTITY)
        if np.asarray(self.frame).shape != (3, 3):
            raise ValueError(f"frame must be 3x3, got shape {np.asarray(self.frame).shape}")
        self.scale = scale
        self.yaw_key = yaw_key
        self.gripper = StickyGripper()
        self._owns_connection = False

    @property
    def key_map(self) -> list[tuple[str, str]]:
        known = LEROBOT_KEY_MAPS.get(self.teleop.name)
        if known:
            return list(known)
        return [("(LeRobot teleop)", f"delta_x/y/z -> dx/dy/dz through frame {self.frame}; gripper 0 close, 2 open")]

    def _connect(self) -> None:
        if not self.teleop.is_connected:
            self.teleop.connect()
            self._owns_connection = True
        if not self.teleop.is_connected:  # e.g. keyboard_ee without pynput or a display
            raise RuntimeError(f"{self.teleop} did not connect (a keyboard teleop needs pynput and a display)")
        self.gripper.reset()

    def _disconnect(self) -> None:
        if self._owns_connection and self.teleop.is_connected:
            self.teleop.disconnect()
        self._owns_connection = False

    def _poll(self) -> TeleopInput:
        if not self.teleop.is_connected:
            return TeleopInput(idle_action(self.gripper.value), frozenset({TeleopEvent.STOP}))
        before = self.gripper.value
        # get_action first: keyboard_ee files its non-motion keys there for get_teleop_events.
        action = convert_lerobot_action(self.teleop.get_action(), self.frame, self.scale, self.gripper, self.yaw_key)
        get_events = getattr(self.teleop, "get_teleop_events", None)
        events, intervening = convert_lerobot_events(get_events() if get_events else {})
        moving = any(action[k] for k in ACTION_NAMES[:4])
        return TeleopInput(action, events, intervening or moving or self.gripper.value != before)

    def reset(self) -> None:
        self.gripper.reset()
