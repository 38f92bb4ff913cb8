"""Fake Feetech STS3215 servos behind a fake serial port: the wire under LeRobot's Feetech bus.

``install(monkeypatch, chains)`` replaces the serial port that ``scservo_sdk``'s ``PortHandler`` opens
with ``FakeSerial``, which parses the instruction packets it is sent (ping, read, write, sync
read, sync write) and answers with status packets from a register table per motor. Everything
above the bytes is the real code: ``scservo_sdk``'s packet handling, LeRobot's
``FeetechMotorsBus`` with its calibration and degree conversion, ``SO101Follower`` and
``SO101Leader``, and the robolang driver (STYLE.md 9: mock the bus, not the robot).

A ``FakeChain`` is one port's motors. It counts the write instructions it receives (``writes``),
logs every goal-position sync write (``goals``), and follows goals at once while torque is on (an
ideal servo, clamped to the motor's position limits, or off its goal by ``servos[id].sag``). It
can fail: ``silent`` (no status packets: LeRobot times out), ``unplugged`` (the port raises
``OSError``, as a pulled USB cable does), ``unplug_at_write`` (unplugged at the next write).
``trajectory``: positions applied at each sync read of ``Present_Position`` (a scripted leader arm
moved by hand).
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

import serial

MOTORS = {"shoulder_pan": 1, "shoulder_lift": 2, "elbow_flex": 3, "wrist_flex": 4, "wrist_roll": 5, "gripper": 6}
STS3215 = 777  # model number (lerobot.motors.feetech.tables.MODEL_NUMBER_TABLE)
TICKS = 4095
# Register addresses (lerobot.motors.feetech.tables.STS_SMS_SERIES_CONTROL_TABLE).
MODEL, MIN_LIMIT, MAX_LIMIT, HOMING = 3, 9, 11, 31
TORQUE, GOAL, PRESENT = 40, 42, 56
PING, READ, WRITE, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x82, 0x83
# Calibrated ranges (ticks) of a plausible arm: +-100 deg for pan and lift, +-95 deg for the elbow
# and wrist flex, the full turn for the wrist roll (as lerobot-calibrate records it), and a gripper.
RANGES = {
    "shoulder_pan": (910, 3185),
    "shoulder_lift": (910, 3185),
    "elbow_flex": (967, 3128),
    "wrist_flex": (967, 3128),
    "wrist_roll": (0, 4095),
    "gripper": (2000, 3400),
}


def degrees_to_ticks(motor: str, degrees: float) -> int:
    """Raw position of ``motor`` that LeRobot's degrees mode reads as ``degrees``."""
    low, high = RANGES[motor]
    return round(degrees * TICKS / 360 + (low + high) / 2)


def percent_to_ticks(motor: str, percent: float) -> int:
    """Raw position that LeRobot's 0-100 mode (the gripper) reads as ``percent``."""
    low, high = RANGES[motor]
    return round(low + percent / 100 * (high - low))


