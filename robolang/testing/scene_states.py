"""Scripted scene-state sequences for tests: build an ``EpisodeStates`` without a simulator.

``StateScript`` lays out the same fields a recording has (``sim.state.SceneVector``: poses,
fixture joints, light, end-effector, gripper, contact flags) for the play table's objects,
starts from a calm scene (everything resting on the table, the hand high and open) and lets a
test set any field over a range of frames. Setters take ``start`` / ``stop`` like a slice.
"""

from __future__ import annotations

import numpy as np

from robolang.captioning.states import POSE_KEYS, EpisodeStates, SceneInfo

PLAY_TABLE = {  # meta/robolang_scene.json of the play table (sim/robot.py scene_description)
    "objects": [
        {"name": "red_cube", "colour": "red", "shape": "cube", "size": [0.04, 0.04, 0.04]},
        {"name": "green_cube", "colour": "green", "shape": "cube", "size": [0.055, 0.055, 0.055]},
        {"name": "blue_bar", "colour": "blue", "shape": "bar", "size": [0.08, 0.035, 0.035]},
        {"name": "yellow_cylinder", "colour": "yellow", "shape": "cylinder", "size": [0.04, 0.04, 0.05]},
        {"name": "plate", "colour": "white", "shape": "plate", "size": [0.15, 0.15, 0.012]},
    ],
    "fixtures": {
        "drawer": {"travel": 0.16, "axis": "+y", "cabinet": [0.55, -0.46]},
        "slider": {"travel": 0.14, "axis": "+x", "cabinet": [0.55, 0.47]},
        "button": {"travel": 0.012, "position": [0.70, 0.14]},
    },
}
DESK = ("table", "drawer", "drawer_cabinet", "slider_cabinet", "slider_door", "button_base", "button")
HOME = {"red_cube": (0.40, -0.12), "green_cube": (0.40, 0.12), "blue_bar": (0.58, -0.12)}
HOME |= {"yellow_cylinder": (0.58, 0.12), "plate": (0.48, 0.0)}
EE_HOME = (0.30, 0.0, 0.35)  # high above the table's near edge: out of reach of everything


def scene_state_fields(objects: tuple[str, ...]) -> tuple[str, ...]:
    """Field names in the recorder's order (sim/state.py SceneVector.fields)."""
    names = [f"{o}.{k}" for o in objects for k in POSE_KEYS]
    names += ["drawer.pos", "slider.pos", "button.pos", "light.on", "ee.x", "ee.y", "ee.z", "ee.yaw", "gripper.width"]
    entities = (*objects, "gripper", "robot", *DESK)
    names += [f"contact.{a}.{b}" for i, a in enumerate(objects) for b in entities[i + 1 :]]
    return tuple(names)


def quaternion(yaw_deg: float = 0.0, tilt_deg: float = 0.0) -> np.ndarray:
    """(x, y, z, w) of a tilt about the body's x axis followed by a yaw about world z."""
    y, t = np.radians(yaw_deg) / 2, np.radians(tilt_deg) / 2
    # q_yaw * q_tilt with q_yaw = (0, 0, sin y, cos y), q_tilt = (sin t, 0, 0, cos t)
    return np.array([np.cos(y) * np.sin(t), np.sin(y) * np.sin(t), np.sin(y) * np.cos(t), np.cos(y) * np.cos(t)])


class StateScript:
    """A (frames, N) scene-state array edited by scripted calls, then ``states()``."""

    def __init__(self, frames: int, description: dict = PLAY_TABLE):
        self.scene = SceneInfo.from_description(description)
        self.objects = tuple(o.name for o in self.scene.objects)
        self.fields = scene_state_fields(self.objects)
        self.index = {f: i for i, f in enumerate(self.fields)}
        self.array = np.zeros((frames, len(self.fields)), dtype=np.float32)
        for k, name in enumerate(self.objects):
            xy = HOME.get(name, (0.35 + 0.08 * k, -0.2 + 0.1 * k))
            self.rest(name, xy)
        self.ee(EE_HOME)
        self.set("gripper.width", 0.08)

    def set(self, field: str, value, start: int = 0, stop: int | None = None) -> StateScript:
        self.array[start:stop, self.index[field]] = value
        return self

    def pose(self, obj, xyz, yaw_deg: float = 0.0, tilt_deg: float = 0.0, start=0, stop=None) -> StateScript:
        values = [*xyz, *quaternion(yaw_deg, tilt_deg), np.radians(yaw_deg)]
        for key, v in zip(POSE_KEYS, values, strict=True):
            self.set(f"{obj}.{key}", v, start, stop)
        return self

    def rest(self, obj, xy, yaw_deg: float = 0.0, start=0, stop=None) -> StateScript:
        """Resting on the table top at ``xy``: centre at half height, touching the table."""
        self.pose(obj, (*xy, self.scene.object(obj).half_height), yaw_deg, 0.0, start, stop)
        return self.touch(obj, "table", True, start, stop)

    def slide(self, obj, xy0, xy1, start: int, stop: int, yaw_deg: float = 0.0) -> StateScript:
        """Resting on the table and moved linearly from ``xy0`` (at ``start``) to ``xy1`` (at
        ``stop - 1``); stays at ``xy1`` afterwards."""
        n = stop - start
        for i in range(n):
            f = i / max(n - 1, 1)
            self.rest(obj, np.add(np.multiply(xy0, 1 - f), np.multiply(xy1, f)), yaw_deg, start + i, start + i + 1)
        return self.rest(obj, xy1, yaw_deg, stop)

    def touch(self, a, b, on: bool = True, start=0, stop=None) -> StateScript:
        key = f"contact.{a}.{b}" if f"contact.{a}.{b}" in self.index else f"contact.{b}.{a}"
        return self.set(key, float(on), start, stop)

    def grip(self, obj, width: float = 0.04, start=0, stop=None) -> StateScript:
        """Between the fingers: touching the gripper with the fingers closed on it."""
        self.touch(obj, "gripper", True, start, stop)
        return self.set("gripper.width", width, start, stop)

    def release(self, obj, start=0, stop=None) -> StateScript:
        self.touch(obj, "gripper", False, start, stop)
        return self.set("gripper.width", 0.08, start, stop)

    def ee(self, xyz, start=0, stop=None) -> StateScript:
        for k, v in zip("xyz", xyz, strict=True):
            self.set(f"ee.{k}", v, start, stop)
        return self

    def ee_path(self, xyz0, xyz1, start: int, stop: int) -> StateScript:
        """End-effector moved linearly over frames ``start .. stop - 1``; stays at the end after."""
        n = stop - start
        for i in range(n):
            f = i / max(n - 1, 1)
            self.ee(np.add(np.multiply(xyz0, 1 - f), np.multiply(xyz1, f)), start + i, start + i + 1)
        return self.ee(xyz1, stop)

    def states(self) -> EpisodeStates:
        return EpisodeStates(self.array.copy(), self.fields, self.scene)
