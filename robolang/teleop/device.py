"""The device-independent core of teleoperation: what every device returns, and its base class.

A device turns a person's input into one action of the robot contract per control step
(``robolang.features.ACTION_NAMES``: ``dx, dy, dz, dyaw, gripper`` in [-1, 1], robot base
frame: +x away from the base, +y to the robot's left, +z up, +yaw counter-clockwise seen from
above; gripper -1 open, +1 closed) plus the recording events the person asked for.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from robolang.features import ACTION_NAMES

GRIPPER_OPEN = -1.0
GRIPPER_CLOSED = 1.0


class TeleopEvent(enum.StrEnum):
    """Recording control a person can ask for from the device (as ``lerobot-record``'s keys do)."""

    NEXT_EPISODE = "next_episode"  # end the episode, save it, start the next one
    RERECORD_EPISODE = "rerecord_episode"  # discard the episode in progress and record it again
    STOP = "stop"  # stop teleoperating (the recorder saves what it has and finalizes)


def idle_action(gripper: float = GRIPPER_OPEN) -> dict[str, float]:
    """An action that holds the arm still with the gripper at ``gripper``."""
    return {**dict.fromkeys(ACTION_NAMES[:-1], 0.0), ACTION_NAMES[-1]: float(gripper)}


@dataclass(frozen=True)
class TeleopInput:
    """What one ``poll()`` returns.

    ``action``: the contract's action dict, zeros when the person does nothing. ``events``:
    recording events raised since the last poll. ``intervention``: the person is actively
    giving input this step (moving, or changing the gripper), as LeRobot's ``is_intervention``.
    """

    action: dict[str, float]
    events: frozenset[TeleopEvent] = frozenset()
    intervention: bool = False

    def __post_init__(self) -> None:
        if tuple(self.action) != ACTION_NAMES:
            raise ValueError(f"a teleop action has the keys {list(ACTION_NAMES)} in order, got {list(self.action)}")


class TeleopDeviceNotConnectedError(RuntimeError):
    """Raised when a device is polled before ``connect()`` or after ``disconnect()``."""


class StickyGripper:
    """A gripper command that holds until the person changes it (toggle, open or close)."""

    def __init__(self, initial: float = GRIPPER_OPEN):
        self.initial = float(initial)
        self.value = float(initial)

    def toggle(self) -> float:
        self.value = GRIPPER_OPEN if self.value > 0 else GRIPPER_CLOSED
        return self.value

    def open(self) -> float:
        self.value = GRIPPER_OPEN
        return self.value

    def close(self) -> float:
        self.value = GRIPPER_CLOSED
        return self.value

    def reset(self) -> None:
        self.value = self.initial


class SpeedLevels:
    """A ladder of speed scales stepped by "faster" / "slower" inputs.

    Default ladder and start: half of full scale. Full scale is 2 cm and ~8.6 deg per 10 Hz
    step (``robolang.robot.EEDeltaLimits``), 0.2 m/s, which overshoots when placing an object
    by keyboard; 0.5 (10 cm/s) is precise and still crosses the table in a few seconds.
    """

    def __init__(self, levels: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 1.0), start: float = 0.5):
        if not levels or any(not 0 < v <= 1 for v in levels) or list(levels) != sorted(levels):
            raise ValueError(f"speed levels must be increasing values in (0, 1], got {levels}")
        if start not in levels:
            raise ValueError(f"start speed {start} is not one of the levels {list(levels)}")
        self.levels = tuple(float(v) for v in levels)
        self.index = self.levels.index(start)

    @property
    def value(self) -> float:
        return self.levels[self.index]

    def faster(self) -> float:
        self.index = min(self.index + 1, len(self.levels) - 1)
        return self.value

    def slower(self) -> float:
        self.index = max(self.index - 1, 0)
        return self.value


class TeleopDevice(abc.ABC):
    """Base class of every teleoperation device.

    Subclasses implement ``_connect``, ``_disconnect``, ``_poll`` and ``key_map``. The base
    class guards the connection state in one place and is a context manager, so a device
    that changes global state (a terminal in cbreak mode) always puts it back.
    """

    name: str = "device"

    def __init__(self) -> None:
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self._connected:
            raise RuntimeError(f"{self.name} is already connected")
        self._connect()
        self._connected = True

    def disconnect(self) -> None:
        if not self._connected:
            return
        try:
            self._disconnect()
        finally:
            self._connected = False

    def poll(self) -> TeleopInput:
        """The action and events for this control step; never blocks."""
        if not self._connected:
            raise TeleopDeviceNotConnectedError(f"{self.name} is not connected; call connect() first")
        return self._poll()

    def reset(self) -> None:  # noqa: B027 - devices without sticky state need nothing
        """Start a new episode: sticky state (the gripper) goes back to its initial value."""

    def __enter__(self) -> TeleopDevice:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()

    @property
    @abc.abstractmethod
    def key_map(self) -> list[tuple[str, str]]:
        """(input, meaning) rows, e.g. ``("w / Up", "move away from the base (+x)")``."""

    def format_key_map(self) -> str:
        """The key map as a printable two-column table with the device name as its title."""
        return format_table(self.name, self.key_map)

    def _connect(self) -> None:  # noqa: B027 - most devices need nothing
        """Open the input (a terminal, a USB device)."""

    def _disconnect(self) -> None:  # noqa: B027
        """Release the input; must restore anything ``_connect`` changed."""

    @abc.abstractmethod
    def _poll(self) -> TeleopInput: ...


def format_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column text table: ``title`` then one ``input  meaning`` line per row."""
    width = max((len(k) for k, _ in rows), default=0)
    lines = [f"{title} controls:"]
    lines += [f"  {k.ljust(width)}  {meaning}" for k, meaning in rows]
    return "\n".join(lines)


class ScriptedDevice(TeleopDevice):
    """Plays back a fixed list of inputs, then raises ``stop``: for tests, demos and replays.

    Each item is a ``TeleopInput`` or a partial action dict (missing motion keys are 0, the
    gripper keeps its last value).
    """

    name = "scripted"

    def __init__(self, script: Sequence[TeleopInput | dict[str, float]]):
        super().__init__()
        self.script = list(script)
        self._items: Iterator = iter(())
        self._gripper = GRIPPER_OPEN

    @property
    def key_map(self) -> list[tuple[str, str]]:
        return [("(script)", f"{len(self.script)} scripted steps, then stop")]

    def _connect(self) -> None:
        self._items = iter(self.script)
        self._gripper = GRIPPER_OPEN

    def _poll(self) -> TeleopInput:
        item = next(self._items, None)
        if item is None:
            return TeleopInput(idle_action(self._gripper), frozenset({TeleopEvent.STOP}))
        if isinstance(item, TeleopInput):
            self._gripper = item.action["gripper"]
            return item
        self._gripper = float(item.get("gripper", self._gripper))
        action = {**idle_action(self._gripper), **{k: float(v) for k, v in item.items()}}
        return TeleopInput(action, intervention=any(action[k] for k in ACTION_NAMES[:4]))
