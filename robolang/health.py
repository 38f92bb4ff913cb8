"""Health checks over scene-state dicts: non-finite values and objects that left the table.

A simulation that blew up (NaN poses) or lost an object over the edge keeps running and
keeps recording; these checks find that early, so collection can reset the episode and a
dataset never silently fills with garbage. Everything here is a pure function of plain data
(STYLE.md 2); the table's bounds come in as arguments, so the core never imports ``sim``.

A scene state has the format of ``sim.scene.PlayTableScene.scene_state()``::

    {"objects": {name: {"pos": (x, y, z), "quat": (x, y, z, w), "yaw": float}},
     "fixtures": {name: float}, "light_on": bool,
     "robot": {"ee_pos": (x, y, z), "ee_yaw": float, "gripper_width": float},
     "contacts": [(a, b), ...]}
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from robolang.errors import RobolangError

# Kinds of issue, as ``HealthIssue.kind``.
NON_FINITE = "non_finite"  # NaN or +-inf anywhere in the state
OFF_TABLE = "off_table"  # an object's centre is outside the table top's xy footprint
BELOW_TABLE = "below_table"  # inside the footprint but below the top (fell through it)
MALFORMED = "malformed"  # the state does not have the expected structure

# Sections whose second-level keys name the entity (an object, a fixture).
_NAMED_SECTIONS = ("objects", "fixtures")


@dataclass(frozen=True)
class HealthIssue:
    """One problem found in a scene state: what kind, which entity, and a readable message."""

    kind: str
    entity: str
    message: str


class NonFiniteStateError(RobolangError, ValueError):
    """A state holds NaN or +-inf values; the message names every offending field."""


def nan_fields(vector: Sequence[float] | np.ndarray, names: Sequence[str]) -> list[str]:
    """Names of the entries of a flat vector that are NaN or +-inf, in vector order.

    ``names[i]`` names ``vector[i]`` (e.g. ``sim.state.SceneVector.fields``, or
    ``robolang.features.STATE_NAMES``). Raises ``ValueError`` if the lengths differ.
    """
    arr = np.asarray(vector, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != len(names):
        raise ValueError(f"vector of shape {arr.shape} does not match {len(names)} names")
    return [names[i] for i in np.flatnonzero(~np.isfinite(arr))]


def non_finite_paths(value, path: str = "") -> list[str]:
    """Paths (``objects.red_cube.pos[2]``) of every NaN or +-inf number in a nested structure.

    Walks mappings, lists, tuples and numpy arrays; strings, bools and ``None`` are skipped.
    """
    return [p for p, _ in _non_finite(value, path)]


def _non_finite(value, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool | str | bytes) or value is None:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _non_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _non_finite(v, f"{path}[{i}]")
    elif isinstance(value, np.ndarray) and value.ndim == 0:
        yield from _non_finite(value.item(), path)
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            for idx in zip(*np.nonzero(~np.isfinite(value)), strict=True):
                yield f"{path}[{', '.join(str(int(i)) for i in idx)}]", float(np.real(value[idx]))
    elif isinstance(value, float | np.floating | complex | np.complexfloating) and not np.isfinite(value):
        yield path, float(np.real(value))


def raise_on_nan(state) -> object:
    """Return ``state`` unchanged, or raise ``NonFiniteStateError`` naming every NaN/inf field."""
    bad = list(_non_finite(state, ""))
    if bad:
        fields = ", ".join(f"{p}={v}" for p, v in bad)
        raise NonFiniteStateError(
            f"{len(bad)} non-finite value(s) in the state: {fields}. The physics has diverged or a "
            "sensor returned garbage; reset before using this state."
        )
    return state


def _entity(path: str) -> str:
    """``objects.red_cube.pos[2]`` -> ``red_cube``; ``robot.ee_pos[0]`` -> ``robot``."""
    head, _, rest = path.partition(".")
    head = head.split("[")[0]
    if head in _NAMED_SECTIONS and rest:
        return rest.split(".")[0].split("[")[0]
    return head


class HealthMonitor:
    """Checks scene states for non-finite values and for objects that left the table.

    Args:
        table_low, table_high: (x, y) corners of the table top in the world frame (m).
        table_z: height of the table top (m).
        drop_margin: an object whose centre is more than this below ``table_z`` has fallen (m).
            5 cm is below any resting pose (object centres sit above the top) yet well above
            the floor, so a fall is caught on the way down.
    """

    def __init__(
        self,
        table_low: Sequence[float],
        table_high: Sequence[float],
        table_z: float = 0.0,
        drop_margin: float = 0.05,
    ):
        self.table_low = tuple(float(v) for v in table_low)
        self.table_high = tuple(float(v) for v in table_high)
        if len(self.table_low) != 2 or len(self.table_high) != 2:
            raise ValueError(f"table bounds must be (x, y) pairs, got {table_low} and {table_high}")
        if not all(lo < hi for lo, hi in zip(self.table_low, self.table_high, strict=True)):
            raise ValueError(f"table_low {self.table_low} must be below table_high {self.table_high}")
        self.table_z = float(table_z)
        self.drop_margin = float(drop_margin)

    @classmethod
    def from_table(
        cls, center: Sequence[float], size: Sequence[float], table_z: float = 0.0, drop_margin: float = 0.05
    ):
        """Bounds from the table top's (x, y) centre and (x, y) size, e.g. ``sim.assets.TABLE_*``."""
        low = [c - s / 2 for c, s in zip(center, size, strict=True)]
        high = [c + s / 2 for c, s in zip(center, size, strict=True)]
        return cls(low, high, table_z, drop_margin)

    def check(self, state) -> list[HealthIssue]:
        """Every issue in ``state``; an empty list means healthy. Never raises."""
        try:
            if not isinstance(state, Mapping):
                return [HealthIssue(MALFORMED, "scene", f"scene state is a {type(state).__name__}, not a dict")]
            issues = [
                HealthIssue(NON_FINITE, _entity(p), f"{p} is {v} (NaN/inf): the physics diverged or a reading is bad")
                for p, v in _non_finite(state, "")
            ]
            return issues + self._check_objects(state.get("objects", {}))
        except Exception as exc:  # a health check must never take the caller down
            return [HealthIssue(MALFORMED, "scene", f"could not check the scene state: {type(exc).__name__}: {exc}")]

    def _check_objects(self, objects) -> list[HealthIssue]:
        if not isinstance(objects, Mapping):
            return [HealthIssue(MALFORMED, "objects", f"'objects' is a {type(objects).__name__}, not a dict")]
        issues = []
        for name, obj in objects.items():
            issue = self.check_object(str(name), obj)
            if issue is not None:
                issues.append(issue)
        return issues

    def check_object(self, name: str, obj) -> HealthIssue | None:
        """The issue of one object's pose (``{"pos": (x, y, z), ...}``), if it left the table."""
        try:
            x, y, z = (float(v) for v in obj["pos"])
        except (KeyError, TypeError, ValueError) as exc:
            return HealthIssue(MALFORMED, name, f"{name} has no readable 'pos' (x, y, z): {exc!r}")
        if not all(math.isfinite(v) for v in (x, y, z)):
            return None  # already reported as non-finite
        (x_lo, y_lo), (x_hi, y_hi) = self.table_low, self.table_high
        where = f"({x:.3f}, {y:.3f}, {z:.3f})"
        if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi):
            return HealthIssue(
                OFF_TABLE,
                name,
                f"{name} at {where} left the table: outside x [{x_lo:.3f}, {x_hi:.3f}], y [{y_lo:.3f}, {y_hi:.3f}]",
            )
        z_min = self.table_z - self.drop_margin
        if z < z_min:
            return HealthIssue(
                BELOW_TABLE,
                name,
                f"{name} at {where} is below the table top: z < {z_min:.3f} (top at {self.table_z:.3f})",
            )
        return None

    def is_healthy(self, state) -> bool:
        """True when ``check`` finds nothing."""
        return not self.check(state)
