"""Where each part of the simulator's flat scene-state vector is: the privileged policy's input map.

The recorder flattens the scene state into one vector whose entries are named in
``meta/info.json`` (``sim.state.SceneVector``; ``robolang.captioning.states``): per object
``<obj>.x/.y/.z/.qx/.qy/.qz/.qw/.yaw``, fixture joints ``<fixture>.pos``, ``light.on``, the
end effector ``ee.x/.y/.z/.yaw``, ``gripper.width`` and contact flags ``contact.<a>.<b>``.
``SceneLayout.from_fields`` reads the structure from those names alone (nothing here knows which
objects exist), so the privileged state policy can build one token per object and per fixture.
The end effector and gripper entries are not tokens of their own: the proprioception carries
them (the same values, measured by the robot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POSE = ("x", "y", "z", "qx", "qy", "qz", "qw", "yaw")
EE = ("ee.x", "ee.y", "ee.z")


@dataclass(frozen=True)
class SceneLayout:
    """Column indices into the scene vector (D,), by role. ``-1`` marks a contact not recorded."""

    objects: tuple[str, ...]  # O movable objects, in field order
    fixtures: tuple[str, ...]  # F fixture joints (``<name>.pos``) and on/off states (``<name>.on``)
    contact_entities: tuple[str, ...]  # E everything an object's contact flags can name
    pose: np.ndarray  # (O, 8) columns of x, y, z, qx, qy, qz, qw, yaw
    fixture_columns: np.ndarray  # (F,)
    ee: np.ndarray  # (3,) columns of ee.x, ee.y, ee.z
    contacts: np.ndarray  # (O, E) column of contact(object, entity), -1 where none is recorded
    ee_yaw: int = -1  # column of ee.yaw, -1 where it is not recorded

    @classmethod
    def from_fields(cls, fields: tuple[str, ...]) -> SceneLayout:
        """The layout of a scene vector named by ``fields``; ``ValueError`` naming what is missing."""
        index = {name: i for i, name in enumerate(fields)}
        missing = [name for name in EE if name not in index]
        if missing and fields:  # no fields at all: the empty layout of a policy not yet given a dataset
            raise ValueError(
                f"the scene state has no end-effector position {missing}: it is not a play-table recording"
            )
        objects = tuple(f[:-2] for f in fields if f.endswith(".x") and all(f"{f[:-2]}.{k}" in index for k in POSE))
        objects = tuple(o for o in objects if o != "ee")
        fixtures = tuple(f for f in fields if (f.endswith(".pos") or f.endswith(".on")))
        pairs = [f.split(".")[1:] for f in fields if f.startswith("contact.") and f.count(".") == 2]
        entities = tuple(dict.fromkeys(e for pair in pairs for e in pair))
        contacts = np.full((len(objects), len(entities)), -1, np.int64)
        for i, o in enumerate(objects):
            for j, e in enumerate(entities):
                contacts[i, j] = index.get(f"contact.{o}.{e}", index.get(f"contact.{e}.{o}", -1))
        return cls(
            objects,
            fixtures,
            entities,
            np.array([[index[f"{o}.{k}"] for k in POSE] for o in objects], np.int64).reshape(-1, len(POSE)),
            np.array([index[f] for f in fixtures], np.int64),
            np.array([index[n] for n in EE if n in index], np.int64),
            contacts,
            index.get("ee.yaw", -1),
        )

    @property
    def normalized_columns(self) -> np.ndarray:
        """Columns scaled by the data's statistics: object positions and fixture joints (metres).
        Quaternions, yaw (read as sin/cos), the light and contacts (0/1) are used as they are."""
        joints = [c for f, c in zip(self.fixtures, self.fixture_columns, strict=True) if f.endswith(".pos")]
        return np.unique(np.concatenate([self.pose[:, :3].reshape(-1), np.array(joints, np.int64)]))


def field_difference(trained: tuple[str, ...], given: tuple[str, ...]) -> str:
    """How two scene-field lists differ, in words (empty when they are the same, in the same order)."""
    trained, given = tuple(trained), tuple(given)
    if trained == given:
        return ""
    lacking = [f for f in trained if f not in set(given)]
    extra = [f for f in given if f not in set(trained)]
    parts = []
    if lacking:
        parts.append(f"it lacks {lacking[:6]}{' ...' if len(lacking) > 6 else ''} ({len(lacking)} fields)")
    if extra:
        parts.append(f"it has {extra[:6]}{' ...' if len(extra) > 6 else ''} the policy never saw ({len(extra)} fields)")
    if not parts:
        first = next(i for i, (a, b) in enumerate(zip(trained, given, strict=True)) if a != b)
        parts.append(
            f"the same fields in another order (entry {first} is {given[first]!r}, trained {trained[first]!r})"
        )
    return "; ".join(parts)
