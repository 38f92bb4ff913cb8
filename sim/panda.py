"""The Franka Panda arm: inverse-kinematics end-effector control and a parallel gripper.

The controller keeps a *commanded* end-effector target (position, yaw, finger opening) and
integrates action deltas into it, rather than into the measured pose, so that small
tracking errors do not accumulate as drift. Targets are clamped to the workspace box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as pb

from robolang.safety import clamp_to_box, wrap_angle

ARM_JOINTS = tuple(range(7))
FINGER_JOINTS = (9, 10)
EE_LINK = 11  # panda_grasptarget: between the fingertips
HAND_LINK = 8
FINGER_MAX = 0.04  # m per finger (URDF limit)
# Rest pose for IK null space and reset: elbow up, hand pointing down over the table.
HOME_JOINTS = (0.0, -0.25, 0.0, -2.3, 0.0, 2.05, 0.785)
# Arm torque limits from the Panda datasheet (Nm): joints 1-4 87, joints 5-7 12.
ARM_FORCES = (87.0,) * 4 + (12.0,) * 3
FINGER_FORCE = 40.0  # N; enough to hold a 120 g block against gravity with friction ~1
# Yaw is limited so the last joint stays inside its range with margin.
YAW_LIMIT = 1.5


@dataclass(frozen=True)
class Workspace:
    """Axis-aligned box (m, world frame) the end-effector target is kept inside."""

    low: tuple[float, float, float] = (0.25, -0.42, 0.015)
    high: tuple[float, float, float] = (0.80, 0.42, 0.45)


def down_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Orientation of a gripper pointing straight down, rotated ``yaw`` about world z."""
    return pb.getQuaternionFromEuler((np.pi, 0.0, float(yaw)))


def yaw_of(quaternion) -> float:
    """Yaw of a pointing-down gripper frame (R = Rz(yaw) Rx(pi))."""
    m = np.asarray(pb.getMatrixFromQuaternion(quaternion)).reshape(3, 3)
    return float(np.arctan2(m[1, 0], m[0, 0]))


