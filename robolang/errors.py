"""The one base class of errors that are meant for the user, not for a developer.

A ``RobolangError`` says what is wrong, where (the key, the file, the value) and what is
allowed; the command line prints it as one line and exits 2. Any other exception is a bug and
keeps its traceback. Library modules subclass it for their own failures (``ConfigError``,
``CheckpointError``, ...); the subclasses may also derive from the built-in type that best
describes them (``ValueError``, ``FileNotFoundError``) so callers can still catch those.
"""

from __future__ import annotations


class RobolangError(Exception):
    """A failure the user can fix: bad input, a missing or unwritable file, a refused run."""
