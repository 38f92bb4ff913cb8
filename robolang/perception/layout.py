"""What the state estimator predicts, read from the scene-state field names alone.

The simulator names every entry of its flat scene vector (``sim.state.SceneVector``):
``<object>.x/.y/.z/.qx/.qy/.qz/.qw/.yaw``, fixture joints ``<fixture>.pos``, ``light.on``, the end
effector and contact flags. The estimator predicts, per *entity*:

| entity | from the fields | output |
|---|---|---|
| object | ``<o>.x .y .z`` (+ ``<o>.yaw``) | position (m); sin/cos of ``k * yaw`` where the shape repeats every 360/k deg |
| fixture | ``<f>.pos`` | joint position (m) |
| switch | ``<s>.on`` | on/off (a probability) |

The end effector and the gripper are not predicted: proprioception measures them. Contacts are
left to a later rung.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolang.errors import RobolangError

# Yaw is predicted as sin/cos of k * yaw, k the shape's rotational symmetry about its up axis: a
# cube looks the same every 90 deg (k = 4), a bar every 180 deg (k = 2). A cylinder or a plate has
# no visible yaw (k = 0: not predicted).
YAW_SYMMETRY = {"cube": 4, "bar": 2}
POSITION_STD_FLOOR_M = 0.01  # an object that never moved in the data must not turn 1 mm into 1 std
JOINT_STD_FLOOR_M = 0.001  # the button travels 12 mm in all
PROPRIO_STD_FLOOR = 1e-3


class EstimatorDataError(RobolangError, ValueError):
    """Training data the estimator cannot learn from (no scene state, mismatched frames); says what is missing."""


@dataclass(frozen=True)
class EstimatorLayout:
    """Column indices into the scene vector (D,) of what the estimator predicts, by entity kind."""

    objects: tuple[str, ...]  # O objects
    position_columns: np.ndarray  # (O, 3) columns of x, y, z
    yaw_columns: np.ndarray  # (O,) column of yaw
    yaw_multiple: np.ndarray  # (O,) k of sin/cos(k * yaw); 0: yaw not predicted
    fixtures: tuple[str, ...]  # F joint names, e.g. "drawer"
    fixture_columns: np.ndarray  # (F,)
    switches: tuple[str, ...]  # S on/off names, e.g. "light"
    switch_columns: np.ndarray  # (S,)

    @classmethod
    def from_fields(cls, fields, shapes: dict[str, str] | None = None) -> EstimatorLayout:
        """The layout of a scene vector named by ``fields``; ``shapes`` (object -> shape) sets yaw symmetry.

        Refuses (``EstimatorDataError``, naming what is missing) fields that hold no object pose."""
        fields = tuple(fields)
        index = {name: i for i, name in enumerate(fields)}
        objects = tuple(
            f[:-2] for f in fields if f.endswith(".x") and f != "ee.x" and all(f"{f[:-2]}.{k}" in index for k in "yz")
        )
        if not objects:
            raise EstimatorDataError(
                "the scene state names no object position (no '<object>.x', '.y', '.z' fields): "
                f"got {len(fields)} fields {list(fields[:6])}; the estimator is supervised by the simulator's scene state"
            )
        shapes = shapes or {}
        fixtures = tuple(f[:-4] for f in fields if f.endswith(".pos"))
        switches = tuple(f[:-3] for f in fields if f.endswith(".on"))
        return cls(
            objects,
            np.array([[index[f"{o}.{k}"] for k in "xyz"] for o in objects], np.int64),
            np.array([index.get(f"{o}.yaw", -1) for o in objects], np.int64),
            np.array([YAW_SYMMETRY.get(shapes.get(o, ""), 0) if f"{o}.yaw" in index else 0 for o in objects]),
            fixtures,
            np.array([index[f"{f}.pos"] for f in fixtures], np.int64),
            switches,
            np.array([index[f"{s}.on"] for s in switches], np.int64),
        )

    @property
    def entities(self) -> tuple[str, ...]:
        """Every predicted thing, in head order: objects, fixtures, switches (E = O + F + S)."""
        return (*self.objects, *self.fixtures, *self.switches)

    def targets(self, scene: np.ndarray) -> dict[str, np.ndarray]:
        """(N, D) scene vectors -> position (N, O, 3) m, yaw (N, O) rad, fixture (N, F) m, switch (N, S) 0/1."""
        scene = np.asarray(scene, np.float32)
        yaw = np.where(self.yaw_columns >= 0, scene[:, np.maximum(self.yaw_columns, 0)], 0.0)
        return {
            "position": scene[:, self.position_columns],
            "yaw": yaw.astype(np.float32),
            "fixture": scene[:, self.fixture_columns],
            "switch": scene[:, self.switch_columns],
        }


def object_shapes(description: dict | None) -> dict[str, str]:
    """object -> shape from a robot's ``scene_description()`` (empty without one)."""
    return {o["name"]: o.get("shape", "") for o in (description or {}).get("objects", [])}


@dataclass(frozen=True)
class EstimatorStats:
    """The training data's statistics: outputs are predicted normalised, inputs are fed normalised."""

    position_mean: tuple  # (O, 3) m
    position_std: tuple  # (O, 3) m, floored at POSITION_STD_FLOOR_M
    fixture_mean: tuple  # (F,) m
    fixture_std: tuple  # (F,) m, floored at JOINT_STD_FLOOR_M
    proprio_mean: tuple  # (P,)
    proprio_std: tuple  # (P,)

    @classmethod
    def from_arrays(cls, layout: EstimatorLayout, scene: np.ndarray, proprio: np.ndarray) -> EstimatorStats:
        """Statistics of (N, D) scene vectors and (N, P) proprioception."""
        t = layout.targets(scene)
        pos, fix = t["position"].astype(np.float64), t["fixture"].astype(np.float64)
        proprio = np.asarray(proprio, np.float64)
        return cls(
            pos.mean(0).tolist(),
            np.maximum(pos.std(0), POSITION_STD_FLOOR_M).tolist(),
            fix.mean(0).tolist(),
            np.maximum(fix.std(0), JOINT_STD_FLOOR_M).tolist(),
            proprio.mean(0).tolist(),
            np.maximum(proprio.std(0), PROPRIO_STD_FLOOR).tolist(),
        )

    def to_dict(self) -> dict:
        """Plain JSON for the checkpoint's config.json."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> EstimatorStats:
        """Inverse of ``to_dict``."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})