def write_calibration(folder: Path, arm_id: str) -> Path:
    """A LeRobot calibration file for ``arm_id`` with ``RANGES`` (as ``lerobot-calibrate`` writes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{arm_id}.json"
    entries = {
        m: {"id": i, "drive_mode": 0, "homing_offset": 0, "range_min": RANGES[m][0], "range_max": RANGES[m][1]}
        for m, i in MOTORS.items()
    }
    path.write_text(json.dumps(entries, indent=4))
    return path


class FakeServo:
    """One STS3215: a register table, calibrated as ``RANGES`` (``calibrated=False``: factory limits)."""

    def __init__(self, motor: str, ticks: int, calibrated: bool = True):
        self.regs = bytearray(256)
        self.sag = 0  # ticks the servo settles off its goal (gravity against a soft position loop)
        self.regs[0], self.regs[1] = 3, 10  # firmware 3.10
        low, high = RANGES[motor] if calibrated else (0, TICKS)
        for address, value in ((MODEL, STS3215), (MIN_LIMIT, low), (MAX_LIMIT, high), (GOAL, ticks), (PRESENT, ticks)):
            self.set(address, value)

    def get(self, address: int) -> int:
        return self.regs[address] | self.regs[address + 1] << 8

    def set(self, address: int, value: int) -> None:
        self.regs[address], self.regs[address + 1] = value & 0xFF, value >> 8 & 0xFF

    def write(self, address: int, data: bytes) -> None:
        self.regs[address : address + len(data)] = data
        if self.regs[TORQUE] and address <= GOAL + 1 and address + len(data) > GOAL:
            low, high = self.get(MIN_LIMIT), self.get(MAX_LIMIT)
            self.set(PRESENT, min(max(self.get(GOAL) + self.sag, low), high))


class FakeChain:
    """The motors on one port, and what was sent to them."""

    def __init__(self, ticks: Mapping[str, int], calibrated: bool = True):
        self.servos = {MOTORS[m]: FakeServo(m, ticks[m], calibrated) for m in MOTORS}
        self.writes = 0  # write and sync-write instructions received
        self.goals: list[dict[str, int]] = []  # each goal-position sync write, motor -> ticks
        self.silent = self.unplugged = False
        self.unplug_at_write: int | None = None  # unplugged when this many writes came (then: the next one fails)
        self.trajectory: Iterator[Mapping[str, int]] | None = None

    def present(self, motor: str) -> int:
        return self.servos[MOTORS[motor]].get(PRESENT)

    def move(self, ticks: Mapping[str, int]) -> None:
        """Move motors by hand (no goal involved)."""
        for motor, value in ticks.items():
            self.servos[MOTORS[motor]].set(PRESENT, value)

    def handle(self, packet: bytes) -> bytes:
        """The status packets the motors send back for one instruction packet."""
        assert packet[:2] == b"\xff\xff", packet
        motor_id, length, instruction = packet[2], packet[3], packet[4]
        params = packet[5 : 3 + length]
        assert packet[3 + length] == ~sum(packet[2 : 3 + length]) & 0xFF, "bad checksum"
        servo = self.servos.get(motor_id)
        if instruction == SYNC_WRITE:
            self._sync_write(params)
        elif instruction == WRITE:
            self.writes += 1
            if servo is not None:
                servo.write(params[0], params[1:])
        elif instruction == SYNC_READ:
            address, size = params[0], params[1]
            if address == PRESENT and self.trajectory is not None:
                self.move(next(self.trajectory, {}))
            ids = [i for i in params[2:] if i in self.servos]
            return b"".join(status(i, self.servos[i].regs[address : address + size]) for i in ids)
        if servo is None:
            return b""
        if instruction == READ:
            return status(motor_id, servo.regs[params[0] : params[0] + params[1]])
        return status(motor_id, b"") if instruction in (PING, WRITE) else b""

    def _sync_write(self, params: bytes) -> None:
        self.writes += 1
        address, size, names = params[0], params[1], {i: m for m, i in MOTORS.items()}
        goals = {}
        for start in range(2, len(params), size + 1):
            motor_id, data = params[start], params[start + 1 : start + 1 + size]
            if motor_id in self.servos:
                self.servos[motor_id].write(address, data)
                goals[names[motor_id]] = data[0] | data[1] << 8
        if address == GOAL:
            self.goals.append(goals)


def status(motor_id: int, data: bytes) -> bytes:
    body = bytes([motor_id, len(data) + 2, 0, *data])
    return b"\xff\xff" + body + bytes([~sum(body) & 0xFF])


class FakeSerial:
    """Stands in for ``serial.Serial`` on a port with a ``FakeChain``; other ports do not exist."""

    def __init__(self, chains: Mapping[str, FakeChain], port: str, **settings):
        if port not in chains:
            raise serial.SerialException(errno.ENOENT, f"could not open port {port}: No such file or directory")
        self.chain, self.port, self.is_open = chains[port], port, True
        self._rx = bytearray()

    def write(self, data) -> int:
        packet = bytes(data)
        if packet[4] in (WRITE, SYNC_WRITE) and self.chain.writes == self.chain.unplug_at_write:
            self.chain.unplugged = True
        if self.chain.unplugged:
            raise serial.SerialException(errno.EIO, "write failed: [Errno 5] Input/output error")
        reply = self.chain.handle(packet)
        if not self.chain.silent:  # powered-off motors still "receive" writes; nothing answers
            self._rx += reply
        return len(packet)

    def read(self, size: int = 1) -> bytes:
        if self.chain.unplugged:
            raise serial.SerialException(errno.EIO, "read failed: [Errno 5] Input/output error")
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self._rx)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self._rx.clear()

    def close(self) -> None:
        self.is_open = False


def arm_ticks(degrees: Mapping[str, float], gripper_percent: float) -> dict[str, int]:
    """Raw positions for arm joint angles (LeRobot degrees) and a gripper opening (0-100)."""
    ticks = {m: degrees_to_ticks(m, degrees.get(m, 0.0)) for m in MOTORS if m != "gripper"}
    return {**ticks, "gripper": percent_to_ticks("gripper", gripper_percent)}


def install(monkeypatch, chains: Mapping[str, FakeChain]) -> None:
    """Make ``scservo_sdk``'s ports open ``chains`` (port name -> motors) instead of real devices."""
    import scservo_sdk.port_handler as port_handler

    fake = SimpleNamespace(Serial=lambda port, **kw: FakeSerial(chains, port, **kw), EIGHTBITS=serial.EIGHTBITS)
    monkeypatch.setattr(port_handler, "serial", fake)


def radians_of(ticks: int, motor: str) -> float:
    """Joint angle (rad) LeRobot's degrees mode reads from raw ``ticks`` of ``motor``."""
    low, high = RANGES[motor]
    return math.radians((ticks - (low + high) / 2) * 360 / TICKS)