class PandaArm:
    """IK end-effector control of a loaded Panda body in one pybullet client."""

    def __init__(self, client: int, body: int, workspace: Workspace = Workspace()):
        self.client = client
        self.body = body
        self.workspace = workspace
        info = [pb.getJointInfo(body, j, physicsClientId=client) for j in ARM_JOINTS]
        self._lower = [i[8] for i in info]
        self._upper = [i[9] for i in info]
        self._ranges = [u - lo for lo, u in zip(self._lower, self._upper, strict=True)]
        self.target_pos = np.zeros(3)
        self.target_yaw = 0.0
        self.target_finger = FINGER_MAX
        self.joint_targets = np.asarray(HOME_JOINTS, dtype=np.float64)

    # ---- reset and commands ----------------------------------------------------------------
    def reset_home(self) -> None:
        """Put the joints at home, open the gripper and aim the target at the current EE pose."""
        for j, q in zip(ARM_JOINTS, HOME_JOINTS, strict=True):
            pb.resetJointState(self.body, j, q, 0.0, physicsClientId=self.client)
        for j in FINGER_JOINTS:
            pb.resetJointState(self.body, j, FINGER_MAX, 0.0, physicsClientId=self.client)
        pos, yaw = self.ee_pose()
        self.target_pos = clamp_to_box(pos, self.workspace.low, self.workspace.high)
        self.target_yaw = float(np.clip(yaw, -YAW_LIMIT, YAW_LIMIT))
        self.target_finger = FINGER_MAX
        self.drive()

    def apply_delta(self, delta: np.ndarray) -> np.ndarray:
        """Integrate (dx, dy, dz [m], dyaw [rad], gripper [-1, 1]) into the target.

        Returns the delta really applied after the workspace and yaw limits.
        """
        old_pos, old_yaw = self.target_pos.copy(), self.target_yaw
        self.target_pos = clamp_to_box(self.target_pos + delta[:3], self.workspace.low, self.workspace.high)
        self.target_yaw = float(np.clip(self.target_yaw + delta[3], -YAW_LIMIT, YAW_LIMIT))
        self.target_finger = FINGER_MAX * (1.0 - float(delta[4])) / 2.0
        self.drive()
        applied = delta.copy()
        applied[:3] = self.target_pos - old_pos
        applied[3] = self.target_yaw - old_yaw
        return applied

    def drive(self) -> None:
        """Solve IK for the current target and set the joint motor targets."""
        self.joint_targets = np.asarray(self._solve_ik()[:7], dtype=np.float64)
        self._command()

    def _solve_ik(self) -> tuple[float, ...]:
        return pb.calculateInverseKinematics(
            self.body,
            EE_LINK,
            self.target_pos.tolist(),
            down_quaternion(self.target_yaw),
            # pybullet uses null-space IK only when these lists cover every movable joint
            # (7 arm + 2 fingers); with 7 it silently falls back to plain IK and the posture drifts.
            lowerLimits=[*self._lower, 0.0, 0.0],
            upperLimits=[*self._upper, FINGER_MAX, FINGER_MAX],
            jointRanges=[*self._ranges, FINGER_MAX, FINGER_MAX],
            restPoses=[*HOME_JOINTS, FINGER_MAX, FINGER_MAX],
            maxNumIterations=20,
            residualThreshold=1e-4,
            physicsClientId=self.client,
        )

    def _command(self) -> None:
        pb.setJointMotorControlArray(
            self.body,
            ARM_JOINTS,
            pb.POSITION_CONTROL,
            targetPositions=self.joint_targets.tolist(),
            forces=ARM_FORCES,
            physicsClientId=self.client,
        )
        pb.setJointMotorControlArray(
            self.body,
            FINGER_JOINTS,
            pb.POSITION_CONTROL,
            targetPositions=[self.target_finger] * 2,
            forces=[FINGER_FORCE] * 2,
            physicsClientId=self.client,
        )

    # ---- read-out -------------------------------------------------------------------------
    def ee_pose(self) -> tuple[np.ndarray, float]:
        """Measured EE position (m) and yaw (rad) in the base frame (= world frame here)."""
        state = pb.getLinkState(self.body, EE_LINK, computeForwardKinematics=1, physicsClientId=self.client)
        return np.asarray(state[4], dtype=np.float64), float(wrap_angle(yaw_of(state[5])))

    def joint_positions(self) -> np.ndarray:
        states = pb.getJointStates(self.body, ARM_JOINTS, physicsClientId=self.client)
        return np.asarray([s[0] for s in states], dtype=np.float64)

    def gripper_width(self) -> float:
        states = pb.getJointStates(self.body, FINGER_JOINTS, physicsClientId=self.client)
        return float(states[0][0] + states[1][0])

    def wrist_camera_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Position and rotation matrix of the hand link (the wrist camera is mounted on it)."""
        state = pb.getLinkState(self.body, HAND_LINK, computeForwardKinematics=1, physicsClientId=self.client)
        rot = np.asarray(pb.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        return np.asarray(state[4]), rot

    def controller_state(self) -> dict:
        return {
            "target_pos": self.target_pos.copy(),
            "target_yaw": np.float64(self.target_yaw),
            "target_finger": np.float64(self.target_finger),
            "joint_targets": self.joint_targets.copy(),
        }

    def set_controller_state(self, state: dict) -> None:
        self.target_pos = np.asarray(state["target_pos"], dtype=np.float64).copy()
        self.target_yaw = float(state["target_yaw"])
        self.target_finger = float(state["target_finger"])
        # Re-issue the stored motor targets; re-solving IK from the restored joints would
        # give slightly different targets and break exact continuation.
        self.joint_targets = np.asarray(state["joint_targets"], dtype=np.float64).copy()
        self._command()
