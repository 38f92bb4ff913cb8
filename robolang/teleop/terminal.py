"""A keyboard read from a terminal: works over SSH and without any window.

The terminal is put in cbreak mode (no line buffering, no echo; Ctrl-C still raises
``KeyboardInterrupt``) and read without blocking. Terminals report key presses but never key
releases, so a key counts as held while its auto-repeat keeps arriving: a fresh press holds
for ``first_hold_s`` (longer than the OS's delay before repeating starts) and each repeat
for ``repeat_hold_s`` (longer than the gap between repeats). Only the last key pressed
repeats, so a fresh key releases the others: one motion at a time (the GUI keyboard has no
such limit).
"""

from __future__ import annotations

import atexit
import os
import select
import sys
import time
from collections.abc import Callable, Sequence

from robolang.teleop.device import TeleopDevice, TeleopEvent, TeleopInput
from robolang.teleop.mapping import KeyboardMapping

_CSI_FINAL = {b"A": "up", b"B": "down", b"C": "right", b"D": "left"}
_CSI_TILDE = {b"5": "page_up", b"6": "page_down"}
_SINGLE = {0x0D: "enter", 0x0A: "enter", 0x7F: "backspace", 0x08: "backspace", 0x20: "space", 0x09: "tab"}


def parse_terminal_keys(data: bytes) -> tuple[list[str], bytes]:
    """Bytes from a terminal -> key names (``"w"``, ``"up"``, ``"enter"``, ``"esc"``) and the
    unparsed tail (an escape sequence cut between two reads).

    Letters are lower-cased (Caps Lock or Shift do not change a key's meaning). A lone Esc at
    the end of the data is the Esc key; Esc followed by a character (Alt+key) is dropped.
    Unknown escape sequences (function keys) are skipped.
    """
    keys: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            if i + 1 == n or data[i + 1] == 0x1B:  # a lone Esc, or Esc pressed twice
                keys.append("esc")
                i += 1
            elif data[i + 1] in b"[O":
                end = _sequence_end(data, i)
                if end is None:
                    return keys, data[i:]
                key = _sequence_key(data[i + 1 : end])
                if key:
                    keys.append(key)
                i = end
            else:
                i += 2  # Alt+key
            continue
        if b == 0x0D and i + 1 < n and data[i + 1] == 0x0A:
            i += 1  # CR LF is one Enter
        if b in _SINGLE:
            keys.append(_SINGLE[b])
        elif 0x21 <= b <= 0x7E:
            keys.append(chr(b).lower())
        i += 1
    return keys, b""


def _sequence_end(data: bytes, start: int) -> int | None:
    """Index past the escape sequence starting at ``data[start]`` (ESC [ ... final or ESC O x)."""
    if data[start + 1] == ord("O"):
        return start + 3 if start + 2 < len(data) else None
    j = start + 2
    while j < len(data) and 0x20 <= data[j] <= 0x3F:  # parameter and intermediate bytes
        j += 1
    return j + 1 if j < len(data) else None


def _sequence_key(body: bytes) -> str | None:
    """``[A`` / ``OA`` / ``[1;2A`` -> ``up``; ``[5~`` -> ``page_up``; anything else -> None."""
    final, params = body[-1:], body[1:-1]
    if final in _CSI_FINAL:
        return _CSI_FINAL[final]
    if final == b"~":
        return _CSI_TILDE.get(params.split(b";")[0])
    return None


class KeyHoldTracker:
    """Key-repeat based hold detection (pure: the time comes in as an argument)."""

    def __init__(self, first_hold_s: float = 0.6, repeat_hold_s: float = 0.12, exclusive: bool = True):
        self.first_hold_s = first_hold_s
        self.repeat_hold_s = repeat_hold_s
        self.exclusive = exclusive
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (last seen, repeats seen)

    def update(self, keys: Sequence[str], now: float) -> tuple[frozenset[str], frozenset[str]]:
        """Keys read since the last update -> (held now, newly pressed)."""
        pressed = set()
        for key in keys:
            if key in self._seen:
                self._seen[key] = (now, self._seen[key][1] + 1)
                continue
            if self.exclusive:  # the terminal stops repeating a key once another is pressed
                self._seen.clear()  # (a press in this same read still counts: it happened)
            pressed.add(key)
            self._seen[key] = (now, 0)
        for key, (last, repeats) in list(self._seen.items()):
            if now - last >= (self.first_hold_s if repeats == 0 else self.repeat_hold_s):
                del self._seen[key]
        return frozenset(self._seen), frozenset(pressed)

    def clear(self) -> None:
        self._seen.clear()


class TerminalKeyboard(TeleopDevice):
    """The keyboard of the terminal the program runs in (``robolang.teleop.mapping.DEFAULT_KEYS``).

    ``input``: a file descriptor or an object with ``fileno()`` (default: standard input).
    A non-terminal input (a pipe) is read as it is, which is how tests inject key strokes.
    End of input raises ``stop``.
    """

    name = "terminal keyboard"

    def __init__(
        self,
        mapping: KeyboardMapping | None = None,
        input=None,
        clock: Callable[[], float] = time.monotonic,
        first_hold_s: float = 0.6,
        repeat_hold_s: float = 0.12,
    ):
        super().__init__()
        self.mapping = mapping or KeyboardMapping()
        self.tracker = KeyHoldTracker(first_hold_s, repeat_hold_s)
        self._input = input
        self._clock = clock
        self._fd: int | None = None
        self._saved_mode: list | None = None
        self._pending = b""
        self._eof = False

    @property
    def key_map(self) -> list[tuple[str, str]]:
        return self.mapping.key_map

    def _connect(self) -> None:
        source = sys.stdin if self._input is None else self._input
        self._fd = source if isinstance(source, int) else source.fileno()
        self._pending, self._eof = b"", False
        self.tracker.clear()
        if os.isatty(self._fd):
            import termios  # POSIX only: imported here so `import robolang.teleop` works anywhere
            import tty

            self._saved_mode = termios.tcgetattr(self._fd)
            atexit.register(self._restore_terminal)  # even if the program exits without disconnect
            tty.setcbreak(self._fd)

    def _disconnect(self) -> None:
        self._restore_terminal()
        self._fd = None

    def _restore_terminal(self) -> None:
        if self._saved_mode is None:
            return
        import termios

        try:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved_mode)
        finally:
            self._saved_mode = None
            atexit.unregister(self._restore_terminal)

    def _read_available(self) -> bytes:
        data = b""
        for _ in range(64):  # bounded: a stream that never pauses cannot stall the control loop
            if self._eof or not select.select([self._fd], [], [], 0)[0]:
                break
            chunk = os.read(self._fd, 1024)
            if not chunk:
                self._eof = True
            data += chunk
        return data

    def _poll(self) -> TeleopInput:
        keys, self._pending = parse_terminal_keys(self._pending + self._read_available())
        held, pressed = self.tracker.update(keys, self._clock())
        step = self.mapping.update(held, pressed)
        if self._eof:  # nothing can arrive any more, not even a stop key
            return TeleopInput(step.action, step.events | {TeleopEvent.STOP}, step.intervention)
        return step

    def reset(self) -> None:
        self.mapping.reset()
