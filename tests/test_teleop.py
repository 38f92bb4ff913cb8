"""Teleoperation: every device mapping with injected input, headless (no window, pad or display).

Devices are tested through what they read (bytes on a pipe, pybullet event dicts, a stand-in
pygame / pyspacemouse module, a scripted LeRobot teleoperator), never by replacing the device.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys
import termios
from dataclasses import dataclass
from types import SimpleNamespace

import pybullet as pb
import pytest
from lerobot.teleoperators import Teleoperator, TeleoperatorConfig
from lerobot.teleoperators.utils import TeleopEvents

from robolang.features import ACTION_NAMES
from robolang.teleop import (
    DEFAULT_KEYS,
    Gamepad,
    GamepadConfig,
    KeyboardMapping,
    KeyHoldTracker,
    LeRobotTeleopAdapter,
    ScriptedDevice,
    SpaceMouse,
    SpeedLevels,
    TeleopDeviceNotConnectedError,
    TeleopEvent,
    TeleopInput,
    TerminalKeyboard,
    apply_deadzone,
    convert_lerobot_events,
    idle_action,
    parse_terminal_keys,
    run_teleop,
)
from sim.teleop_gui import PyBulletGuiKeyboard, held_and_triggered

NEXT, RERECORD, STOP = TeleopEvent.NEXT_EPISODE, TeleopEvent.RERECORD_EPISODE, TeleopEvent.STOP
# Every default motion key: (key, action component, sign).
MOTION_KEYS = [
    ("w", "dx", 1),
    ("up", "dx", 1),
    ("s", "dx", -1),
    ("down", "dx", -1),
    ("a", "dy", 1),
    ("left", "dy", 1),
    ("d", "dy", -1),
    ("right", "dy", -1),
    ("r", "dz", 1),
    ("f", "dz", -1),
    ("q", "dyaw", 1),
    ("e", "dyaw", -1),
]
EVENT_KEYS = [("enter", NEXT), ("backspace", RERECORD), ("esc", STOP), ("x", STOP)]


def only(action: dict, component: str, value: float) -> bool:
    """``action`` is ``value`` on ``component``, 0 on the other motion components."""
    return all(action[k] == pytest.approx(value if k == component else 0.0) for k in ACTION_NAMES[:4])


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


# ---- the shared keyboard mapping ---------------------------------------------------------------
def test_default_key_table_covers_every_motion_key():
    motion = {k for k, c in DEFAULT_KEYS.items() if c[0] in "+-" and len(c) > 1}
    assert motion == {k for k, _, _ in MOTION_KEYS}


@pytest.mark.parametrize(("key", "component", "sign"), MOTION_KEYS)
def test_each_key_moves_its_component_at_the_speed_level(key, component, sign):
    mapping = KeyboardMapping()
    step = mapping.update({key})
    assert only(step.action, component, sign * 0.5)  # default speed level: half scale
    assert step.action["gripper"] == -1.0 and step.events == frozenset() and step.intervention


def test_idle_is_zero_and_opposites_cancel_and_keys_combine():
    mapping = KeyboardMapping()
    assert mapping.update(set()) == TeleopInput(idle_action(), frozenset(), False)
    assert only(mapping.update({"w", "s"}).action, "dx", 0.0)
    combined = mapping.update({"w", "a", "r", "q"}).action
    assert [combined[k] for k in ("dx", "dy", "dz", "dyaw")] == [0.5, 0.5, 0.5, 0.5]
    assert only(mapping.update({"w", "up"}).action, "dx", 0.5)  # two keys, one command: no double speed


def test_gripper_toggles_once_per_press_and_is_sticky():
    mapping = KeyboardMapping()
    step = mapping.update({"space"}, {"space"})
    assert step.action["gripper"] == 1.0 and step.intervention
    assert mapping.update({"space"}).action["gripper"] == 1.0  # still held: no second toggle
    assert mapping.update(set()).action["gripper"] == 1.0  # released: stays closed
    assert mapping.update(set(), {"space"}).action["gripper"] == -1.0
    mapping.update(set(), {"space"})
    mapping.reset()
    assert mapping.update(set()).action["gripper"] == -1.0  # a new episode starts open


def test_speed_keys_step_through_the_levels_and_scale_motion():
    mapping = KeyboardMapping(speed=SpeedLevels((0.25, 0.5, 1.0), start=0.5))
    assert mapping.update({"w"}, {"="}).action["dx"] == 1.0
    assert mapping.update(set(), {"+"}).action["dx"] == 0.0  # already at the top level
    assert mapping.speed.value == 1.0
    mapping.update(set(), {"-"})
    mapping.update(set(), {"-"})
    mapping.update(set(), {"-"})
    assert only(mapping.update({"s"}).action, "dx", -0.25)  # clamped at the bottom level
    with pytest.raises(ValueError):
        SpeedLevels((0.5, 0.25))
    with pytest.raises(ValueError):
        SpeedLevels((0.25, 0.5), start=0.3)


@pytest.mark.parametrize(("key", "event"), EVENT_KEYS)
def test_recording_keys_raise_their_event_once_per_press(key, event):
    mapping = KeyboardMapping()
    assert mapping.update({key}, {key}).events == {event}
    assert mapping.update({key}).events == frozenset()


def test_custom_bindings_are_checked():
    assert KeyboardMapping({"i": "+x"}).update({"i"}).action["dx"] == 0.5
    with pytest.raises(ValueError, match="unknown teleop commands"):
        KeyboardMapping({"i": "+w"})


def test_key_map_lists_every_binding():
    rows = TerminalKeyboard().key_map
    text = TerminalKeyboard().format_key_map()
    assert ("w / Up", "move away from the robot base (+x)") in rows
    assert ("Esc / x", "stop teleoperating (saves what was recorded)") in rows
    assert text.startswith("terminal keyboard controls:") and "Backspace" in text and "Space" in text


# ---- terminal: parsing, hold detection, the device on a pipe and a pty ------------------------------
@pytest.mark.parametrize(
    ("data", "keys", "rest"),
    [
        (b"w", ["w"], b""),
        (b"WaD", ["w", "a", "d"], b""),
        (b"\x1b[A\x1b[B\x1b[C\x1b[D", ["up", "down", "right", "left"], b""),
        (b"\x1bOA\x1bOD", ["up", "left"], b""),  # application cursor mode
        (b"\x1b[1;2C", ["right"], b""),  # with a modifier
        (b"\x1b[5~\x1b[6~", ["page_up", "page_down"], b""),
        (b"\x1b[15~\x1bOP", [], b""),  # F5, F1: ignored
        (b"\x1b", ["esc"], b""),
        (b"\x1b\x1b", ["esc", "esc"], b""),
        (b"\x1bw", [], b""),  # Alt+w
        (b"\r\n\n\r\x7f\x08 \t", ["enter", "enter", "enter", "backspace", "backspace", "space", "tab"], b""),
        (b"=+-", ["=", "+", "-"], b""),
        (b"w\x1b[", ["w"], b"\x1b["),  # a sequence cut between two reads waits for its end
        (b"\x1b[1;", [], b"\x1b[1;"),
        (b"\x00\x03\xff", [], b""),
    ],
)
def test_parse_terminal_keys(data, keys, rest):
    assert parse_terminal_keys(data) == (keys, rest)


def test_hold_tracker_holds_through_repeat_delay_and_releases_on_timeout():
    tracker = KeyHoldTracker(first_hold_s=0.5, repeat_hold_s=0.1)
    assert tracker.update(["w"], 0.0) == ({"w"}, {"w"})
    assert tracker.update([], 0.4) == ({"w"}, set())  # waiting for auto-repeat to start
    assert tracker.update(["w"], 0.45) == ({"w"}, set())  # repeating: not a new press
    assert tracker.update([], 0.5) == ({"w"}, set())
    assert tracker.update([], 0.56) == (set(), set())  # no repeat for 0.1 s: released
    assert tracker.update([], 10.0) == (set(), set())
    assert tracker.update(["w"], 10.0) == ({"w"}, {"w"})
    assert tracker.update([], 10.5) == (set(), set())  # a tap holds for first_hold_s


def test_hold_tracker_new_key_releases_the_previous_one():
    tracker = KeyHoldTracker(first_hold_s=0.5, repeat_hold_s=0.1)
    tracker.update(["w", "w"], 0.0)
    assert tracker.update(["a"], 0.05) == ({"a"}, {"a"})
    assert tracker.update(["enter", "s"], 0.1) == ({"s"}, {"enter", "s"})  # a press is never lost


@pytest.fixture
def piped():
    """A terminal keyboard reading a pipe (not a tty: no terminal mode change), its write end
    and its clock."""
    read_fd, write_fd = os.pipe()
    clock = FakeClock()
    keyboard = TerminalKeyboard(input=read_fd, clock=clock, first_hold_s=0.5, repeat_hold_s=0.1)
    yield keyboard, write_fd, clock
    keyboard.disconnect()
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):  # the test closed it already
            os.close(fd)


TERMINAL_BYTES = {"up": b"\x1b[A", "down": b"\x1b[B", "left": b"\x1b[D", "right": b"\x1b[C"}


@pytest.mark.parametrize(("key", "component", "sign"), MOTION_KEYS)
def test_terminal_keyboard_moves_each_component(piped, key, component, sign):
    keyboard, write_fd, clock = piped
    with keyboard:
        os.write(write_fd, TERMINAL_BYTES.get(key, key.encode()))
        assert only(keyboard.poll().action, component, sign * 0.5)
        clock.now = 0.6
        assert only(keyboard.poll().action, component, 0.0)  # no repeat arrived: released


def test_terminal_keyboard_gripper_speed_events_and_end_of_input(piped):
    keyboard, write_fd, clock = piped
    with pytest.raises(TeleopDeviceNotConnectedError):
        keyboard.poll()
    keyboard.connect()
    os.write(write_fd, b" ")
    assert keyboard.poll().action["gripper"] == 1.0
    clock.now = 1.0
    assert keyboard.poll().action["gripper"] == 1.0  # sticky
    os.write(write_fd, b"=w")
    assert keyboard.poll().action["dx"] == 0.75
    for data, event in [(b"\r", NEXT), (b"\x7f", RERECORD), (b"x", STOP)]:
        clock.now += 1.0
        os.write(write_fd, data)
        assert keyboard.poll().events == {event}
    os.close(write_fd)
    assert keyboard.poll().events == {STOP}  # stdin closed: nothing can come any more


def test_terminal_keyboard_sets_cbreak_and_restores_the_terminal():
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        keyboard = TerminalKeyboard(input=slave)
        with keyboard:
            during = termios.tcgetattr(slave)
            assert not during[3] & (termios.ICANON | termios.ECHO)  # cbreak: no line buffer, no echo
            assert during[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(master, b"d")
            assert keyboard.poll().action["dy"] < 0
        assert termios.tcgetattr(slave) == before
        with pytest.raises(RuntimeError, match="boom"), keyboard:
            raise RuntimeError("boom")
        assert termios.tcgetattr(slave) == before  # restored on an exception too
        # ... and when run_teleop fails half-way
        robot = FakeRobot(fail_at=1)
        with pytest.raises(RuntimeError, match="robot failed"):
            run_teleop(robot, TerminalKeyboard(input=slave), print_fn=None, sleep=lambda s: None)
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


CTRL_C_CHILD = """
import fcntl, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes this session's terminal: Ctrl-C -> SIGINT
# As in an interactive shell: a background job of a shell without job control (CI runners, nohup)
# starts with SIGINT ignored, and Python then keeps it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
from robolang.teleop import TerminalKeyboard, run_teleop

