"""Camera matrices and surface masks of the current frame, the state estimator's pixel labels
(``configs/estimator_render.yaml``).

Where an object appears in an image is free in simulation: its position (the scene state) through
the camera's view and projection. ``camera_matrices(robot)`` gives, per camera, the 4x4 matrix
that takes a world point to clip space as the renderer used it for this frame (the static camera
with this world's sampled pose and field of view, the wrist camera at the hand's pose). The
estimator (``robolang.perception``) projects the labels itself; a real, calibrated camera could
give the same matrices.
"""

from __future__ import annotations

import numpy as np

from sim.cameras import wrist_view


def _matrix(flat) -> np.ndarray:
    """pybullet's column-major 16 floats -> a (4, 4) row-major matrix."""
    return np.asarray(flat, dtype=np.float64).reshape(4, 4).T


def camera_matrices(robot) -> dict[str, np.ndarray]:
    """camera -> (4, 4) float32 projection @ view for the frame a connected ``PlayTableRobot`` renders now."""
    scene = robot.scene
    static_spec, static_view = scene._static_camera()  # the pose and fov this world sampled
    wrist_spec = scene.config.wrist_camera
    return {
        "static": (_matrix(static_spec.projection()) @ _matrix(static_view)).astype(np.float32),
        "wrist": (_matrix(wrist_spec.projection()) @ _matrix(wrist_view(*scene.arm.wrist_camera_pose()))).astype(
            np.float32
        ),
    }


def surface_masks(robot) -> dict[str, np.ndarray]:
    """camera -> (H, W) uint8 for the frame a connected ``PlayTableRobot`` renders now: 1 where the table
    is seen, 2 the cabinets, 0 elsewhere (``sim.scene.SURFACE_TABLE``/``SURFACE_CABINET``). Training
    repaints those pixels with colours no world samples, so the estimator cannot lean on the table's look."""
    return {cam: robot.scene.surface_labels(cam) for cam in ("static", "wrist")}
