"""Scene state read-out and exact save/restore of pybullet bodies.

``scene_state`` is the structured, privileged state the captioner and the evaluator use:
object poses, fixture joint positions, the light, the end-effector and contacts. The
``SceneVector`` flattens it into a float vector with one name per field. ``body_state`` /
``set_body_state`` capture everything pybullet needs to continue a body bit-identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as pb

ROBOT_GRIPPER_LINKS = (8, 9, 10, 11)  # hand, both fingers, grasp target
FIXTURE_JOINTS = ("drawer", "slider", "button")
DESK_ENTITIES = ("table", "drawer", "drawer_cabinet", "slider_cabinet", "slider_door", "button_base", "button")


def contact_entities(object_names: tuple[str, ...]) -> tuple[str, ...]:
    """Everything a contact can name: movable objects, the gripper, the rest of the robot, the desk parts."""
    return (*object_names, "gripper", "robot", *DESK_ENTITIES)


@dataclass(frozen=True)
class SceneVector:
    """Names of the flat scene-state vector; ``fields[i]`` names entry ``i``."""

    object_names: tuple[str, ...]

    @property
    def contact_pairs(self) -> list[tuple[str, str]]:
        ents = contact_entities(self.object_names)
        return [(a, b) for i, a in enumerate(self.object_names) for b in ents[i + 1 :]]

    @property
    def fields(self) -> tuple[str, ...]:
        names: list[str] = []
        for o in self.object_names:
            names += [f"{o}.{k}" for k in ("x", "y", "z", "qx", "qy", "qz", "qw", "yaw")]
        names += [f"{j}.pos" for j in FIXTURE_JOINTS]
        names += ["light.on", "ee.x", "ee.y", "ee.z", "ee.yaw", "gripper.width"]
        names += [f"contact.{a}.{b}" for a, b in self.contact_pairs]
        return tuple(names)

    def flatten(self, state: dict) -> np.ndarray:
        """Scene-state dict -> float32 vector ordered as ``fields``."""
        values: list[float] = []
        for o in self.object_names:
            obj = state["objects"][o]
            values += [*obj["pos"], *obj["quat"], obj["yaw"]]
        values += [state["fixtures"][j] for j in FIXTURE_JOINTS]
        robot = state["robot"]
        values += [float(state["light_on"]), *robot["ee_pos"], robot["ee_yaw"], robot["gripper_width"]]
        touching = {tuple(sorted(p)) for p in state["contacts"]}
        values += [float(tuple(sorted(p)) in touching) for p in self.contact_pairs]
        return np.asarray(values, dtype=np.float32)


def yaw_from_quat(quat) -> float:
    """Rotation about world z of a body's frame (heading of its x axis)."""
    m = pb.getMatrixFromQuaternion(quat)
    return float(np.arctan2(m[3], m[0]))


def body_state(client: int, body: int) -> dict[str, np.ndarray]:
    """Base pose and velocity plus every joint position and velocity, as float64 arrays."""
    pos, quat = pb.getBasePositionAndOrientation(body, physicsClientId=client)
    lin, ang = pb.getBaseVelocity(body, physicsClientId=client)
    n = pb.getNumJoints(body, physicsClientId=client)
    joints = pb.getJointStates(body, range(n), physicsClientId=client) if n else []
    return {
        "base": np.asarray([*pos, *quat, *lin, *ang], dtype=np.float64),
        "joints": np.asarray([[j[0], j[1]] for j in joints], dtype=np.float64).reshape(n, 2),
    }


def set_body_state(client: int, body: int, state: dict[str, np.ndarray]) -> None:
    """Inverse of ``body_state``."""
    base = state["base"]
    pb.resetBasePositionAndOrientation(body, base[:3].tolist(), base[3:7].tolist(), physicsClientId=client)
    pb.resetBaseVelocity(body, base[7:10].tolist(), base[10:13].tolist(), physicsClientId=client)
    for j, (q, qd) in enumerate(state["joints"]):
        pb.resetJointState(body, j, float(q), float(qd), physicsClientId=client)


def contacts(client: int, names: dict[tuple[int, int], str], robot: int) -> list[tuple[str, str]]:
    """Sorted unique pairs of entity names in contact (robot links split into gripper / robot)."""
    pairs = set()
    for c in pb.getContactPoints(physicsClientId=client):
        a = _entity(names, robot, c[1], c[3])
        b = _entity(names, robot, c[2], c[4])
        if a != b and a is not None and b is not None:
            pairs.add(tuple(sorted((a, b))))
    return sorted(pairs)


def _entity(names: dict[tuple[int, int], str], robot: int, body: int, link: int) -> str | None:
    if body == robot:
        return "gripper" if link in ROBOT_GRIPPER_LINKS else "robot"
    return names.get((body, link), names.get((body, -2)))