class Robot:
    def get_observation(self):
        return {}

    def send_action(self, action):
        return action

before, said = termios.tcgetattr(0), set()
def on_step(observation, action, events):  # runs after connect(): cbreak mode is on
    word = "moved" if action["dx"] > 0 else "ready"
    if word not in said:
        said.add(word)
        print(word, flush=True)
try:
    run_teleop(Robot(), TerminalKeyboard(), fps=50, on_step=on_step, print_fn=None)
except KeyboardInterrupt:
    print("interrupted, terminal restored:", termios.tcgetattr(0) == before, flush=True)
"""


def test_ctrl_c_in_a_real_terminal_interrupts_and_restores_it():
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD], stdin=slave, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    os.close(slave)

    def line() -> str:
        assert select.select([child.stdout], [], [], 60)[0], "the child said nothing for 60 s"
        return child.stdout.readline()

    try:
        assert line() == "ready\n"
        os.write(master, b"w")
        assert line() == "moved\n"
        os.write(master, b"\x03")
        assert line() == "interrupted, terminal restored: True\n"
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        os.close(master)


# ---- PyBullet GUI window keyboard (events injected) ----------------------------------------------
GUI_CODES = {"up": pb.B3G_UP_ARROW, "down": pb.B3G_DOWN_ARROW, "left": pb.B3G_LEFT_ARROW, "right": pb.B3G_RIGHT_ARROW}
DOWN, TRIGGERED, RELEASED = pb.KEY_IS_DOWN, pb.KEY_WAS_TRIGGERED, pb.KEY_WAS_RELEASED


def gui_keyboard(script: list[dict]) -> PyBulletGuiKeyboard:
    frames = iter(script)
    return PyBulletGuiKeyboard(events_fn=lambda: next(frames, {}))


@pytest.mark.parametrize(("key", "component", "sign"), MOTION_KEYS)
def test_gui_keyboard_moves_each_component(key, component, sign):
    code = GUI_CODES[key] if key in GUI_CODES else ord(key)
    with gui_keyboard([{code: DOWN | TRIGGERED}, {code: DOWN}, {code: RELEASED}]) as keyboard:
        assert only(keyboard.poll().action, component, sign * 0.5)
        assert only(keyboard.poll().action, component, sign * 0.5)
        assert only(keyboard.poll().action, component, 0.0)


def test_gui_keyboard_combines_keys_taps_and_upper_case():
    script = [
        {ord("w"): DOWN, ord("a"): DOWN, ord("R"): DOWN},  # held together: a diagonal climb
        {ord("s"): TRIGGERED | RELEASED},  # a tap between two polls still moves one step
        {pb.B3G_SHIFT: DOWN, 0xFFFF: DOWN},  # keys without a binding
    ]
    with gui_keyboard(script) as keyboard:
        action = keyboard.poll().action
        assert (action["dx"], action["dy"], action["dz"]) == (0.5, 0.5, 0.5)
        assert only(keyboard.poll().action, "dx", -0.5)
        assert keyboard.poll() == TeleopInput(idle_action(), frozenset(), False)


def test_gui_keyboard_gripper_toggles_once_even_if_the_window_retriggers():
    space = pb.B3G_SPACE
    script = [{space: DOWN | TRIGGERED}, {space: DOWN | TRIGGERED}, {space: RELEASED}, {space: DOWN | TRIGGERED}]
    with gui_keyboard(script) as keyboard:
        assert [keyboard.poll().action["gripper"] for _ in script] == [1.0, 1.0, 1.0, -1.0]


def test_gui_keyboard_events_and_speed():
    script = [
        {pb.B3G_RETURN: DOWN | TRIGGERED},
        {pb.B3G_BACKSPACE: DOWN | TRIGGERED},
        {ord("x"): TRIGGERED},
        {27: TRIGGERED},
        {ord("="): TRIGGERED, ord("w"): DOWN},
    ]
    with gui_keyboard(script) as keyboard:
        assert [keyboard.poll().events for _ in range(4)] == [{NEXT}, {RERECORD}, {STOP}, {STOP}]
        assert keyboard.poll().action["dx"] == 0.75


def test_held_and_triggered_reads_pybullet_flags():
    held, triggered = held_and_triggered(
        {ord("w"): DOWN, ord("a"): TRIGGERED | RELEASED, pb.B3G_UP_ARROW: DOWN | TRIGGERED}
    )
    assert held == {"w", "up"} and triggered == {"a", "up"}


def test_gui_keyboard_needs_a_gui_client_and_stops_when_the_window_closes():
    client = pb.connect(pb.DIRECT)
    with pytest.raises(ValueError, match="not a connected GUI client"):
        PyBulletGuiKeyboard(client_id=client).connect()
    keyboard = PyBulletGuiKeyboard(client_id=client, events_fn=lambda: {ord("w"): DOWN})
    keyboard.connect()
    assert keyboard.poll().action["dx"] == 0.5
    pb.disconnect(client)  # what Esc does to PyBullet's window
    assert keyboard.poll().events == {STOP}
    keyboard.disconnect()


# ---- gamepad (a stand-in pygame) ------------------------------------------------------------------
class FakeJoystick:
    def __init__(self, n_axes=6, n_buttons=11):
        self.axes = [0.0] * n_axes
        self.buttons = [0] * n_buttons
        self.quit_called = False

    def init(self):
        pass

    def quit(self):
        self.quit_called = True

    def get_name(self):
        return "Fake Pad"

    def get_numaxes(self):
        return len(self.axes)

    def get_numbuttons(self):
        return len(self.buttons)

    def get_axis(self, i):
        return self.axes[i]

    def get_button(self, i):
        return self.buttons[i]

    def get_instance_id(self):
        return 0


JOYBUTTONDOWN = 1539  # pygame's value; any constant works with the stand-in


def fake_pygame(joysticks: list[FakeJoystick], events: list | None = None):
    """The slice of pygame a gamepad uses; ``events`` is the queue ``event.get()`` drains."""
    queue = events if events is not None else []

    def get():
        drained = list(queue)
        queue.clear()
        return drained

    joystick = SimpleNamespace(
        init=lambda: None, quit=lambda: None, get_count=lambda: len(joysticks), Joystick=lambda i: joysticks[i]
    )
    display = SimpleNamespace(init=lambda: None)
    return SimpleNamespace(
        display=display, joystick=joystick, event=SimpleNamespace(get=get), JOYBUTTONDOWN=JOYBUTTONDOWN
    )


# (axis index, raw value, component, expected sign): SDL sticks are positive right and down.
PAD_AXES = [
    (1, -1.0, "dx", 1),  # left stick up: away from the base
    (1, 1.0, "dx", -1),
    (0, -1.0, "dy", 1),  # left stick left: robot's left
    (0, 1.0, "dy", -1),
    (4, -1.0, "dz", 1),  # right stick up: up
    (4, 1.0, "dz", -1),
    (3, -1.0, "dyaw", 1),  # right stick left: counter-clockwise
    (3, 1.0, "dyaw", -1),
]


@pytest.mark.parametrize(("axis", "value", "component", "sign"), PAD_AXES)
def test_gamepad_axis_drives_its_component(axis, value, component, sign):
    js = FakeJoystick()
    js.axes[axis] = value
    with Gamepad(backend=fake_pygame([js])) as pad:
        assert only(pad.poll().action, component, sign * 1.0)
    assert js.quit_called


def test_gamepad_deadzone_buttons_and_speed():
    js, events = FakeJoystick(), []
    pad = Gamepad(GamepadConfig(deadzone=0.1), backend=fake_pygame([js], events))
    pad.connect()
    js.axes[1] = -0.05  # stick drift inside the deadzone
    assert pad.poll() == TeleopInput(idle_action(), frozenset(), False)
    js.axes[1] = -0.55  # halfway between deadzone and full deflection
    assert pad.poll().action["dx"] == pytest.approx(0.5)
    js.axes[1] = 0.0
    js.buttons[0] = 1  # A
    assert pad.poll().action["gripper"] == 1.0
    assert pad.poll().action["gripper"] == 1.0  # held: toggled once
    js.buttons[0] = 0
    for button, event in [(3, NEXT), (2, RERECORD), (1, STOP)]:
        js.buttons[button] = 1
        assert pad.poll().events == {event}
        assert pad.poll().events == frozenset()
        js.buttons[button] = 0
    js.buttons[4] = 1  # LB: slower
    js.axes[1] = -1.0
    assert pad.poll().action["dx"] == 0.75
    pad.reset()
    assert pad.poll().action["gripper"] == -1.0
    # A click between two polls (down and up again) is seen only as events; another pad's is not ours.
    events += [SimpleNamespace(type=JOYBUTTONDOWN, button=0, instance_id=0), SimpleNamespace(type=0, button=3)]
    events += [SimpleNamespace(type=JOYBUTTONDOWN, button=3, instance_id=1)]
    step = pad.poll()
    assert step.action["gripper"] == 1.0 and step.events == frozenset()
    pad.disconnect()


def test_apply_deadzone():
    assert [apply_deadzone(v, 0.2) for v in (0.1, -0.2, 0.6, -0.6, 1.0, -1.5)] == pytest.approx(
        [0.0, 0.0, 0.5, -0.5, 1.0, -1.0]
    )


def test_gamepad_without_a_pad_or_with_too_few_axes_says_so():
    with pytest.raises(RuntimeError, match="no gamepad"):
        Gamepad(backend=fake_pygame([])).connect()
    with pytest.raises(RuntimeError, match="remap"):
        Gamepad(backend=fake_pygame([FakeJoystick(n_axes=2)])).connect()
    with pytest.raises(ValueError, match="axes can drive"):
        Gamepad(GamepadConfig(axes={"gripper": (0, 1.0)}))


# ---- spacemouse (a stand-in pyspacemouse) -------------------------------------------------------------
class FakeSpaceMouseLib:
    """pyspacemouse: ``open()`` -> a device whose ``read()`` applies one queued HID report (if
    any) to its one state object and returns it, as pyspacemouse's device does."""

    def __init__(self, found=True):
        self.found = found
        self.state = SimpleNamespace(t=0.0, x=0.0, y=0.0, z=0.0, roll=0.0, pitch=0.0, yaw=0.0, buttons=[0, 0])
        self.reports: list[dict] = []
        self.opened_with = None
        self.closed = False

    def open(self, **kwargs):
        self.opened_with = kwargs
        return SimpleNamespace(read=self.read, close=self.close) if self.found else None

    def read(self):
        if self.reports:
            for key, value in self.reports.pop(0).items():
                setattr(self.state, key, value)
            self.state.t += 0.01
        return self.state

    def close(self):
        self.closed = True


