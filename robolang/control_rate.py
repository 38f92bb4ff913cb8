"""Refusing a LeRobot control loop that runs a robot faster than its control rate.

A robolang action is one step of ``1 / control_fps`` seconds (10 Hz: full scale is 2 cm per
step). LeRobot's scripts drive a robot from a loop at the ``fps`` they are given, by default 30
(``lerobot-record --dataset.fps``) and 60 (``lerobot-teleoperate --fps``): a 10 Hz robot would
move 3 to 6 times faster than designed (the sim: faster than real time) and a recording would be
labelled 30 fps for 10 Hz steps. So when LeRobot's code calls ``send_action`` faster than
``RATE_TOLERANCE`` x ``control_fps``, averaged over ``WINDOW`` intervals, the robot raises
``ControlRateError`` naming the flag to pass, before the action is applied: the mismatch stops
the run within half a second and cannot be missed.

Only LeRobot's callers are checked: robolang's own loops run at ``control_fps`` (teleop, deploy)
or as fast as the simulator goes (collect, evaluation), where a step is a step of simulated time.
A loop *slower* than ``control_fps`` is allowed: it is what an overloaded machine does (LeRobot
then warns that its loop runs slower than its fps).
"""

from __future__ import annotations

import sys
from collections import deque

from robolang.errors import RobolangError

# LeRobot's loops sleep to their fps, so their rate is steady; 20% above control_fps is a
# different setting, not jitter.
RATE_TOLERANCE = 1.2
WINDOW = 4  # intervals averaged: one short interval (after a slow step) is not a rate


class ControlRateError(RobolangError, RuntimeError):
    """A control loop sends actions faster than the robot's ``control_fps``."""


def called_from_lerobot(depth: int = 2) -> bool:
    """Whether the function ``depth`` frames up the stack (the caller of the function that
    calls this) is LeRobot's code: ``record_loop``, ``teleop_loop``, ``lerobot-replay``, ..."""
    return sys._getframe(depth).f_globals.get("__name__", "").startswith("lerobot.")


class ControlRateGuard:
    """Times of the last ``WINDOW + 1`` actions; ``check`` raises when they came too fast."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=WINDOW + 1)

    def reset(self) -> None:
        self._times.clear()

    def check(self, now: float, control_fps: float, robot_name: str) -> None:
        self._times.append(now)
        if len(self._times) <= WINDOW:
            return
        span = self._times[-1] - self._times[0]
        rate = WINDOW / span if span > 0 else float("inf")
        if rate > RATE_TOLERANCE * control_fps:
            fps = round(control_fps)
            raise ControlRateError(
                f"{robot_name} runs at {fps} Hz (control_fps: each action is one {1000 / control_fps:.0f} ms "
                f"step), but LeRobot's loop sends actions at {rate:.0f} Hz: the robot would move "
                f"{rate / control_fps:.1f}x faster than designed and a recording would be labelled with the loop's "
                f"rate. Pass --fps={fps} to lerobot-teleoperate or --dataset.fps={fps} to lerobot-record "
                "(their defaults are 60 and 30; lerobot-record has created the dataset folder, with no episodes: "
                "remove it or choose another --dataset.root)."
            )
