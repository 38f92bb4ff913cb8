"""Seeded domain randomization: named world variants and the concrete worlds sampled from them.

A ``WorldRandomization`` is a distribution (ranges); ``sample`` draws one ``WorldParams``
from it with the env's RNG, so the same seed always gives the same world. Variants are
hydra configs in ``configs/world/``; a variant with ``heldout: true`` is for measuring
transfer and must never be used for training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from sim.assets import cache_dir

Range = tuple[float, float]
RGB = tuple[float, float, float]

TEXTURE_KINDS = ("checker", "noise", "stripes", "dots")
TEXTURES_PER_KIND = 4  # a small bank: pybullet leaks memory if textures are loaded per reset


@dataclass(frozen=True)
class WorldRandomization:
    """Ranges of one named world variant. A zero-width range (lo == hi) means "fixed".

    Defaults describe the stock, unrandomized play table.
    """

    name: str = "default"
    heldout: bool = False
    # Table and fixture colours: each channel uniform in [low, high]; None keeps stock colours.
    surface_rgb_low: RGB | None = None
    surface_rgb_high: RGB | None = None
    texture_probability: float = 0.0
    texture_kinds: tuple[str, ...] = ("checker", "noise")
    # Object colours jitter by +- this per channel around nominal, small enough that a red
    # block stays red (names in instructions must stay true).
    object_rgb_jitter: float = 0.0
    light_azimuth_deg: Range = (-37.0, -37.0)
    light_elevation_deg: Range = (65.0, 65.0)
    light_intensity: Range = (1.0, 1.0)
    light_rgb_jitter: float = 0.0
    camera_eye_jitter_m: float = 0.0
    camera_target_jitter_m: float = 0.0
    camera_fov_jitter_deg: float = 0.0
    friction: Range = (1.0, 1.0)
    mass_scale: Range = (1.0, 1.0)
    joint_damping_scale: Range = (1.0, 1.0)
    action_latency_steps: tuple[int, int] = (0, 0)
    action_noise_std: Range = (0.0, 0.0)
    # Camera sensor noise: per-pixel Gaussian, std in uint8 levels (a webcam in room light: 2-6).
    image_noise_std: Range = (0.0, 0.0)

    def __post_init__(self):
        for kind in self.texture_kinds:
            if kind not in TEXTURE_KINDS:
                raise ValueError(f"world {self.name!r}: unknown texture kind {kind!r}; choose from {TEXTURE_KINDS}")
        if (self.surface_rgb_low is None) != (self.surface_rgb_high is None):
            raise ValueError(f"world {self.name!r}: give both surface_rgb_low and surface_rgb_high, or neither")
        if not 0.0 <= self.texture_probability <= 1.0:
            raise ValueError(f"world {self.name!r}: texture_probability must be in [0, 1]")

    @classmethod
    def from_dict(cls, cfg: dict) -> WorldRandomization:
        """Build from a plain dict (e.g. a hydra config), with lists turned into tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(cfg) - names
        if unknown:
            raise ValueError(f"unknown world randomization keys {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**{k: _tuplify(v) for k, v in cfg.items()})


def _tuplify(value):
    """Lists (and OmegaConf ListConfigs, any non-string sequence) -> tuples, recursively."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return tuple(_tuplify(v) for v in value)
    return value


@dataclass
class WorldParams:
    """One concrete world: everything ``sample`` drew. Plain data; round-trips through dicts."""

    surface_rgb: RGB | None = None
    texture: tuple[str, int] | None = None
    object_rgb_offset: dict[str, RGB] = field(default_factory=dict)
    light_direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    light_colour: RGB = (1.0, 1.0, 1.0)
    light_intensity: float = 1.0
    camera_eye_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera_target_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera_fov_offset: float = 0.0
    friction: dict[str, float] = field(default_factory=dict)
    mass_scale: dict[str, float] = field(default_factory=dict)
    joint_damping_scale: float = 1.0
    action_latency_steps: int = 0
    action_noise_std: float = 0.0
    image_noise_std: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> WorldParams:
        return cls(**{k: _tuplify(v) if not isinstance(v, dict) else dict(v) for k, v in d.items()})


def _uniform(rng: np.random.Generator, r: Range) -> float:
    lo, hi = r
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def _ball(rng: np.random.Generator, radius: float) -> tuple[float, float, float]:
    if radius == 0.0:
        return (0.0, 0.0, 0.0)
    return tuple(float(v) for v in rng.uniform(-radius, radius, size=3))


def sample(rng: np.random.Generator, cfg: WorldRandomization, object_names: list[str]) -> WorldParams:
    """Draw one world from ``cfg``. Draw order is fixed, so a seed always gives one world."""
    surface = None
    if cfg.surface_rgb_low is not None:
        surface = tuple(float(v) for v in rng.uniform(cfg.surface_rgb_low, cfg.surface_rgb_high))
    texture = None
    if cfg.texture_probability > 0 and rng.random() < cfg.texture_probability:
        texture = (str(rng.choice(cfg.texture_kinds)), int(rng.integers(TEXTURES_PER_KIND)))
    az = np.deg2rad(_uniform(rng, cfg.light_azimuth_deg))
    el = np.deg2rad(_uniform(rng, cfg.light_elevation_deg))
    direction = (float(np.cos(el) * np.cos(az)), float(np.cos(el) * np.sin(az)), float(np.sin(el)))
    colour = tuple(float(np.clip(1.0 + v, 0.0, 1.0)) for v in _ball(rng, cfg.light_rgb_jitter))
    return WorldParams(
        surface_rgb=surface,
        texture=texture,
        object_rgb_offset={n: _ball(rng, cfg.object_rgb_jitter) for n in object_names},
        light_direction=direction,
        light_colour=colour,
        light_intensity=_uniform(rng, cfg.light_intensity),
        camera_eye_offset=_ball(rng, cfg.camera_eye_jitter_m),
        camera_target_offset=_ball(rng, cfg.camera_target_jitter_m),
        camera_fov_offset=_uniform(rng, (-cfg.camera_fov_jitter_deg, cfg.camera_fov_jitter_deg)),
        friction={n: _uniform(rng, cfg.friction) for n in object_names},
        mass_scale={n: _uniform(rng, cfg.mass_scale) for n in object_names},
        joint_damping_scale=_uniform(rng, cfg.joint_damping_scale),
        action_latency_steps=int(rng.integers(cfg.action_latency_steps[0], cfg.action_latency_steps[1] + 1)),
        action_noise_std=_uniform(rng, cfg.action_noise_std),
        image_noise_std=_uniform(rng, cfg.image_noise_std),  # last, and drawn only when it varies:
    )  # worlds without it draw exactly what they drew before


def texture_path(kind: str, index: int, size: int = 64) -> str:
    """A procedural RGB texture as a PNG file in the asset cache (made once, then reused)."""
    path = cache_dir() / "textures" / f"{kind}-{index}-{size}.png"
    if path.exists():
        return str(path)
    rng = np.random.default_rng(1000 * TEXTURE_KINDS.index(kind) + index)
    base = rng.uniform(0.3, 0.9, size=3)
    other = rng.uniform(0.1, 0.7, size=3)
    yy, xx = np.mgrid[0:size, 0:size]
    if kind == "checker":
        cell = int(rng.integers(4, 12))
        mask = ((xx // cell + yy // cell) % 2).astype(bool)
    elif kind == "stripes":
        mask = ((xx + yy * int(rng.integers(0, 2))) // int(rng.integers(3, 8)) % 2).astype(bool)
    elif kind == "dots":
        period = int(rng.integers(8, 16))
        mask = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < (period / 4) ** 2
    else:  # noise
        mask = rng.random((size, size)) < 0.5
    img = np.where(mask[..., None], base, other)
    img = np.clip(img * 255, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp.png")
    Image.fromarray(img).save(tmp)
    tmp.replace(path)
    return str(path)
