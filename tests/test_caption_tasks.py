"""The task vocabulary: every predicate on scripted (start, end) states, a success and a near
miss each; slots and eligibility; thresholds in config; vectorized evaluation."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from robolang.captioning.config import CaptionConfig
from robolang.captioning.tasks import BY_ID, TASK_IDS, TASKS, instances
from robolang.testing.scene_states import StateScript

CFG = CaptionConfig()
N = 6  # frames: 0 is the start, the end state is held on frames 1..5 (still at the end)
HH = {"red_cube": 0.02, "green_cube": 0.0275, "blue_bar": 0.0175, "yellow_cylinder": 0.025, "plate": 0.006}
REQUIRED = {  # the ids the phrasing grammar is written against
    *("lift", "place_on_plate", "remove_from_plate", "put_in_drawer", "take_from_drawer", "grasp", "put_down"),
    *("push_left", "push_right", "push_forward", "push_back", "rotate_left", "rotate_right"),
    *("move_to_left_side", "move_to_right_side", "move_to_front", "move_to_back"),
    *("stack", "unstack", "place_next_to", "open_drawer", "close_drawer", "slide_door_left", "slide_door_right"),
    *("turn_on_light", "turn_off_light", "press_button", "move_plate"),
}


def script() -> StateScript:
    return StateScript(N)


# ---- scripted scenes: each returns the script; the end state is on frames 1..N-1 ---------------
def lifted(rise):
    s = script()
    s.grip("red_cube", 0.04, 1).pose("red_cube", (0.40, -0.12, HH["red_cube"] + rise), start=1)
    return s.touch("red_cube", "table", False, 1)


def grasped(width):
    return script().grip("red_cube", width, 1)


def put_down(touching_table_at_start):
    s = script().grip("red_cube", 0.04, 0, 1).pose("red_cube", (0.40, -0.12, 0.07), stop=1)
    s.touch("red_cube", "table", touching_table_at_start, 0, 1)
    return s.rest("red_cube", (0.45, -0.05), start=1)


def on_plate(s, xy=(0.48, 0.0), start=0, stop=None, held=False):
    z = 0.012 + HH["red_cube"]
    s.pose("red_cube", (*xy, z), start=start, stop=stop).touch("red_cube", "plate", True, start, stop)
    s.touch("red_cube", "table", False, start, stop)
    return s.grip("red_cube", 0.04, start, stop) if held else s


def placed_on_plate(held):
    return on_plate(script(), start=1, held=held)


def removed_from_plate(still_touching):
    s = on_plate(script(), stop=1).rest("red_cube", (0.40, 0.08 if still_touching else 0.18), start=1)
    return s.touch("red_cube", "plate", still_touching, 1)


def in_drawer(s, start=0, stop=None, z=0.047):
    s.set("drawer.pos", 0.15).pose("red_cube", (0.55, -0.46 + 0.15, z), start=start, stop=stop)
    return s.touch("red_cube", "drawer", True, start, stop).touch("red_cube", "table", False, start, stop)


def put_in_drawer(on_cabinet_top):
    return in_drawer(script(), 1, z=0.16 if on_cabinet_top else 0.047)


def taken_from_drawer(still_touching):
    s = in_drawer(script(), 0, 1).rest("red_cube", (0.40, -0.15), start=1)
    return s.touch("red_cube", "drawer", still_touching, 1)


def pushed(direction, lifted_on_the_way=False, sideways=0.0):
    d = np.asarray({"left": (0, 1), "right": (0, -1), "forward": (1, 0), "back": (-1, 0)}[direction], float)
    xy0 = np.array([0.48, 0.0])
    xy1 = xy0 + 0.07 * d + sideways * np.array([-d[1], d[0]])
    s = StateScript(N).slide("plate", (0.48, 0.2), (0.48, 0.2), 0, 1)  # the plate out of the way
    s.rest("red_cube", xy0, stop=1).rest("red_cube", (xy0 + xy1) / 2, start=1, stop=2).rest("red_cube", xy1, start=2)
    s.touch("red_cube", "gripper", True, 1, 2)
    if lifted_on_the_way:
        s.pose("red_cube", (*(xy0 + xy1) / 2, 0.06), start=1, stop=2)
    return s


def rotated(yaw_deg, shift=0.01):
    s = script().rest("red_cube", (0.40, -0.12), 10.0, stop=1)
    return s.rest("red_cube", (0.40 + shift, -0.12), 10.0 + yaw_deg, start=1)


def moved_to(xy0, xy1):
    return script().rest("red_cube", xy0, stop=1).rest("red_cube", xy1, start=1)


def toppled(tilt_deg):
    s = script()
    z = HH["yellow_cylinder"] if tilt_deg < 45 else 0.02
    return s.pose("yellow_cylinder", (0.58, 0.12, z), 0.0, tilt_deg, start=1)


def stacked(s, start=0, stop=None, held=False):
    s.pose("red_cube", (0.40, 0.12, 0.055 + 0.02), start=start, stop=stop).touch(
        "red_cube", "green_cube", True, start, stop
    )
    s.touch("red_cube", "table", False, start, stop)
    return s.grip("red_cube", 0.04, start, stop) if held else s


def unstacked(still_on_base):
    s = stacked(script(), 0, 1)
    return stacked(s, 1) if still_on_base else s.rest("red_cube", (0.40, -0.12), start=1)


def placed_beside(offset, start_offset=(0.0, -0.25)):
    green = np.array([0.40, 0.12])
    return script().rest("red_cube", green + start_offset, stop=1).rest("red_cube", green + np.asarray(offset), start=1)


def joint(name, q0, q1):
    return script().set(f"{name}.pos", q0, 0, 1).set(f"{name}.pos", q1, 1)


def light(on0, on1):
    return script().set("light.on", float(on0), 0, 1).set("light.on", float(on1), 1)


def pressed(depth):
    return script().set("button.pos", -depth, 1, 3)


def plate_moved(dy):
    return script().rest("plate", (0.48, 0.0), stop=1).rest("plate", (0.48, dy), start=1)


R, RG = ("red_cube",), ("red_cube", "green_cube")
# task id, args, the scene where it is done, a near miss where it is not
CASES = [
    ("lift", R, lifted(0.06), lifted(0.04)),
    ("grasp", R, grasped(0.04), grasped(0.001)),  # fingers shut: touching, not holding
    ("put_down", R, put_down(False), put_down(True)),  # it was never in the air
    ("place_on_plate", R, placed_on_plate(False), placed_on_plate(True)),  # still held
    ("remove_from_plate", R, removed_from_plate(False), removed_from_plate(True)),
    ("put_in_drawer", R, put_in_drawer(False), put_in_drawer(True)),  # on the cabinet, not in
    ("take_from_drawer", R, taken_from_drawer(False), taken_from_drawer(True)),
    ("push_left", R, pushed("left"), pushed("left", lifted_on_the_way=True)),  # a carry
    ("push_right", R, pushed("right"), pushed("right", sideways=0.04)),  # diagonal
    ("push_forward", R, pushed("forward"), pushed("back")),
    ("push_back", R, pushed("back"), pushed("left")),
    ("rotate_left", R, rotated(40), rotated(20)),
    ("rotate_right", R, rotated(-40), rotated(40)),
    ("move_to_left_side", R, moved_to((0.40, 0.0), (0.40, 0.12)), moved_to((0.40, 0.10), (0.40, 0.16))),
    ("move_to_right_side", R, moved_to((0.40, 0.0), (0.40, -0.12)), moved_to((0.40, 0.0), (0.40, -0.06))),
    ("move_to_front", R, moved_to((0.50, 0.0), (0.38, 0.0)), moved_to((0.50, 0.0), (0.45, 0.0))),
    ("move_to_back", R, moved_to((0.45, 0.0), (0.58, 0.0)), moved_to((0.45, 0.0), (0.50, 0.0))),
    ("topple", ("yellow_cylinder",), toppled(90), toppled(30)),
    ("stack", RG, stacked(script(), 1), stacked(script(), 1, held=True)),
    ("unstack", RG, unstacked(False), unstacked(True)),
    ("place_next_to", RG, placed_beside((0.0, -0.09)), placed_beside((0.0, -0.14))),
    ("place_in_front_of", RG, placed_beside((-0.09, 0.0)), placed_beside((0.09, 0.0))),
    ("place_behind", RG, placed_beside((0.09, 0.0)), placed_beside((-0.09, 0.0))),
    ("open_drawer", (), joint("drawer", 0.0, 0.10), joint("drawer", 0.0, 0.03)),
    ("close_drawer", (), joint("drawer", 0.12, 0.0), joint("drawer", 0.12, 0.09)),
    ("slide_door_left", (), joint("slider", 0.10, 0.02), joint("slider", 0.02, 0.10)),
    ("slide_door_right", (), joint("slider", 0.02, 0.10), joint("slider", 0.10, 0.02)),
    ("turn_on_light", (), light(False, True), light(True, True)),
    ("turn_off_light", (), light(True, False), light(False, False)),
    ("press_button", (), pressed(0.010), pressed(0.004)),  # not down to the latch
    ("move_plate", (), plate_moved(0.08), plate_moved(0.03)),
]


@pytest.mark.parametrize(("task_id", "args", "done", "near_miss"), CASES, ids=[c[0] for c in CASES])
def test_predicate_success_and_near_miss(task_id, args, done, near_miss):
    task = BY_ID[task_id]
    obj = args[0] if args else "plate"
    for scene in (done, near_miss):  # the robot touched the object on the way (Task.by_robot)
        scene.touch(obj, "gripper", True, 1, 2)
    assert task.holds(done.states(), 0, N - 1, args, CFG), f"{task_id} should hold"
    assert not task.holds(near_miss.states(), 0, N - 1, args, CFG), f"{task_id} near miss should not hold"
    assert not task.holds(done.states(), 0, 0, args, CFG), "nothing happens between a frame and itself"


def test_object_tasks_need_the_robot_to_touch_the_object():
    """Pushed by another object (a chain of pushes): the cube moved left, but not by the robot."""
    untouched = pushed("left")
    untouched.touch("red_cube", "gripper", False)
    assert not BY_ID["push_left"].holds(untouched.states(), 0, N - 1, R, CFG)
    assert BY_ID["move_plate"].by_robot and not BY_ID["topple"].by_robot


def test_every_task_has_a_case_and_the_vocabulary_is_complete():
    assert {c[0] for c in CASES} == set(TASK_IDS)
    assert len(TASKS) >= 30 and len(set(TASK_IDS)) == len(TASK_IDS)
    assert REQUIRED.issubset(TASK_IDS)
    assert all(t.description for t in TASKS)


def test_slots_follow_sizes_and_shapes():
    scene = StateScript(2).scene
    args = {}
    for task, a in instances(scene, CFG):
        args.setdefault(task.id, set()).add(a)
    assert ("plate",) not in args["place_on_plate"] and ("plate",) not in args["put_in_drawer"]
    assert {a[0] for a in args["lift"]} == {"red_cube", "green_cube", "blue_bar", "yellow_cylinder"}
    assert {a[0] for a in args["rotate_left"]} == {"red_cube", "green_cube", "blue_bar"}  # discs excluded
    assert {a[0] for a in args["topple"]} == {"yellow_cylinder"}
    assert all(a[1] != "plate" and a[0] != a[1] for a in args["stack"])
    assert ("plate",) in args["push_left"] and args["open_drawer"] == {()}


def test_vectorized_over_candidate_ends_matches_scalar_calls():
    s = StateScript(40)
    s.slide("red_cube", (0.40, -0.12), (0.40, 0.10), 5, 25).touch("red_cube", "gripper", True, 5, 25)
    s.set("drawer.pos", np.linspace(0, 0.15, 40)).set("light.on", 1.0, 30)
    states = s.states()
    t0 = np.array([[0], [3], [10]])
    t1 = t0 + np.arange(1, 30)
    t1 = np.minimum(t1, 39)
    for task in TASKS:
        for _, args in [(t, a) for t, a in instances(states.scene, CFG) if t is task][:2]:
            grid = np.broadcast_to(task.holds(states, t0, t1, args, CFG), t1.shape)
            scalar = [
                [bool(task.holds(states, int(a), int(b), args, CFG)) for b in row]
                for a, row in zip(t0[:, 0], t1, strict=True)
            ]
            assert grid.tolist() == scalar, task.id


def test_yaml_mirrors_the_dataclass_defaults():
    path = Path(__file__).resolve().parents[1] / "configs" / "caption" / "default.yaml"
    loaded = CaptionConfig.from_yaml(path)
    assert loaded == CaptionConfig()
    text = path.read_text()
    for section in (CFG.tasks, CFG.segment, CFG.vision):
        for f in fields(section):
            line = next(line for line in text.splitlines() if line.strip().startswith(f"{f.name}:"))
            assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, f"{f.name} needs a reason"


def test_unknown_config_keys_are_refused():
    with pytest.raises(ValueError, match="unknown TaskThresholds keys"):
        CaptionConfig.from_dict({"tasks": {"move_min": 0.05}})


def test_a_scene_without_a_plate_has_no_plate_tasks():
    from robolang.testing.scene_states import PLAY_TABLE

    desc = {**PLAY_TABLE, "objects": [o for o in PLAY_TABLE["objects"] if o["shape"] != "plate"]}
    ids = {t.id for t, _ in instances(StateScript(2, desc).scene, CFG)}
    assert not ids & {"place_on_plate", "remove_from_plate", "move_plate"} and "stack" in ids
