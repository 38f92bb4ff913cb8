"""The play table's assets: the desk with its fixtures, the movable objects and the Panda.

All fixtures are modelled here (boxes and cylinders) and written as URDF into a cache
folder keyed by content, so many processes can share them safely. Positions are in the
world frame: the robot base is at the origin facing +x, the table top is the plane z = 0.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pybullet_data

from sim.urdf import Joint, Link, Part, urdf

WOOD = (0.78, 0.64, 0.47, 1.0)
DARK_WOOD = (0.45, 0.30, 0.20, 1.0)
HANDLE = (0.15, 0.15, 0.15, 1.0)
LAMP_OFF = (0.35, 0.35, 0.30, 1.0)
LAMP_ON = (1.0, 0.95, 0.35, 1.0)

# Table top (m): a slab whose upper face is z = 0.
TABLE_CENTER = (0.35, 0.0)
TABLE_SIZE = (1.2, 1.3)
TABLE_THICKNESS = 0.04
# Where movable objects are spawned and may rest (a subset of the table).
OBJECT_REGION_LOW = (0.33, -0.22)
OBJECT_REGION_HIGH = (0.62, 0.22)

DRAWER_CABINET = (0.55, -0.46)  # centre of the drawer cabinet on the table
DRAWER_TRAVEL = 0.16  # how far the drawer slides out (m), along +y
SLIDER_CABINET = (0.55, 0.47)
SLIDER_TRAVEL = 0.14  # door travel along +x (m)
BUTTON_POS = (0.70, 0.14)
BUTTON_TRAVEL = 0.012  # how far the button can be pressed down (m)


@dataclass(frozen=True)
class ObjectSpec:
    """A movable object: a box (``size``) or a cylinder (``radius``, ``height``)."""

    name: str
    colour: str
    shape: str  # cube | bar | cylinder | plate
    rgba: tuple[float, float, float, float]
    mass: float
    size: tuple[float, float, float] | None = None
    radius: float = 0.0
    height: float = 0.0
    # Rolling resistance (m, pybullet's rollingFriction; the table's friction 0.5 scales it).
    # Only what can roll needs it: without it a cylinder knocked onto its side rolls 0.3-1 m,
    # off the play region and often off the table (measured).
    rolling_friction: float = 0.0

    @property
    def half_height(self) -> float:
        return self.size[2] / 2 if self.size is not None else self.height / 2


# At least four blocks told apart by colour and by shape or size, and a place target.
OBJECTS: tuple[ObjectSpec, ...] = (
    ObjectSpec("red_cube", "red", "cube", (0.85, 0.12, 0.10, 1), 0.08, size=(0.04, 0.04, 0.04)),
    ObjectSpec("green_cube", "green", "cube", (0.15, 0.65, 0.20, 1), 0.12, size=(0.055, 0.055, 0.055)),
    ObjectSpec("blue_bar", "blue", "bar", (0.15, 0.30, 0.85, 1), 0.10, size=(0.08, 0.035, 0.035)),
    # 0.002 stops it within a centimetre or two of where it lands or is let go (measured; 0.001
    # lets a pushed one roll on 2-6 cm), the feel of a wooden cylinder on a felt-topped table.
    ObjectSpec(
        "yellow_cylinder",
        "yellow",
        "cylinder",
        (0.95, 0.80, 0.10, 1),
        0.08,
        radius=0.02,
        height=0.05,
        rolling_friction=0.002,
    ),
    ObjectSpec("plate", "white", "plate", (0.92, 0.92, 0.90, 1), 0.30, radius=0.075, height=0.012),
)


def _box(xyz, size, rgba, collide=True) -> Part:
    return Part(xyz=xyz, size=size, rgba=rgba, collide=collide)


def desk_urdf() -> str:
    """Table, drawer cabinet + drawer, slider cabinet + sliding door, button, lamp."""
    dx, dy = DRAWER_CABINET
    sx, sy = SLIDER_CABINET
    bx, by = BUTTON_POS
    tx, ty = TABLE_CENTER
    links = [
        Link("table", [_box((tx, ty, -TABLE_THICKNESS / 2), (*TABLE_SIZE, TABLE_THICKNESS), WOOD)]),
        # Hollow cabinet (bottom, top, back, two sides) so the drawer slides inside it.
        Link(
            "drawer_cabinet",
            [
                _box((0, 0, 0.0075), (0.28, 0.20, 0.015), DARK_WOOD),
                _box((0, 0, 0.1325), (0.28, 0.20, 0.015), DARK_WOOD),
                _box((0, -0.0925, 0.07), (0.28, 0.015, 0.14), DARK_WOOD),
                _box((-0.1325, 0, 0.07), (0.015, 0.20, 0.14), DARK_WOOD),
                _box((0.1325, 0, 0.07), (0.015, 0.20, 0.14), DARK_WOOD),
            ],
        ),
        Link(
            "drawer",
            [
                _box((0, -0.005, 0.022), (0.24, 0.17, 0.01), WOOD),
                _box((-0.115, -0.005, 0.055), (0.01, 0.17, 0.06), WOOD),
                _box((0.115, -0.005, 0.055), (0.01, 0.17, 0.06), WOOD),
                _box((0, -0.085, 0.055), (0.24, 0.01, 0.06), WOOD),
                _box((0, 0.0925, 0.07), (0.25, 0.015, 0.11), WOOD),
                _box((0, 0.118, 0.08), (0.10, 0.036, 0.018), HANDLE),
            ],
            mass=0.5,
        ),
        Link("slider_cabinet", [_box((0, 0, 0.11), (0.30, 0.18, 0.22), DARK_WOOD)]),
        Link(
            "slider_door",
            [
                _box((0, 0, 0.11), (0.15, 0.012, 0.19), (0.55, 0.75, 0.85, 1)),
                _box((0.05, -0.024, 0.12), (0.018, 0.036, 0.09), HANDLE),
            ],
            mass=0.3,
        ),
        Link("button_base", [_box((0, 0, 0.015), (0.08, 0.08, 0.03), (0.25, 0.25, 0.25, 1))]),
        Link("button", [Part(xyz=(0, 0, 0.04), radius=0.024, length=0.02, rgba=(0.85, 0.10, 0.10, 1))], mass=0.05),
        Link("lamp", [Part(xyz=(0, 0, 0.03), radius=0.03, length=0.06, rgba=LAMP_OFF, collide=False)]),
    ]
    joints = [
        Joint("drawer_cabinet_mount", "table", "drawer_cabinet", xyz=(dx, dy, 0)),
        Joint(
            "drawer",
            "drawer_cabinet",
            "drawer",
            "prismatic",
            (0, 0, 0),
            (0, 1, 0),
            0.0,
            DRAWER_TRAVEL,
            damping=2.0,
            friction=0.2,
        ),
        Joint("slider_cabinet_mount", "table", "slider_cabinet", xyz=(sx, sy, 0)),
        Joint(
            "slider",
            "slider_cabinet",
            "slider_door",
            "prismatic",
            (-0.07, -0.096, 0),
            (1, 0, 0),
            0.0,
            SLIDER_TRAVEL,
            damping=2.0,
            friction=0.2,
        ),
        Joint("button_mount", "table", "button_base", xyz=(bx, by, 0)),
        Joint("button", "button_base", "button", "prismatic", (0, 0, 0), (0, 0, 1), -BUTTON_TRAVEL, 0.0, damping=0.5),
        Joint("lamp_mount", "slider_cabinet", "lamp", xyz=(0.0, -0.05, 0.22)),
    ]
    return urdf("desk", links, joints)


def object_urdf(spec: ObjectSpec) -> str:
    """A single-link URDF for a movable object."""
    if spec.size is not None:
        part = Part(xyz=(0, 0, 0), size=spec.size, rgba=spec.rgba)
    else:
        part = Part(xyz=(0, 0, 0), radius=spec.radius, length=spec.height, rgba=spec.rgba)
    inertia = spec.mass * 0.0004
    return urdf(spec.name, [Link("body", [part], mass=spec.mass, inertia=inertia)], [])


def panda_urdf(fidelity: str) -> str:
    """The pybullet_data Franka Panda with absolute mesh paths.

    ``fidelity="fast"`` swaps each link's visual mesh for its collision mesh (~3k triangles
    instead of ~120k): TinyRenderer's per-frame cost drops ~4x and the arm stays
    recognisable (measured, see BENCHMARKS.md). ``"high"`` keeps the stock meshes.
    """
    root = Path(pybullet_data.getDataPath()) / "franka_panda"
    text = (root / "panda.urdf").read_text()
    if fidelity == "fast":
        text = text.replace("meshes/visual/", "meshes/collision/").replace(".dae", ".obj")
    elif fidelity != "high":
        raise ValueError(f"panda fidelity must be 'fast' or 'high', got {fidelity!r}")
    return text.replace("package://meshes/", f"{root}/meshes/")


def cache_dir() -> Path:
    """Where generated URDFs are written (``ROBOLANG_CACHE`` or ``~/.cache/robolang``)."""
    base = os.environ.get("ROBOLANG_CACHE") or Path.home() / ".cache" / "robolang"
    return Path(base) / "assets"


def write_asset(name: str, text: str) -> str:
    """Write ``text`` to a content-addressed file and return its path (atomic, idempotent)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{digest}.urdf"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return str(path)
