"""Pixel labels: where each object appears in each camera image, and the heatmap targets made from it.

A point's image position follows from its world position and the camera's world -> clip matrix
(``frames.MATRIX_PREFIX``; ``sim/camera_labels.py`` gives them for the simulator). Image
coordinates are those of the estimator's soft-argmax: u from -1 (left edge) to 1 (right edge),
v from -1 (top) to 1 (bottom). Supervising the heatmaps with them is what makes the small
objects (2-4 px at 64 px in the static view) found within a few hundred steps; without it the
soft-argmax of a nearly flat heatmap over ~1,000 cells gives them almost no gradient (measured:
700 steps on 3,000 frames left held-out frames at the mean's error).
"""

from __future__ import annotations

import numpy as np
import torch


def project(matrices: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4, 4) world -> clip matrices and (N, O, 3) world points -> uv (N, O, 2) in [-1, 1] where inside,
    and visible (N, O): in front of the camera and inside the image (occlusion is not judged)."""
    homogeneous = np.concatenate([points, np.ones_like(points[..., :1])], axis=-1)  # (N, O, 4)
    clip = np.einsum("nij,noj->noi", matrices.astype(np.float64), homogeneous)  # (N, O, 4)
    w = clip[..., 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = clip[..., 0] / w, -clip[..., 1] / w  # NDC y points up, image rows down
    visible = (w > 0) & (np.abs(u) < 1) & (np.abs(v) < 1)
    uv = np.stack([np.where(visible, u, 0.0), np.where(visible, v, 0.0)], axis=-1)
    return uv.astype(np.float32), visible


def heatmap_target(uv: torch.Tensor, h: int, w: int, sigma_cells: float = 1.0) -> torch.Tensor:
    """(N, O, 2) image positions -> (N, O, h*w) distributions: a Gaussian of ``sigma_cells`` cells around each,
    so the soft-argmax of a matching heatmap lands between cells (sub-cell precision)."""
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, h, dtype=uv.dtype, device=uv.device),
        torch.linspace(-1, 1, w, dtype=uv.dtype, device=uv.device),
        indexing="ij",
    )
    sx, sy = sigma_cells * 2 / max(w - 1, 1), sigma_cells * 2 / max(h - 1, 1)
    dx = (xs.flatten()[None, None] - uv[..., :1]) / sx  # (N, O, h*w)
    dy = (ys.flatten()[None, None] - uv[..., 1:]) / sy
    logits = -0.5 * (dx**2 + dy**2)
    return torch.softmax(logits, dim=-1)
