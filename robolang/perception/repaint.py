"""Surface repainting: the estimator's training images with the table and the cabinets in random colours.

Diagnosed on the held-out world (BENCHMARKS.md, "Which of the held-out world's differences costs the
estimator most"): of its differences from the training world, the table's look costs the estimator
most (3.3 cm -> 1.6 cm when only the table is given the training world's colours). Frames rendered
with surface labels (``sim.camera_labels.surface_masks``: 1 the table, 2 the cabinets) let training
paint those pixels over, per sample, with a colour drawn from the whole RGB cube, plain or blended
with a second colour through smooth or hard-edged blobs, keeping each pixel's shading (its
brightness relative to the surface's mean). Objects, arm and fixtures keep their pixels, so the
objects are still told apart by colour while the table stops being a cue.

The held-out world stays held out: no painted colour shares a chromaticity (colour regardless of
brightness) with the held-out world's table colours (``HELD_OUT_SURFACE_RGB``, the box of
``configs/world/heldout.yaml``; a test keeps the two equal), and the blobs are neither of its texture
kinds (stripes, dots).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

HELD_OUT_SURFACE_RGB = ((0.20, 0.25, 0.35), (0.40, 0.45, 0.60))  # configs/world/heldout.yaml surface_rgb_low/high
TEXTURED = 0.5  # of repainted surfaces, the share blended from two colours through blobs (the rest plain)
BLOB_GRID = 4  # the blobs: a 4x4 grid of random values upsampled to the image
SURFACES = (1, 2)  # the table, the cabinets (each its own colour)


def chromaticity_box(box=HELD_OUT_SURFACE_RGB) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of r, g, b / (r + g + b) over an RGB box: each is monotone in every channel, so the
    corners bound it."""
    corners = np.array(list(itertools.product(*zip(*box, strict=True))))  # (8, 3)
    chroma = corners / corners.sum(1, keepdims=True)
    return chroma.min(0), chroma.max(0)


def paint_colours(rng: np.random.Generator, n: int, box=HELD_OUT_SURFACE_RGB) -> np.ndarray:
    """(n, 3) colours in [0.05, 1], none with a chromaticity inside ``box``'s (drawn again until outside)."""
    low, high = chromaticity_box(box)
    out = np.empty((n, 3))
    filled = 0
    while filled < n:
        drawn = rng.uniform(0.05, 1.0, size=(2 * (n - filled) + 4, 3))
        chroma = drawn / drawn.sum(1, keepdims=True)
        kept = drawn[~np.all((chroma >= low) & (chroma <= high), axis=1)][: n - filled]
        out[filled : filled + len(kept)] = kept
        filled += len(kept)
    return out


def repaint(
    images: dict[str, torch.Tensor], surfaces: dict[str, torch.Tensor], rng: np.random.Generator, probability: float
) -> dict[str, torch.Tensor]:
    """camera -> (B, 3, H, W) in [0, 1] with, for a ``probability`` share of the samples, each surface
    (``surfaces``: camera -> (B, H, W) labels) painted over; one colour pair per sample and surface, the
    same in every camera. Draws a fixed number of values per sample (exact resume)."""
    b = next(iter(images.values())).shape[0]
    chosen = rng.random(b) < probability  # (B,)
    colours = paint_colours(rng, b * len(SURFACES) * 2).reshape(b, len(SURFACES), 2, 3).astype(np.float32)
    textured = (rng.random((b, len(SURFACES))) < TEXTURED).astype(np.float32)
    sharpness = rng.uniform(1.0, 30.0, size=(b, len(SURFACES))).astype(np.float32)
    out = {}
    for cam, image in images.items():
        labels = surfaces[cam].to(image.device)
        grid = torch.from_numpy(rng.random((b, len(SURFACES), BLOB_GRID, BLOB_GRID)).astype(np.float32))
        blobs = F.interpolate(grid, size=image.shape[-2:], mode="bicubic", align_corners=False).to(image.device)
        luma = image.mean(1)  # (B, H, W)
        for k, value in enumerate(SURFACES):
            mask = (labels == value) & torch.from_numpy(chosen).to(image.device)[:, None, None]  # (B, H, W)
            if not bool(mask.any()):
                continue
            count = mask.sum((1, 2)).clamp(min=1)
            shade = (luma / ((luma * mask).sum((1, 2)) / count).clamp(min=1e-3)[:, None, None]).clamp(0, 1.5)
            steep, blend = (torch.from_numpy(a[:, k]).to(image.device)[:, None, None] for a in (sharpness, textured))
            weight = torch.sigmoid((blobs[:, k] - 0.5) * steep) * blend  # (B, H, W): 0 where plain
            pair = torch.from_numpy(colours[:, k]).to(image.device)  # (B, 2, 3)
            paint = pair[:, 0, :, None, None] * (1 - weight[:, None]) + pair[:, 1, :, None, None] * weight[:, None]
            image = torch.where(mask[:, None], (paint * shade[:, None]).clamp(0, 1), image)
        out[cam] = image
    return out
