"""The data contract, written once: action, proprioception and camera names with their shapes.

Everything that moves data between the robot, the dataset and the policy uses these names.
Actions are end-effector deltas in the robot base frame, normalized to [-1, 1]
(DESIGN.md, "Contracts").
"""

from __future__ import annotations

# Action: (5,) float32 in [-1, 1]. Gripper -1 is open, +1 is closed.
ACTION_NAMES: tuple[str, ...] = ("dx", "dy", "dz", "dyaw", "gripper")
ACTION_DIM = len(ACTION_NAMES)

# Proprioception: (12,) float32. EE pose in the base frame (m, rad), finger opening (m),
# then the seven arm joint positions (rad).
N_ARM_JOINTS = 7
STATE_NAMES: tuple[str, ...] = (
    "ee.x",
    "ee.y",
    "ee.z",
    "ee.yaw",
    "gripper.width",
    *(f"joint{i}.pos" for i in range(1, N_ARM_JOINTS + 1)),
)
STATE_DIM = len(STATE_NAMES)

# Cameras: uint8 (H, W, 3) RGB.
STATIC_CAMERA = "static"
WRIST_CAMERA = "wrist"
CAMERA_NAMES: tuple[str, ...] = (STATIC_CAMERA, WRIST_CAMERA)

# Dataset keys (LeRobotDataset v3). Privileged sim state lives outside `observation.*`
# so that no policy reads it by accident.
KEY_ACTION = "action"
KEY_STATE = "observation.state"
KEY_IMAGE_PREFIX = "observation.images."
KEY_SCENE_STATE = "scene_state"

# Control rate and physics rate (DESIGN.md: 10 Hz control over 240 Hz physics).
CONTROL_FPS = 10
PHYSICS_HZ = 240


def image_key(camera: str) -> str:
    """Dataset key of a camera stream, e.g. ``observation.images.static``."""
    return f"{KEY_IMAGE_PREFIX}{camera}"
