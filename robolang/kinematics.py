"""Forward and inverse kinematics of any arm URDF, in its own pybullet DIRECT client.

The robot contract moves the end effector by position and yaw (``robolang.features``); a real arm
takes joint angles. ``ArmKinematics`` converts between the two for whatever URDF it is given:

* **Forward**: joint angles (rad) -> ``EEPose``: the end-effector link's position in the URDF's
  root frame (the robot base frame, m), its rotation, and its **yaw**: the heading, about the
  base z axis, of the link's x axis (``atan2(R[1, 0], R[0, 0])``), as the simulator defines it
  for its pointing-down gripper (``sim.panda.yaw_of``). It is undefined where that x axis is
  vertical; URDFs made for robolang keep it horizontal in normal use (``hardware/so101_urdf.py``).
* **Inverse**: a target position and yaw -> joint angles within the joint limits, seeded from the
  current joints. Position and yaw come first (4 equations); any freedom left keeps the tool's
  approach axis (the link's z) where it was, so a 5-DOF arm keeps its pitch and a 7-DOF arm its
  posture. Damped least squares on pybullet's Jacobian, projected task-priority style
  (Siciliano & Slotine 1991). A target it cannot reach within ``position_tolerance_m`` and
  ``yaw_tolerance_rad`` raises ``UnreachableTargetError``, never a silent compromise.

pybullet runs here as a geometry library: a DIRECT client per instance, no physics stepping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet as pb

from robolang.errors import RobolangError
from robolang.safety import wrap_angle


class UnreachableTargetError(RobolangError, ValueError):
    """An end-effector target outside what the arm can reach within its joint limits."""


class KinematicsError(RobolangError, ValueError):
    """A URDF that cannot serve: missing file, unknown link or joint."""


@dataclass(frozen=True)
class EEPose:
    """End-effector pose in the robot base frame: ``position`` (3,) m, ``yaw`` rad in [-pi, pi),
    ``rotation`` (3, 3) (columns: the link's x, y, z axes)."""

    position: np.ndarray
    yaw: float
    rotation: np.ndarray

    @property
    def approach(self) -> np.ndarray:
        """(3,) the link's z axis: the direction the tool points."""
        return self.rotation[:, 2]


@dataclass(frozen=True)
class IKSettings:
    """How hard ``inverse`` tries. Tolerances: 1 mm and 0.5 deg, well inside the 2 cm / 8.6 deg of
    one full-scale action (``EEDeltaLimits``); the step cap keeps each Newton step in the region
    where the Jacobian is a good model."""

    max_iterations: int = 150
    stall_iterations: int = 3  # give up after this many steps in a row that do not help
    position_tolerance_m: float = 1e-3
    yaw_tolerance_rad: float = math.radians(0.5)
    damping: float = 1e-3
    secondary_damping: float = 0.05  # the approach-axis task may be nearly singular: damp it harder
    max_secondary_step_rad: float = 0.05
    max_step_rad: float = 0.2
    yaw_length_m: float = 0.1  # weighs 1 rad of yaw error like 10 cm of position error


@dataclass(frozen=True)
class ArmModel:
    """What describes an arm's kinematics: the URDF, its end-effector link and the joints IK
    moves (in the order of the joint vectors). Drivers expose theirs as ``robot.arm_model`` so a
    device (a leader arm) can compute the same poses."""

    urdf: Path
    ee_link: str
    joints: tuple[str, ...]

    def kinematics(self, limits: Mapping[str, tuple[float, float]] | None = None) -> ArmKinematics:
        return ArmKinematics(self.urdf, self.ee_link, self.joints, limits)


def yaw_of_rotation(rotation: np.ndarray) -> float:
    """Heading of the rotation's x axis about the base z axis, in [-pi, pi)."""
    return float(wrap_angle(math.atan2(rotation[1, 0], rotation[0, 0])))


class ArmKinematics:
    """FK and IK of one arm. ``urdf``: a URDF file whose root link is the robot base frame.
    ``ee_link``: the end-effector link. ``joints``: the joints IK may move (default: every movable
    joint from the root to ``ee_link``), in the order of the joint vectors. ``limits``:
    (lower, upper) rad per joint name, tighter than the URDF's (e.g. from a motor calibration);
    the intersection is used."""

    def __init__(
        self,
        urdf: str | Path,
        ee_link: str,
        joints: Sequence[str] | None = None,
        limits: Mapping[str, tuple[float, float]] | None = None,
        settings: IKSettings | None = None,
    ):
        path = Path(urdf)
        if not path.is_file():
            raise KinematicsError(f"URDF {path} not found; give the path of the arm's URDF file")
        self.urdf = path
        self.settings = settings or IKSettings()
        self._client = pb.connect(pb.DIRECT)
        try:
            try:
                self._body = pb.loadURDF(str(path), useFixedBase=True, physicsClientId=self._client)
            except pb.error as e:
                raise KinematicsError(
                    f"pybullet cannot load the URDF {path} ({e}): is it valid, and are the meshes it names "
                    "(e.g. an assets/ folder) beside it?"
                ) from e
            self._index_joints(ee_link, joints)
            self._set_limits(limits or {})
        except Exception:
            self.close()
            raise

    # ---- set-up ----------------------------------------------------------------------------------
    def _index_joints(self, ee_link: str, joints: Sequence[str] | None) -> None:
        c, body = self._client, self._body
        infos = [pb.getJointInfo(body, i, physicsClientId=c) for i in range(pb.getNumJoints(body, physicsClientId=c))]
        links = {info[12].decode(): info[0] for info in infos}  # child link name -> its index
        if ee_link not in links:
            raise KinematicsError(f"{self.urdf.name} has no link {ee_link!r}; links: {sorted(links)}")
        self.ee_link = ee_link
        self._ee = links[ee_link]
        self._movable = [info[0] for info in infos if info[2] != pb.JOINT_FIXED]  # pybullet's DOF order
        by_name = {info[1].decode(): info for info in infos}
        if joints is None:
            chain, i = [], self._ee
            while i >= 0:
                if infos[i][2] != pb.JOINT_FIXED:
                    chain.append(infos[i][1].decode())
                i = infos[i][16]  # parent link index
            joints = chain[::-1]
        unknown = [j for j in joints if j not in by_name or by_name[j][2] == pb.JOINT_FIXED]
        if unknown:
            movable = [info[1].decode() for info in infos if info[2] != pb.JOINT_FIXED]
            raise KinematicsError(f"{self.urdf.name} has no movable joints {unknown}; movable: {movable}")
        self.joints = tuple(joints)
        self._indices = [by_name[j][0] for j in joints]
        self._columns = [self._movable.index(i) for i in self._indices]  # Jacobian columns of our joints
        self._urdf_limits = {j: (by_name[j][8], by_name[j][9]) for j in joints}
        # pybullet's Jacobian is taken at a point given in the link's centre-of-mass frame: the
        # link origin's coordinates there.
        com_pos, com_orn = pb.getLinkState(body, self._ee, physicsClientId=c)[2:4]
        inv_pos, _ = pb.invertTransform(com_pos, com_orn)
        self._ee_in_com = list(inv_pos)

    def _set_limits(self, limits: Mapping[str, tuple[float, float]]) -> None:
        unknown = sorted(set(limits) - set(self.joints))
        if unknown:
            raise KinematicsError(f"limits for joints {unknown} that IK does not move; joints: {list(self.joints)}")
        lower, upper = [], []
        for j in self.joints:
            lo, hi = self._urdf_limits[j]
            if lo > hi:  # a continuous joint: pybullet reports (0, -1)
                lo, hi = -math.inf, math.inf
            if j in limits:
                lo, hi = max(lo, limits[j][0]), min(hi, limits[j][1])
            if lo > hi:
                raise KinematicsError(f"joint {j}: limits {limits[j]} do not overlap the URDF's {self._urdf_limits[j]}")
            lower.append(lo)
            upper.append(hi)
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)

    def close(self) -> None:
        """Disconnect the pybullet client (safe to call twice)."""
        if self._client is not None and pb.isConnected(self._client):
            pb.disconnect(self._client)
        self._client = None

    # ---- forward -----------------------------------------------------------------------------------
    def clip(self, q: Sequence[float]) -> np.ndarray:
        """Joint angles clipped into the limits."""
        return np.clip(np.asarray(q, dtype=np.float64), self.lower, self.upper)

    def forward(self, q: Sequence[float]) -> EEPose:
        """End-effector pose at joint angles ``q`` (rad, ordered as ``joints``)."""
        q = np.asarray(q, dtype=np.float64)
        if q.shape != (len(self.joints),):
            raise ValueError(f"expected {len(self.joints)} joint angles {list(self.joints)}, got shape {q.shape}")
        for index, angle in zip(self._indices, q, strict=True):
            pb.resetJointState(self._body, index, float(angle), physicsClientId=self._client)
        state = pb.getLinkState(self._body, self._ee, computeForwardKinematics=1, physicsClientId=self._client)
        rotation = np.asarray(pb.getMatrixFromQuaternion(state[5]), dtype=np.float64).reshape(3, 3)
        return EEPose(np.asarray(state[4], dtype=np.float64), yaw_of_rotation(rotation), rotation)

    def _jacobians(self) -> tuple[np.ndarray, np.ndarray]:
        """(3, n) linear and angular Jacobians of the end effector at the joints last set."""
        states = pb.getJointStates(self._body, self._movable, physicsClientId=self._client)
        positions = [s[0] for s in states]
        zeros = [0.0] * len(positions)
        linear, angular = pb.calculateJacobian(
            self._body, self._ee, self._ee_in_com, positions, zeros, zeros, physicsClientId=self._client
        )
        return np.asarray(linear)[:, self._columns], np.asarray(angular)[:, self._columns]

    # ---- inverse -----------------------------------------------------------------------------------
    def inverse(
        self,
        position: Sequence[float],
        yaw: float,
        seed: Sequence[float],
        approach: Sequence[float] | None = None,
    ) -> np.ndarray:
        """Joint angles (rad, within the limits) that put the end effector at ``position`` with
        ``yaw``, starting from ``seed`` (the current joints). ``approach``: the tool direction
        to keep with the freedom left (default: the seed's). Raises ``UnreachableTargetError``."""
        s = self.settings
        target = np.asarray(position, dtype=np.float64)
        q = self.clip(seed)
        pose = self.forward(q)
        keep = pose.approach if approach is None else np.asarray(approach, dtype=np.float64)
        stalled = 0
        for _ in range(s.max_iterations):
            e_pos, e_yaw = target - pose.position, float(wrap_angle(yaw - pose.yaw))
            if np.linalg.norm(e_pos) <= s.position_tolerance_m and abs(e_yaw) <= s.yaw_tolerance_rad:
                return q
            # After a step that did not help, try the main task alone: the approach-axis task
            # can pull against it once the remaining error is small.
            step = self._limited_step(q, pose, e_pos, e_yaw, keep if stalled == 0 else None)
            improved, trial, trial_pose = self._line_search(q, step, target, yaw, self._cost(e_pos, e_yaw))
            if improved:
                q, pose, stalled = trial, trial_pose, 0
            else:
                pose, stalled = self.forward(q), stalled + 1
                if stalled >= s.stall_iterations:  # against a limit or out of reach
                    break
        e_pos, e_yaw = target - pose.position, float(wrap_angle(yaw - pose.yaw))
        raise UnreachableTargetError(
            f"end-effector target {np.round(target, 4).tolist()} m, yaw {math.degrees(yaw):.1f} deg is out of reach "
            f"of {self.urdf.name} within its joint limits (closest: {np.linalg.norm(e_pos) * 1000:.1f} mm and "
            f"{math.degrees(abs(e_yaw)):.1f} deg away)"
        )

    def _cost(self, e_pos: np.ndarray, e_yaw: float) -> float:
        return float(np.linalg.norm(e_pos)) + self.settings.yaw_length_m * abs(e_yaw)

    def _limited_step(self, q, pose: EEPose, e_pos, e_yaw: float, keep: np.ndarray | None) -> np.ndarray:
        """The joint step towards the target (``keep``: the approach axis to hold, or None), with
        joints pinned at a limit left out and the largest joint change capped."""
        jacobians = self._jacobians()  # at q: the joints forward() set last
        step = self._step(pose, jacobians, e_pos, e_yaw, keep, self._free(q, None))
        step = self._step(pose, jacobians, e_pos, e_yaw, keep, self._free(q, step))
        biggest = float(np.max(np.abs(step)))
        return step * (self.settings.max_step_rad / biggest) if biggest > self.settings.max_step_rad else step

    def _line_search(self, q: np.ndarray, step: np.ndarray, target: np.ndarray, yaw: float, cost: float):
        """(improved, joints, pose): ``step``, halved up to 6 times until it lowers the position +
        yaw error ``cost`` by at least 0.1 %: a Newton step can overshoot where the Jacobian bends."""
        for _ in range(6):
            trial = self.clip(q + step)
            pose = self.forward(trial)
            if self._cost(target - pose.position, float(wrap_angle(yaw - pose.yaw))) < cost * (1 - 1e-3):
                return True, trial, pose
            step = step / 2
        return False, q, pose

    def _free(self, q: np.ndarray, step: np.ndarray | None) -> np.ndarray:
        """(n,) 1 for joints the step may move, 0 for those at a limit that it pushes further out."""
        if step is None:
            return np.ones(len(q))
        pinned = ((q <= self.lower + 1e-9) & (step < 0)) | ((q >= self.upper - 1e-9) & (step > 0))
        return (~pinned).astype(np.float64)

    def _step(self, pose: EEPose, jacobians, e_pos: np.ndarray, e_yaw: float, keep, free: np.ndarray) -> np.ndarray:
        """One task-priority step: position and yaw first, then the approach axis in what is left.
        ``jacobians``: (linear, angular) at ``pose``; ``free`` masks out joints pinned at a limit."""
        s = self.settings
        linear, angular = jacobians[0] * free, jacobians[1] * free
        x_axis = pose.rotation[:, 0]
        horizontal = x_axis[0] ** 2 + x_axis[1] ** 2
        # The x axis turns as omega x x; its heading changes by (x_x dx_y - x_y dx_x) / |x_xy|^2.
        dx_axis = -_skew(x_axis) @ angular  # (3, n)
        j_yaw = (x_axis[0] * dx_axis[1] - x_axis[1] * dx_axis[0]) / max(horizontal, 1e-6)
        j_main = np.vstack([linear, s.yaw_length_m * j_yaw])  # (4, n)
        e_main = np.append(e_pos, s.yaw_length_m * e_yaw)
        pinv_main = _damped_pinv(j_main, s.damping)
        step = pinv_main @ e_main
        if keep is None:
            return step
        # Secondary: turn the approach axis towards ``keep`` (rotation error a x keep), only by
        # motions that leave the position and yaw alone.
        approach = pose.approach
        j_keep = (np.eye(3) - np.outer(approach, approach)) @ angular
        null = np.eye(len(self.joints)) - pinv_main @ j_main
        j_keep_null = j_keep @ null
        e_keep = np.cross(approach, keep) - j_keep @ step
        secondary = null @ (_damped_pinv(j_keep_null, s.secondary_damping) @ e_keep)
        # Capped on its own, so a large posture correction never crowds out the main task's step.
        biggest = float(np.max(np.abs(secondary)))
        if biggest > s.max_secondary_step_rad:
            secondary *= s.max_secondary_step_rad / biggest
        return step + secondary


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def _damped_pinv(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """J^T (J J^T + lambda^2 I)^-1: a pseudo-inverse that stays bounded near singularities."""
    rows = jacobian.shape[0]
    return jacobian.T @ np.linalg.inv(jacobian @ jacobian.T + damping**2 * np.eye(rows))