@pytest.mark.parametrize(
    ("axis", "value", "component", "sign"),
    [("x", 1.0, "dx", 1), ("x", -1.0, "dx", -1), ("y", 1.0, "dy", 1), ("y", -1.0, "dy", -1)]
    + [("z", 1.0, "dz", 1), ("z", -1.0, "dz", -1), ("yaw", 1.0, "dyaw", 1), ("yaw", -1.0, "dyaw", -1)]
    + [("roll", 1.0, "dx", 0), ("pitch", 1.0, "dx", 0)],  # tilting does nothing: the gripper points down
)
def test_spacemouse_axis_drives_its_component(axis, value, component, sign):
    lib = FakeSpaceMouseLib()
    with SpaceMouse(backend=lib) as mouse:
        setattr(lib.state, axis, value)
        assert only(mouse.poll().action, component, float(sign))
    assert lib.opened_with["axis_convention"] == "ros" and lib.closed


def test_spacemouse_deadzone_and_buttons():
    lib = FakeSpaceMouseLib()
    with SpaceMouse(backend=lib) as mouse:
        lib.state.x, lib.state.yaw = 0.03, -0.04  # resting cap
        assert mouse.poll() == TeleopInput(idle_action(), frozenset(), False)
        lib.state.buttons = [1, 0]
        assert mouse.poll().action["gripper"] == 1.0
        assert mouse.poll().action["gripper"] == 1.0
        lib.state.buttons = [0, 1]
        assert mouse.poll().events == {NEXT}
        # Many reports queued since the last poll: the newest axes win, a short click still counts.
        lib.reports = [{"x": 0.5}, {"buttons": [1, 0]}, {"buttons": [0, 0]}, {"x": 1.0}, {"z": -1.0}]
        step = mouse.poll()
        assert (step.action["dx"], step.action["dz"], step.action["gripper"]) == (1.0, -1.0, -1.0)
        assert lib.reports == []
    with pytest.raises(RuntimeError, match="no SpaceMouse"):
        SpaceMouse(backend=FakeSpaceMouseLib(found=False)).connect()


