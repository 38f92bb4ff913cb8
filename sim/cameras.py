"""Cameras: a static scene camera and a wrist camera, rendered with TinyRenderer or EGL.

TinyRenderer is pybullet's CPU rasteriser; its cost grows with covered pixels and
triangles, so the fast default renders without shadows and with the low-poly Panda. With a
GPU present, ``renderer="auto"`` loads pybullet's EGL plugin (hardware OpenGL).
"""

from __future__ import annotations

import os
import pkgutil
from dataclasses import dataclass

import numpy as np
import pybullet as pb


@dataclass(frozen=True)
class CameraSpec:
    """Intrinsics of one camera. 128x128 static is the default (issue 2); fov in degrees."""

    width: int = 128
    height: int = 128
    fov: float = 55.0
    near: float = 0.02
    far: float = 3.0

    def projection(self) -> list[float]:
        return pb.computeProjectionMatrixFOV(self.fov, self.width / self.height, self.near, self.far)


@dataclass(frozen=True)
class Lighting:
    """TinyRenderer light parameters (direction points *towards* the light)."""

    direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05


# Static camera: in front of the robot, above the far edge of the table, looking back at
# the workspace so the arm, the blocks and all fixtures are in view.
STATIC_EYE = (1.20, 0.0, 0.95)
STATIC_TARGET = (0.45, 0.0, 0.0)
# Wrist camera mount in the hand frame (z points along the fingers): beside the hand,
# looking along the fingers so the gripper and what it grasps are in view.
WRIST_OFFSET = np.array([0.07, 0.0, 0.0])
WRIST_LOOK = np.array([0.0, 0.0, 0.25])


def static_view(eye=STATIC_EYE, target=STATIC_TARGET) -> list[float]:
    return pb.computeViewMatrix(list(eye), list(target), [0.0, 0.0, 1.0])


def wrist_view(hand_pos: np.ndarray, hand_rot: np.ndarray) -> list[float]:
    eye = hand_pos + hand_rot @ WRIST_OFFSET
    target = hand_pos + hand_rot @ WRIST_LOOK
    up = hand_rot @ np.array([1.0, 0.0, 0.0])
    return pb.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())


def gpu_present() -> bool:
    """True when an NVIDIA device node exists (the EGL plugin needs a real GPU to be fast)."""
    return os.path.exists("/dev/nvidia0")


def enable_egl(client: int) -> bool:
    """Load pybullet's EGL renderer plugin into ``client``; False if it cannot be loaded."""
    loader = pkgutil.get_loader("eglRenderer")
    if loader is None:
        return False
    plugin = pb.loadPlugin(loader.get_filename(), "_eglRendererPlugin", physicsClientId=client)
    return plugin >= 0


def _camera_image(client: int, spec: CameraSpec, view: list[float], hardware: bool, flags: int, **light) -> tuple:
    """pybullet's ``getCameraImage`` for one camera: (width, height, rgba, depth, segmentation)."""
    return pb.getCameraImage(
        spec.width,
        spec.height,
        view,
        spec.projection(),
        renderer=pb.ER_BULLET_HARDWARE_OPENGL if hardware else pb.ER_TINY_RENDERER,
        flags=flags,
        physicsClientId=client,
        **light,
    )


def render_rgb_depth(
    client: int,
    spec: CameraSpec,
    view: list[float],
    light: Lighting,
    shadows: bool = False,
    hardware: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one image: RGB uint8 (H, W, 3) and the depth buffer float32 (H, W), 1.0 = nothing."""
    _, _, rgba, depth, _ = _camera_image(
        client,
        spec,
        view,
        hardware,
        pb.ER_NO_SEGMENTATION_MASK,
        shadow=int(shadows),
        lightDirection=list(light.direction),
        lightColor=list(light.colour),
        lightAmbientCoeff=light.ambient,
        lightDiffuseCoeff=light.diffuse,
        lightSpecularCoeff=light.specular,
    )
    rgb = np.ascontiguousarray(np.asarray(rgba, dtype=np.uint8).reshape(spec.height, spec.width, 4)[..., :3])
    return rgb, np.asarray(depth, dtype=np.float32).reshape(spec.height, spec.width)


def render_segmentation(client: int, spec: CameraSpec, view: list[float], hardware: bool = False) -> np.ndarray:
    """(H, W) int64 of what each pixel shows: ``body + ((link + 1) << 24)``, -1 where nothing is drawn."""
    *_, seg = _camera_image(client, spec, view, hardware, pb.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX)
    return np.asarray(seg, dtype=np.int64).reshape(spec.height, spec.width)


def segment_id(body: int, link: int) -> int:
    """The value ``render_segmentation`` gives the pixels of ``link`` of ``body`` (-1: the base)."""
    return body + ((link + 1) << 24)
