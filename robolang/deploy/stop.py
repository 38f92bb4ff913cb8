"""The stop key: space (in an interactive terminal) or Ctrl-C ends the instruction with the arm holding.

``StopKeys`` is a context manager around a deployment. Inside it, the first Ctrl-C does not
raise: it asks the loop to stop at the next step, which then holds the arm and saves the
episode; a second Ctrl-C raises ``KeyboardInterrupt`` as usual. When stdin is a terminal it is
put in cbreak mode (as the terminal teleop keyboard does) and space asks for a stop too.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading

from robolang.teleop.terminal import parse_terminal_keys


class StopKeys:
    """``requested`` (and ``why``) once the user asked to stop; ``clear()`` before the next instruction."""

    def __init__(self, keys: bool = True):
        self.requested = False
        self.why = ""
        self._use_keys = keys
        self._fd: int | None = None
        self._saved_tty = None
        self._previous_handler = None

    def request(self, why: str) -> None:
        self.requested, self.why = True, why

    def clear(self) -> None:
        self.requested, self.why = False, ""

    def poll(self) -> bool:
        """Read pending key presses (space stops); True once a stop was asked for."""
        if self._fd is not None and not self.requested:
            ready, _, _ = select.select([self._fd], [], [], 0)
            if ready:
                keys, _ = parse_terminal_keys(os.read(self._fd, 64))
                if "space" in keys:
                    self.request("space pressed")
        return self.requested

    def _on_sigint(self, signum, frame) -> None:
        if self.requested:  # the second Ctrl-C: the user means it
            raise KeyboardInterrupt
        self.request("Ctrl-C")

    def __enter__(self) -> StopKeys:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        if self._use_keys and sys.stdin is not None and sys.stdin.isatty():
            import termios
            import tty

            self._fd = sys.stdin.fileno()
            self._saved_tty = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved_tty is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved_tty)
            self._fd = self._saved_tty = None
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