@pytest.mark.parametrize(
    ("device", "module", "extra"), [(Gamepad, "pygame", "gamepad"), (SpaceMouse, "pyspacemouse", "spacemouse")]
)
def test_missing_optional_library_names_the_extra(monkeypatch, device, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf"robolang\[{extra}\]"):
        device().connect()


def test_importing_teleop_loads_no_optional_library_nor_sim():
    code = "import sys, robolang.teleop; print(sorted(m for m in ('pygame', 'pyspacemouse', 'sim', 'pybullet') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# ---- LeRobot teleoperators -----------------------------------------------------------------------------
@TeleoperatorConfig.register_subclass("robolang_test_scripted_ee")
@dataclass
class ScriptedEEConfig(TeleoperatorConfig):
    pass


class ScriptedEETeleop(Teleoperator):
    """A LeRobot teleoperator that plays back scripted (action, events) pairs."""

    config_class = ScriptedEEConfig
    name = "scripted_ee"

    def __init__(self, config, script, name="keyboard_ee", connects=True):
        super().__init__(config)
        self.name, self.script, self.connects = name, list(script), connects
        self.connected = False
        self._events = {}

    action_features = property(lambda self: {"delta_x": float, "delta_y": float, "delta_z": float, "gripper": float})
    feedback_features = property(lambda self: {})
    is_connected = property(lambda self: self.connected)
    is_calibrated = property(lambda self: True)

    def connect(self, calibrate: bool = True):
        self.connected = self.connects

    def disconnect(self):
        self.connected = False

    def calibrate(self):
        pass

    def configure(self):
        pass

    def send_feedback(self, feedback):
        pass

    def get_action(self):
        action, self._events = self.script.pop(0)
        return action

    def get_teleop_events(self):
        return self._events


