"""The teleoperation control loop: observe, poll the device, act, hand the frame on, keep the rate."""

from __future__ import annotations

import time
from collections.abc import Callable

from robolang.features import CONTROL_FPS
from robolang.teleop.device import TeleopDevice, TeleopEvent

# on_step(observation, applied_action, events)
StepCallback = Callable[[dict, dict[str, float], frozenset[TeleopEvent]], None]
EPISODE_END = frozenset({TeleopEvent.NEXT_EPISODE, TeleopEvent.RERECORD_EPISODE})


def run_teleop(
    robot,
    device: TeleopDevice,
    fps: float = CONTROL_FPS,
    max_steps: int | None = None,
    on_step: StepCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    print_fn: Callable[[str], None] | None = print,
    reset_device_on_episode_end: bool = True,
) -> int:
    """Drive a connected ``robot`` from ``device`` at ``fps`` until ``stop`` or ``max_steps``.

    Each step: poll the device (on ``stop``, end before touching the robot), read the
    observation, send the action, then ``on_step(observation, applied_action, events)``: the
    observation is the state the action was applied to, so a recorder stores the pair as
    ``lerobot-record`` does (observation t, action t). After a ``next_episode`` or
    ``rerecord_episode`` step the device's sticky state (the gripper) resets, matching a robot
    that the recorder resets there. The device is connected here if it is not yet (and then
    disconnected, also on errors); Ctrl-C propagates to the caller. Returns the steps sent.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    owns_device = not device.is_connected
    if owns_device:
        device.connect()
    try:
        if print_fn is not None:
            print_fn(device.format_key_map())
        return _loop(robot, device, 1.0 / fps, max_steps, on_step, clock, sleep, reset_device_on_episode_end)
    finally:
        if owns_device:
            device.disconnect()


def _loop(robot, device, period, max_steps, on_step, clock, sleep, reset_device) -> int:
    steps = 0
    deadline = clock()
    while max_steps is None or steps < max_steps:
        command = device.poll()
        if TeleopEvent.STOP in command.events:  # before touching the robot: its window may be gone
            break
        observation = robot.get_observation()
        applied = robot.send_action(command.action)
        if on_step is not None:
            on_step(observation, applied, command.events)
        if reset_device and command.events & EPISODE_END:
            device.reset()
        steps += 1
        deadline += period
        delay = deadline - clock()
        if delay > 0:
            sleep(delay)
        else:  # running late: start the next step now, and do not rush to catch up
            deadline = clock()
    return steps
