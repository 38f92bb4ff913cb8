"""The task vocabulary: each task is a declarative predicate over (start state, end state).

As in CALVIN's ``tasks.py``, a task says *what changed*, never how: ``holds(states, t0, t1,
args, cfg)`` compares the scene at frame ``t0`` with the scene at frame ``t1`` (``t0`` and
``t1`` are ints or integer arrays that broadcast, so one call tests many candidate windows).
A few predicates also constrain the frames in between ("a push never lifts the object") with
prefix sums, which stays vectorized. Thresholds come from ``TaskThresholds``
(``configs/caption/default.yaml``), each with its reason.

A ``Task`` declares its argument slots (which objects are eligible, read from the scene's
sizes and shapes, never from names), the entity it acts on (for trimming windows to the
motion), optionally where its windows may start (``starts``; by default where the robot
begins to approach that entity, see ``segment.py``), and whether the robot must have touched
that object in between (``by_robot``, on for every object task but ``topple``: a cube shoved
along by another cube was not "pushed left" by the robot). ``instances(scene, cfg)``
enumerates every (task, args).

Directions are in the robot base frame: left +y, right -y, forward / back +x / -x ("back"
and "front" of the table: away from / toward the robot). Rotations: left = counter-clockwise
seen from above (+yaw). The door slides left (-x) or right (+x).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.config import CaptionConfig, TaskThresholds
from robolang.captioning.states import ROUND_SHAPES, EpisodeStates, ObjectInfo, SceneInfo

Predicate = Callable[..., np.ndarray]  # (states, t0, t1, args, cfg) -> bool array
FIXTURES = ("drawer", "slider", "button")


@dataclass(frozen=True)
class Slot:
    """An argument: its role in the phrasing and which objects may fill it (``KINDS``)."""

    name: str
    kind: str = "object"


@dataclass(frozen=True)
class Task:
    """One task: id, argument slots, the predicate, what it acts on, what it means."""

    id: str
    slots: tuple[Slot, ...]
    predicate: Predicate
    acts_on: str  # a slot name, "plate", or a fixture joint ("drawer", "slider", "button")
    description: str
    starts: Callable[..., np.ndarray] | None = None  # (states, args, cfg) -> (T,) bool
    # Where a window may also start when no window from ``starts`` overlaps it, e.g. an object
    # lifted off the plate and put back on it: from the moment it is held in the air.
    fallback_starts: Callable[..., np.ndarray] | None = None
    uses_plate: bool = False  # needs a plate in the scene
    # The robot (gripper or arm) touched the object it acts on at some frame in (t0, t1]: the
    # robot did it, not something the robot pushed into it (a chain of pushes, a falling tower).
    by_robot: bool = True

    def holds(self, states: EpisodeStates, t0, t1, args: tuple[str, ...], cfg) -> np.ndarray:
        """Whether the task was done between frame ``t0`` and frame ``t1`` (broadcast arrays)."""
        done = self.predicate(states, t0, t1, tuple(args), thresholds(cfg))
        entity = self.entity(tuple(args), states.scene)
        if self.by_robot and entity in states.objects:
            touched = rel.touched_by_robot(states, entity)
            done = done & rel.ever(states, ("touched", entity), touched, t0, t1)
        return done

    def entity(self, args: tuple[str, ...], scene: SceneInfo) -> str:
        """The object or fixture the robot acts on to do this task."""
        names = [s.name for s in self.slots]
        if self.acts_on in names:
            return args[names.index(self.acts_on)]
        return scene.plate if self.acts_on == "plate" else self.acts_on


def thresholds(cfg) -> TaskThresholds:
    return cfg.tasks if isinstance(cfg, CaptionConfig) else cfg


# ---- which objects fill a slot ------------------------------------------------------------------
def graspable(o: ObjectInfo, scene: SceneInfo, c: TaskThresholds) -> bool:
    return min(o.size[:2]) <= c.grasp_max_width_m and o.name != scene.plate


KINDS: dict[str, Callable[[ObjectInfo, SceneInfo, TaskThresholds], bool]] = {
    "object": lambda o, scene, c: True,
    "not_plate": lambda o, scene, c: o.name != scene.plate,
    "graspable": graspable,
    "fits_drawer": lambda o, scene, c: graspable(o, scene, c) and max(o.size[:2]) <= c.drawer_fit_max_m,
    "rotatable": lambda o, scene, c: o.shape not in ROUND_SHAPES,  # a disc's turn is invisible
    "tall": lambda o, scene, c: o.size[2] >= c.tall_ratio * min(o.size[:2]),
}


def instances(scene: SceneInfo, cfg, tasks=None) -> list[tuple[Task, tuple[str, ...]]]:
    """Every (task, args) possible in this scene; two slots never hold the same object."""
    c, out = thresholds(cfg), []
    for task in TASKS if tasks is None else tasks:
        if task.uses_plate and scene.plate is None:
            continue
        combos: list[tuple[str, ...]] = [()]
        for slot in task.slots:
            names = [o.name for o in scene.objects if KINDS[slot.kind](o, scene, c)]
            combos = [(*a, n) for a in combos for n in names if n not in a]
        out += [(task, args) for args in combos]
    return out


# ---- predicates over (t0, t1) -------------------------------------------------------------------
def lifted(s, t0, t1, args, c):
    """Held in the air, off the table, at least ``move_min_m`` higher than at the start and no
    longer rising (so the window ends at the top of the lift)."""
    (x,) = args
    z = s.pos(x)[:, 2]
    up = s.memo(
        ("lifted", x, c),
        lambda: rel.held(s, x, c) & ~s.contact(x, "table") & (np.diff(z, prepend=z[0]) < c.still_m),
    )
    return up[t1] & (z[t1] - z[t0] >= c.move_min_m)


def grasped(s, t0, t1, args, c):
    """Not held at the start, held at the end."""
    h = rel.held(s, args[0], c)
    return ~h[t0] & h[t1]


def held_in_air(s, args, c):
    """Held, touching nothing else, lifted ``move_min_m`` clear of where it last rested."""
    return rel.lifted_clear(s, args[0], c)


def put_down(s, t0, t1, args, c):
    """Held in the air at the start; let go, resting on the table top at the end."""
    (x,) = args
    return held_in_air(s, args, c)[t0] & (rel.on_table(s, x, c) & rel.resting(s, x, c))[t1]


def became(relation: Callable, s, t0, t1, args, c):
    """``relation`` (a per-frame bool of the args) false at the start, true at the end, object let go."""
    r = relation(s, *args, c) & rel.resting(s, args[0], c)
    return ~r[t0] & r[t1]


def ended(relation: Callable, s, t0, t1, args, c):
    """``relation`` true at the start; at the end the object no longer touches the other
    object (the base, else the plate) and is let go and still."""
    x, other = args[0], (args[1] if len(args) > 1 else s.scene.plate)
    free = ~s.contact(x, other) & rel.resting(s, x, c)
    return relation(s, *args, c)[t0] & free[t1]


def on_plate(s, x, c):
    return rel.resting_on(s, x, s.scene.plate, c)


def taken_from_drawer(s, t0, t1, args, c):
    """In the drawer at the start; at the end out of its box, not touching it, held or resting."""
    (x,) = args

    def out_of_drawer():
        (lx, ly, _), (hx, hy, hz) = c.drawer_inside
        p, d, (cx, cy) = s.pos(x), s.fixture("drawer"), s.scene.drawer_cabinet
        box = (p[:, 0] >= cx + lx) & (p[:, 0] <= cx + hx) & (p[:, 2] <= hz)
        box &= (p[:, 1] >= cy + ly + d) & (p[:, 1] <= cy + hy + d)
        return ~box & ~s.contact(x, "drawer") & (rel.held(s, x, c) | rel.resting(s, x, c))

    return rel.in_drawer(s, x, c)[t0] & s.memo(("out_of_drawer", x, c), out_of_drawer)[t1]


def pushed(s, t0, t1, args, c, direction=(0.0, 1.0)):
    """Slid over the table along ``direction`` by ``move_min_m``, little sideways, never lifted
    or held on the way, resting on the table at both ends."""
    (x,) = args
    u = np.asarray(direction)
    p = s.pos(x)[:, :2].astype(np.float64)
    d = p[t1] - p[t0]
    along, side = d @ u, np.abs(d @ np.array([-u[1], u[0]]))
    table = rel.on_table(s, x, c)
    lifted_ = s.memo(("push_lifted", x, c), lambda: (rel.rise(s, x) > c.push_max_rise_m) | rel.held(s, x, c))
    ok = (along >= c.move_min_m) & (side <= c.push_sideways_ratio * along) & table[t0] & table[t1]
    return ok & rel.resting(s, x, c)[t1] & ~rel.ever(s, ("push_lifted", x, c), lifted_, t0, t1)


def rotated(s, t0, t1, args, c, sign=1.0):
    """Turned about the vertical by ``rotate_min_deg`` in the given sense (+1 ccw), nearly in
    place, and let go."""
    (x,) = args
    p = s.pos(x)[:, :2]
    shift = np.linalg.norm(p[t1] - p[t0], axis=-1)
    turn = sign * rel.turn_deg(s, x, t0, t1)
    return (turn >= c.rotate_min_deg) & (shift < c.rotate_max_shift_m) & rel.resting(s, x, c)[t1]


def moved_to(s, t0, t1, args, c, axis=1, sign=1.0, bound="left_min_y"):
    """Brought into a region of the table (``sign * coordinate >= sign * bound``) from outside it,
    at least ``move_min_m`` closer, resting on the table at the end."""
    (x,) = args
    v = sign * s.pos(x)[:, axis]
    inside = v >= sign * getattr(c, bound)
    end = inside & rel.on_table(s, x, c) & rel.resting(s, x, c)
    return ~inside[t0] & end[t1] & (v[t1] - v[t0] >= c.move_min_m)


def toppled(s, t0, t1, args, c):
    """Upright at the start, lying at the end, let go."""
    (x,) = args
    tilt = rel.tilt_deg(s, x)
    return (tilt[t0] <= c.upright_max_deg) & (tilt[t1] >= c.toppled_min_deg) & rel.resting(s, x, c)[t1]


def placed_beside(s, t0, t1, args, c, side=None):
    """X ends on the table with a gap under ``next_to_gap_m`` to Y (on the given side, within
    45 degrees, if any), was not so at the start, and moved at least ``move_min_m``."""
    x, y = args

    def relation():
        d = (s.pos(x) - s.pos(y))[:, :2]
        near = np.hypot(*d.T) <= s.info(x).footprint + s.info(y).footprint + c.next_to_gap_m
        if side is not None:
            u = np.asarray(side)
            near &= d @ u >= np.abs(d @ np.array([-u[1], u[0]]))
        return near

    r = s.memo(("beside", x, y, side, c), relation)
    end = r & rel.on_table(s, x, c) & rel.resting(s, x, c)
    p = s.pos(x)[:, :2]
    return ~r[t0] & end[t1] & (np.linalg.norm(p[t1] - p[t0], axis=-1) >= c.move_min_m)


def joint_moved(s, t0, t1, args, c, joint="drawer", sign=1.0):
    """A fixture joint moved ``move_min_m`` in the given sense and has stopped."""
    q = s.fixture(joint)
    return (sign * (q[t1] - q[t0]) >= c.move_min_m) & rel.fixture_still(s, joint, c)[t1]


def light_turned(s, t0, t1, args, c, on=True):
    light = s.light()
    return (light[t0] != on) & (light[t1] == on)


def pressed(s, t0, t1, args, c):
    """The button went down past the latch depth in between and is back up at the end."""
    down = rel.button_down(s, c)
    return rel.ever(s, ("button_down", c), down, t0, t1) & rel.button_up(s, c)[t1]


def plate_moved(s, t0, t1, args, c):
    """The plate slid or was carried ``move_min_m`` and rests on the table."""
    x = s.scene.plate
    p = s.pos(x)[:, :2]
    end = rel.on_table(s, x, c) & rel.resting(s, x, c)
    return (np.linalg.norm(p[t1] - p[t0], axis=-1) >= c.move_min_m) & end[t1]


# ---- the vocabulary -------------------------------------------------------------------------------
X, GRASP, FITS = Slot("object"), Slot("object", "graspable"), Slot("object", "fits_drawer")
ON_PLATE, TURNS, TALL = Slot("object", "not_plate"), Slot("object", "rotatable"), Slot("object", "tall")
OTHER, BASE = Slot("other", "object"), Slot("base", "not_plate")
LEFT, RIGHT, FORWARD, BACK = (0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)
_stack = partial(became, lambda s, x, y, c: rel.resting_on(s, x, y, c))
_unstack = partial(ended, lambda s, x, y, c: rel.resting_on(s, x, y, c))
_side = {
    "left": partial(moved_to, axis=1, sign=1.0, bound="left_min_y"),
    "right": partial(moved_to, axis=1, sign=-1.0, bound="right_max_y"),
    "front": partial(moved_to, axis=0, sign=-1.0, bound="front_max_x"),
    "back": partial(moved_to, axis=0, sign=1.0, bound="back_min_x"),
}
_door = partial(joint_moved, joint="slider")
_drawer = partial(joint_moved, joint="drawer")

# fmt: off
TASKS: tuple[Task, ...] = (
    Task("lift", (GRASP,), lifted, "object", "X held in the air at least 5 cm higher, at the top of the lift"),
    Task("grasp", (GRASP,), grasped, "object", "X not held, then held between the fingers"),
    Task("put_down", (GRASP,), put_down, "object", "X held in the air, then resting on the table", held_in_air),
    Task("place_on_plate", (GRASP,), partial(became, on_plate), "object", "X comes to rest on the plate",
         fallback_starts=held_in_air, uses_plate=True),
    Task("remove_from_plate", (ON_PLATE,), partial(ended, on_plate), "object", "X on the plate, then off it",
         uses_plate=True),
    Task("put_in_drawer", (FITS,), partial(became, rel.in_drawer), "object", "X comes to rest in the drawer",
         fallback_starts=held_in_air),
    Task("take_from_drawer", (FITS,), taken_from_drawer, "object", "X in the drawer, then out of it"),
    Task("push_left", (X,), partial(pushed, direction=LEFT), "object", "X slid 5 cm along +y, never lifted"),
    Task("push_right", (X,), partial(pushed, direction=RIGHT), "object", "X slid 5 cm along -y, never lifted"),
    Task("push_forward", (X,), partial(pushed, direction=FORWARD), "object", "X slid 5 cm away from the robot"),
    Task("push_back", (X,), partial(pushed, direction=BACK), "object", "X slid 5 cm toward the robot"),
    Task("rotate_left", (TURNS,), partial(rotated, sign=1.0), "object", "X turned 30 deg ccw (from above) in place"),
    Task("rotate_right", (TURNS,), partial(rotated, sign=-1.0), "object", "X turned 30 deg clockwise in place"),
    Task("move_to_left_side", (X,), _side["left"], "object", "X brought into the left third of the table"),
    Task("move_to_right_side", (X,), _side["right"], "object", "X brought into the right third"),
    Task("move_to_front", (X,), _side["front"], "object", "X brought into the third nearest the robot"),
    Task("move_to_back", (X,), _side["back"], "object", "X brought into the far third"),
    Task("topple", (TALL,), toppled, "object", "extra: a tall X knocked from upright onto its side", by_robot=False),
    Task("stack", (GRASP, BASE), _stack, "object", "X comes to rest on top of Y", fallback_starts=held_in_air),
    Task("unstack", (GRASP, BASE), _unstack, "object", "X on top of Y, then let go off it"),
    Task("place_next_to", (GRASP, OTHER), placed_beside, "object", "X put down within 5 cm of Y",
         fallback_starts=held_in_air),
    Task("place_in_front_of", (GRASP, OTHER), partial(placed_beside, side=BACK), "object",
         "extra: X put down next to Y, on the robot's side of it", fallback_starts=held_in_air),
    Task("place_behind", (GRASP, OTHER), partial(placed_beside, side=FORWARD), "object",
         "extra: X put down next to Y, on its far side", fallback_starts=held_in_air),
    Task("open_drawer", (), partial(_drawer, sign=1.0), "drawer", "the drawer pulled out 5 cm and stopped"),
    Task("close_drawer", (), partial(_drawer, sign=-1.0), "drawer", "the drawer pushed in 5 cm and stopped"),
    Task("slide_door_left", (), partial(_door, sign=-1.0), "slider", "the sliding door moved 5 cm along -x"),
    Task("slide_door_right", (), partial(_door, sign=1.0), "slider", "the sliding door moved 5 cm along +x"),
    Task("turn_on_light", (), partial(light_turned, on=True), "button", "the lamp off, then on"),
    Task("turn_off_light", (), partial(light_turned, on=False), "button", "the lamp on, then off"),
    Task("press_button", (), pressed, "button", "the button pushed past its latch and released"),
    Task("move_plate", (), plate_moved, "plate", "the plate moved 5 cm and rests on the table", uses_plate=True),
)
# fmt: on
TASK_IDS: tuple[str, ...] = tuple(t.id for t in TASKS)
BY_ID: dict[str, Task] = {t.id: t for t in TASKS}
