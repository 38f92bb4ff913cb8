"""The captioner's user-facing error: input it cannot use, said in one line with what to do."""

from __future__ import annotations

from robolang.errors import RobolangError


class CaptionError(RobolangError, ValueError):
    """A dataset, path, config value or task the captioner cannot use; the message names it,
    the value and what is allowed (a ``ValueError`` too, for callers that catch that)."""
