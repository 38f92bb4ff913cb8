"""Table backdrop: render the static table once per world instead of in every frame.

TinyRenderer's cost is dominated by covered pixels, and the table top covers most of both
images (measured: about 2 ms of a 4.3 ms static frame at 128x128). The table never moves, so:

* static camera: the table is rendered once per world (in a tiny client holding only the
  table) and z-buffered with each frame: pixel-identical to drawing it;
* wrist camera: pixels whose ray hits the table top (the plane z = 0 inside the table
  rectangle) and nothing else take the table's colour, found analytically. A textured
  table falls back to ordinary rendering for both cameras.

The wrist fill ignores depth, so the few pixels where an object has sunk into the table top
by contact tolerance show the object instead of the table (measured: under 0.01% of wrist
pixels), and it uses one colour for the whole top (TinyRenderer shades the flat top
uniformly; tests/test_backdrop.py compares against drawing it). Anything below the table top (an object that fell off the table, which
the health monitor flags) would show through it in the wrist view.
"""

from __future__ import annotations

import functools

import numpy as np
import pybullet as pb

from sim import assets
from sim.cameras import CameraSpec, Lighting, render_rgb_depth

# TinyRenderer leaves pixels where nothing was drawn at depth 1 - 2^-24 (float32).
BACKGROUND_DEPTH = np.float32(0.99999994)


class TableBackdrop:
    """A headless client with only the table, used to render the static backdrop."""

    def __init__(self):
        self.client = pb.connect(pb.DIRECT)
        tx, ty = assets.TABLE_CENTER
        half = [assets.TABLE_SIZE[0] / 2, assets.TABLE_SIZE[1] / 2, assets.TABLE_THICKNESS / 2]
        shape = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=assets.WOOD, physicsClientId=self.client)
        self.body = pb.createMultiBody(0, -1, shape, [tx, ty, -half[2]], physicsClientId=self.client)
        self.static_rgb: np.ndarray | None = None
        self.static_depth: np.ndarray | None = None
        self.top_colour = np.zeros(3, dtype=np.uint8)

    def update(self, rgba, spec: CameraSpec, view: list[float], light: Lighting) -> None:
        """Re-render the backdrop for a table colour, static camera and lighting."""
        pb.changeVisualShape(self.body, -1, rgbaColor=list(rgba), physicsClientId=self.client)
        self.static_rgb, self.static_depth = render_rgb_depth(self.client, spec, view, light)
        # Colour of the table top seen from straight above (what the wrist camera sees).
        tx, ty = assets.TABLE_CENTER
        top = pb.computeViewMatrix([tx, ty, 0.5], [tx, ty, 0.0], [1.0, 0.0, 0.0])
        small, _ = render_rgb_depth(self.client, CameraSpec(8, 8, fov=10.0), top, light)
        self.top_colour = small[4, 4].copy()

    def composite_static(self, rgb: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Z-buffer a static frame rendered without the table over the table backdrop.

        The same rasteriser and camera produce both depth buffers, so this equals drawing the
        table in the frame, including the sliver of an object sunk into the table top by
        contact tolerance."""
        behind = depth >= self.static_depth
        rgb[behind] = self.static_rgb[behind]
        return rgb

    def composite_wrist(self, rgb: np.ndarray, depth: np.ndarray, spec: CameraSpec, view: list[float]) -> np.ndarray:
        """Paint background pixels whose ray hits the table top with the table colour."""
        background = np.flatnonzero(depth >= BACKGROUND_DEPTH)
        if background.size:
            hits = table_hits(spec, view, background)
            rgb.reshape(-1, 3)[background[hits]] = self.top_colour
        return rgb

    def close(self) -> None:
        if pb.isConnected(self.client):
            pb.disconnect(self.client)


@functools.cache
def _camera_rays(width: int, height: int, fov_deg: float) -> np.ndarray:
    """Ray direction of every pixel centre in the camera frame (OpenGL: looking down -z), (H*W, 3)."""
    tan = np.tan(np.deg2rad(fov_deg) / 2.0)
    xs = ((np.arange(width) + 0.5) / width * 2.0 - 1.0) * tan * width / height
    ys = (1.0 - (np.arange(height) + 0.5) / height * 2.0) * tan
    gx, gy = (a.reshape(-1) for a in np.meshgrid(xs, ys))
    return np.stack([gx, gy, -np.ones_like(gx)], axis=-1)


def table_hits(spec: CameraSpec, view: list[float], pixels: np.ndarray) -> np.ndarray:
    """For flat pixel indices ``pixels``: whether each one's ray hits the table top
    (the plane z = 0 inside the table rectangle) in front of the camera."""
    v = np.asarray(view, dtype=np.float64).reshape(4, 4).T  # pybullet matrices are column-major
    rot = v[:3, :3].T  # camera axes -> world
    eye = -rot @ v[:3, 3]
    d = _camera_rays(spec.width, spec.height, spec.fov)[pixels] @ rot.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -eye[2] / d[:, 2]
    x = eye[0] + t * d[:, 0]
    y = eye[1] + t * d[:, 1]
    (tx, ty), (sx, sy) = assets.TABLE_CENTER, assets.TABLE_SIZE
    inside = (np.abs(x - tx) <= sx / 2) & (np.abs(y - ty) <= sy / 2)
    return (t > 0) & inside