def scripted(tmp_path, script, **kwargs) -> ScriptedEETeleop:
    return ScriptedEETeleop(ScriptedEEConfig(calibration_dir=tmp_path), script, **kwargs)


def ee(dx=0.0, dy=0.0, dz=0.0, gripper=1.0) -> dict:
    return {"delta_x": dx, "delta_y": dy, "delta_z": dz, "gripper": gripper}


@pytest.mark.parametrize(
    ("teleop", "raw", "component", "sign"),
    [
        ("keyboard_ee", ee(dy=-1), "dx", 1),  # its Up arrow
        ("keyboard_ee", ee(dy=1), "dx", -1),  # Down
        ("keyboard_ee", ee(dx=1), "dy", 1),  # Left
        ("keyboard_ee", ee(dx=-1), "dy", -1),  # Right
        ("keyboard_ee", ee(dz=1), "dz", 1),  # Right Shift
        ("keyboard_ee", ee(dz=-1), "dz", -1),  # Left Shift
        ("gamepad", ee(dx=1), "dx", 1),  # left stick up
        ("gamepad", ee(dy=1), "dy", 1),  # left stick left
        ("gamepad", ee(dz=-1), "dz", -1),  # right stick down
    ],
)
def test_lerobot_adapter_maps_each_teleop_frame(tmp_path, teleop, raw, component, sign):
    with LeRobotTeleopAdapter(scripted(tmp_path, [(raw, {})], name=teleop)) as device:
        step = device.poll()
        assert only(step.action, component, float(sign)) and step.intervention


