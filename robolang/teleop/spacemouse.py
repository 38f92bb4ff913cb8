"""A 3Dconnexion SpaceMouse through pyspacemouse (optional extra ``spacemouse``).

pyspacemouse >= 2 reports the cap in a named axis convention; ``ros`` (REP 103) is x away
from the user, y to the user's left, z up, yaw counter-clockwise seen from above. With the
user seated behind the robot, looking the way it faces, that is the robot base frame, so
each axis maps straight onto ``dx, dy, dz, dyaw`` (roll and pitch are unused: the gripper
points down). Left button: toggle the gripper; right button: save the episode. A two-button
SpaceMouse has no more buttons: stop with Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolang.teleop.analog import AnalogMapping, require
from robolang.teleop.device import SpeedLevels, TeleopDevice, TeleopInput
from robolang.teleop.mapping import GRIPPER_TOGGLE

# pyspacemouse axis (ros convention) -> (motion of the cap giving a positive, a negative value).
CAP_MOTIONS = {
    "x": ("push away", "pull toward you"),
    "y": ("push left", "push right"),
    "z": ("lift", "press down"),
    "yaw": ("twist counter-clockwise", "twist clockwise"),
}
BUTTON_NAMES = {0: "left", 1: "right"}
MAX_REPORTS_PER_POLL = 500  # a bound, so a device that never pauses cannot stall the loop


@dataclass
class SpaceMouseConfig:
    """Axis and button mapping. ``deadzone``: the cap never rests at exactly zero (a few
    percent of the range is typical); ``device``: a pyspacemouse device name, or auto-detect."""

    axes: dict[str, tuple[str, float]] = field(
        default_factory=lambda: {"dx": ("x", 1.0), "dy": ("y", 1.0), "dz": ("z", 1.0), "dyaw": ("yaw", 1.0)}
    )
    buttons: dict[int, str] = field(default_factory=lambda: {0: GRIPPER_TOGGLE, 1: "next_episode"})
    deadzone: float = 0.05
    axis_convention: str = "ros"
    device: str | None = None


class SpaceMouse(TeleopDevice):
    """A SpaceMouse read with pyspacemouse. ``backend``: the module, or a stand-in in tests."""

    name = "spacemouse"

    def __init__(self, config: SpaceMouseConfig | None = None, backend=None, speed: SpeedLevels | None = None):
        super().__init__()
        self.config = config or SpaceMouseConfig()
        self.mapping = AnalogMapping(self.config.axes, self.config.buttons, self.config.deadzone, speed)
        self._backend = backend
        self._device = None

    @property
    def key_map(self) -> list[tuple[str, str]]:
        def axis_label(axis, direction):
            positive, negative = CAP_MOTIONS.get(axis, (f"{axis} +", f"{axis} -"))
            return f"cap: {positive if direction > 0 else negative}"

        return self.mapping.key_map(axis_label, lambda i: f"{BUTTON_NAMES.get(i, i)} button")

    def _connect(self) -> None:
        lib = self._backend or require("pyspacemouse", "spacemouse", "spacemouse")
        device = lib.open(device=self.config.device, axis_convention=self.config.axis_convention)
        if not device:
            raise RuntimeError("no SpaceMouse found; plug one in (and check its /dev/hidraw* permissions)")
        self._device = device
        self.mapping.reset()

    def _disconnect(self) -> None:
        self._device.close()
        self._device = None

    def _poll(self) -> TeleopInput:
        # read() consumes one HID report, and the device sends them far faster than 10 Hz: read
        # until no new report arrives (its timestamp stops changing), or the queue would grow
        # and the arm lag ever further behind the cap. A button down in any report counts.
        state = self._device.read()
        buttons = list(state.buttons)
        for _ in range(MAX_REPORTS_PER_POLL):
            stamp = state.t
            state = self._device.read()
            buttons = [max(a, b) for a, b in zip(buttons, state.buttons, strict=False)]
            if state.t == stamp:
                break
        return self.mapping.update(lambda axis: getattr(state, axis), buttons)

    def reset(self) -> None:
        self.mapping.reset()