def test_lerobot_adapter_gripper_scale_yaw_and_events(tmp_path):
    script = [
        (ee(gripper=0), {}),  # close
        (ee(gripper=1), {}),  # stay: still closed
        (ee(dx=0.4, gripper=2), {TeleopEvents.SUCCESS: True}),  # open
        ({"delta_x": 0.0, "delta_y": 0.0, "delta_z": 0.0, "turn": 1.0}, {TeleopEvents.IS_INTERVENTION: True}),
        (ee(), {TeleopEvents.TERMINATE_EPISODE: True, TeleopEvents.RERECORD_EPISODE: True}),
    ]
    teleop = scripted(tmp_path, script, name="gamepad")
    device = LeRobotTeleopAdapter(teleop, scale=0.5, yaw_key="turn")
    device.connect()
    assert teleop.is_connected
    assert device.poll() == TeleopInput({**idle_action(), "gripper": 1.0}, frozenset(), True)
    assert device.poll() == TeleopInput({**idle_action(), "gripper": 1.0}, frozenset(), False)
    step = device.poll()
    assert step.action == {**idle_action(), "dx": 0.2} and step.events == {NEXT}
    step = device.poll()
    assert only(step.action, "dyaw", 0.5) and step.intervention
    assert device.poll().events == {RERECORD}
    teleop.disconnect()  # as keyboard_ee does itself on Esc
    assert device.poll().events == {STOP}
    device.disconnect()


def test_lerobot_adapter_rejects_bad_input(tmp_path):
    device = LeRobotTeleopAdapter(scripted(tmp_path, [(ee(gripper=5), {})]))
    device.connect()
    with pytest.raises(ValueError, match=r"0 \(close\), 1 \(stay\) or 2 \(open\)"):
        device.poll()
    with pytest.raises(ValueError, match="3x3"):
        LeRobotTeleopAdapter(scripted(tmp_path, []), frame=((1, 0), (0, 1)))
    with pytest.raises(RuntimeError, match="did not connect"):
        LeRobotTeleopAdapter(scripted(tmp_path, [], connects=False)).connect()


def test_lerobot_events_accept_enum_or_string_keys():
    assert convert_lerobot_events({"success": True}) == (frozenset({NEXT}), False)
    assert convert_lerobot_events({TeleopEvents.IS_INTERVENTION: True}) == (frozenset(), True)


def test_lerobot_frames_are_keyed_by_the_real_teleop_names():
    from lerobot.teleoperators.gamepad.teleop_gamepad import GamepadTeleop
    from lerobot.teleoperators.keyboard.teleop_keyboard import KeyboardEndEffectorTeleop

    from robolang.teleop.lerobot_adapter import LEROBOT_FRAMES

    assert set(LEROBOT_FRAMES) == {KeyboardEndEffectorTeleop.name, GamepadTeleop.name}


# ---- the control loop --------------------------------------------------------------------------------
class FakeRobot:
    """Counts observations and records the actions it was sent."""

    def __init__(self, fail_at: int | None = None):
        self.sent: list[dict] = []
        self.observations = 0
        self.fail_at = fail_at

    def get_observation(self) -> dict:
        self.observations += 1
        return {"frame": self.observations - 1}

    def send_action(self, action: dict) -> dict:
        if self.fail_at is not None and len(self.sent) == self.fail_at:
            raise RuntimeError("robot failed")
        self.sent.append(action)
        return {**action, "applied": True}


def test_run_teleop_paces_steps_hands_frames_on_and_stops():
    clock, robot, frames, printed = FakeClock(), FakeRobot(), [], []
    script = [{"dx": 1.0}, TeleopInput({**idle_action(), "gripper": 1.0}, frozenset({NEXT})), {"dy": -1.0}]
    device = ScriptedDevice(script)
    steps = run_teleop(
        robot,
        device,
        fps=10,
        on_step=lambda *f: frames.append(f),
        clock=clock,
        sleep=clock.sleep,
        print_fn=printed.append,
    )
    assert steps == 3 and len(robot.sent) == 3 and robot.observations == 3  # stop touched no robot
    assert clock.now == pytest.approx(0.3)  # 10 Hz
    assert [f[0]["frame"] for f in frames] == [0, 1, 2]  # the observation the action was chosen from
    assert frames[0][1] == {**idle_action(), "dx": 1.0, "applied": True}  # what the robot applied
    assert [f[2] for f in frames] == [frozenset(), {NEXT}, frozenset()]
    assert robot.sent[2]["gripper"] == 1.0  # a scripted device keeps its gripper; a keyboard resets it
    assert printed == [device.format_key_map()] and not device.is_connected


def test_run_teleop_max_steps_resets_device_after_episode_end_and_does_not_rush_when_late():
    keyboard = KeyboardMapping()
    held = iter([({"space"}, {"space"}), ({"enter"}, {"enter"}), (set(), set())] + [(set(), set())] * 10)

    class Keys(ScriptedDevice):
        def _poll(self):
            return keyboard.update(*next(held))

        def reset(self):
            keyboard.reset()

    clock, robot, sleeps = FakeClock(), FakeRobot(), []

    def send(action):
        clock.now += 0.25  # each step takes longer than a 10 Hz period
        return FakeRobot.send_action(robot, action)

    robot.send_action = send
    assert run_teleop(robot, Keys([]), fps=10, max_steps=4, clock=clock, sleep=sleeps.append, print_fn=None) == 4
    assert [a["gripper"] for a in robot.sent] == [1.0, 1.0, -1.0, -1.0]  # reopened after next_episode
    assert sleeps == []
    with pytest.raises(ValueError):
        run_teleop(robot, Keys([]), fps=0)


@pytest.fixture(scope="module")
def sim_robot():
    from sim.robot import PlayTableRobot, PlayTableRobotConfig

    robot = PlayTableRobot(PlayTableRobotConfig(static_width=64, static_height=64, wrist_width=64, wrist_height=64))
    robot.connect()
    yield robot
    robot.disconnect()


@pytest.mark.parametrize(
    ("command", "state", "sign"),
    [({"dx": 1.0}, "ee.x", 1), ({"dx": -1.0}, "ee.x", -1), ({"dy": 1.0}, "ee.y", 1), ({"dy": -1.0}, "ee.y", -1)]
    + [({"dz": 1.0}, "ee.z", 1), ({"dz": -1.0}, "ee.z", -1), ({"dyaw": 1.0}, "ee.yaw", 1)]
    + [({"dyaw": -1.0}, "ee.yaw", -1), ({"gripper": 1.0}, "gripper.width", -1)],
)
def test_run_teleop_moves_the_sim_end_effector_as_commanded(sim_robot, command, state, sign):
    sim_robot.reset(0)
    before = sim_robot.get_observation()[state]
    frames = []
    clock = FakeClock()
    steps = run_teleop(
        sim_robot,
        ScriptedDevice([command] * 4),
        on_step=lambda *f: frames.append(f),
        clock=clock,
        sleep=clock.sleep,
        print_fn=None,
    )
    moved = sim_robot.get_observation()[state] - before
    assert steps == 4 and len(frames) == 4
    assert sign * moved > 0.02, f"{command} moved {state} by {moved}"
    assert frames[0][0]["static"].shape == (64, 64, 3)


def test_terminal_keyboard_drives_the_sim(sim_robot, piped):
    sim_robot.reset(0)
    keyboard, write_fd, clock = piped
    before = sim_robot.get_observation()
    os.write(write_fd, b"d\x1b[A")  # right, then up: the terminal keeps the last key only
    assert run_teleop(sim_robot, keyboard, max_steps=10, clock=clock, sleep=clock.sleep, print_fn=None) == 10
    after = sim_robot.get_observation()
    # Both keys were pressed in the first step (1 cm each at half speed); then only Up is held,
    # for 0.5 s: 5 steps, 5 cm.
    assert after["ee.x"] - before["ee.x"] > 0.04
    assert -0.0125 < after["ee.y"] - before["ee.y"] < -0.005
