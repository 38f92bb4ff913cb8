"""Segmentation of continuous play: where a task becomes true and stays true, windows trimmed
to the motion, length limits, overlaps; on scripted states and on a short simulated recording."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from robolang.captioning.config import CaptionConfig
from robolang.captioning.segment import COLUMNS, segment_dataset, segment_episode
from robolang.captioning.states import EpisodeStates, SceneInfo, read_episodes
from robolang.captioning.tasks import BY_ID
from robolang.testing.scene_states import EE_HOME, StateScript

CFG = CaptionConfig()


def with_segment(**changes) -> CaptionConfig:
    return replace(CFG, segment=replace(CFG.segment, **changes))


def labels(states, cfg=CFG) -> dict:
    """{(task_id, args): [(start, end), ...]}"""
    out: dict = {}
    for g in segment_episode(states, cfg):
        out.setdefault((g.task_id, g.args), []).append((g.start_frame, g.end_frame))
    return out


def pick_and_place(s: StateScript, obj: str, xy0, xy1, t: int, z_top=0.10) -> dict:
    """Approach from home (15 frames), descend (5), close (5), lift (10), hold (10), carry (15),
    lower (8), release (2), retreat (15). Returns the key frames."""
    hh = s.scene.object(obj).half_height
    above0 = (*xy0, 0.12)
    s.ee_path(EE_HOME, above0, t, t + 15).ee_path(above0, (*xy0, hh), t + 15, t + 20)
    grasp, lift, carry, lower, release = t + 20, t + 25, t + 45, t + 60, t + 68
    s.grip(obj, 0.04, grasp, release).touch(obj, "table", False, lift, lower + 7)
    for i in range(release - lift):  # the object follows the hand from the lift to the table
        f = lift + i
        if f < lift + 10:
            xyz = (*xy0, hh + (z_top - hh) * (i + 1) / 10)
        elif f < carry:
            xyz = (*xy0, z_top)
        elif f < lower:
            xyz = (*np.add(xy0, np.subtract(xy1, xy0) * (f - carry + 1) / 15), z_top)
        else:
            xyz = (*xy1, max(hh, z_top - (z_top - hh) * (f - lower + 1) / 8))
        s.pose(obj, xyz, start=f, stop=f + 1).ee(xyz, f, f + 1)
    s.rest(obj, xy1, start=lower + 7).ee_path((*xy1, hh), EE_HOME, release + 2, release + 17)
    return {"grasp": grasp, "release": release, "end": release + 17}


def test_pick_and_place_labels_start_at_the_approach_and_end_at_completion():
    s = StateScript(140)
    s.rest("green_cube", (0.58, -0.02))  # out of the way of the carry
    keys = pick_and_place(s, "red_cube", (0.40, -0.12), (0.42, 0.12), 20)
    states = s.states()
    found = labels(states)
    r = ("red_cube",)
    (grasp,) = found[("grasp", r)]
    (lift,) = found[("lift", r)]
    (put,) = found[("put_down", r)]
    (side,) = found[("move_to_left_side", r)]
    assert 10 <= grasp[0] <= 22 and grasp[1] == keys["grasp"]  # the approach, then the first held frame
    assert lift[0] == grasp[0] and lift[1] == 55  # the top of the lift (rising until 54)
    assert put[0] == 51 and put[1] == side[1] == keys["release"]  # from 5 cm up in the air to let go
    assert side[0] == grasp[0]
    for task_id, (a, b) in (("grasp", grasp), ("lift", lift), ("put_down", put), ("move_to_left_side", side)):
        task = BY_ID[task_id]
        assert task.holds(states, a, b, r, CFG) and not task.holds(states, a, b - 1, r, CFG), "end is inclusive"
    assert lift[0] <= grasp[1] <= lift[1], "overlapping labels: the grasp lies inside the lift"
    assert not any(k[1] != r for k in found if k[0] not in ("move_plate",)), found


def test_a_state_that_does_not_last_stay_frames_is_not_a_label():
    s = StateScript(80).set("light.on", 1.0, 40, 43)
    s.ee_path(EE_HOME, (0.70, 0.14, 0.06), 25, 38).set("button.pos", -0.01, 39, 41)
    assert ("turn_on_light", ()) not in labels(s.states())
    assert ("turn_on_light", ()) in labels(s.states(), with_segment(stay_frames=2))


def test_long_windows_are_clipped_at_the_start():
    """Grasp, hold for 25 s, then drag it left and let go: the window is clipped to 20 s."""
    s = StateScript(360)
    s.ee_path(EE_HOME, (0.40, -0.12, 0.02), 40, 55).grip("red_cube", 0.04, 56, 316)
    s.slide("red_cube", (0.40, -0.12), (0.40, 0.10), 300, 315).ee_path(
        (0.40, -0.12, 0.02), (0.40, 0.10, 0.02), 300, 315
    )
    s.release("red_cube", 316).ee(EE_HOME, 320)
    ((start, end),) = labels(s.states())[("move_to_left_side", ("red_cube",))]
    assert end == 316 and end - start + 1 == CFG.segment.max_frames


def test_a_push_after_a_long_hover_starts_at_the_push():
    s = StateScript(400)
    s.ee((0.40, -0.12, 0.09), 10)  # hovering within reach for 29 s before pushing
    s.slide("red_cube", (0.40, -0.12), (0.40, -0.02), 300, 310).touch("red_cube", "gripper", True, 300, 310)
    s.ee_path((0.40, -0.16, 0.02), (0.40, -0.06, 0.02), 300, 310).ee(EE_HOME, 315)
    ((start, end),) = labels(s.states())[("push_left", ("red_cube",))]
    assert end == 310 and 290 <= start < 300


def test_short_windows_are_extended_at_the_start_or_dropped():
    s = StateScript(60).set("drawer.pos", 0.10, 0, 20).set("drawer.pos", [0.07, 0.03], 20, 22)
    s.set("drawer.pos", 0.0, 22, 30).set("drawer.pos", [0.04, 0.08], 30, 32).set("drawer.pos", 0.10, 32)
    cfg = with_segment(min_frames=20)
    found = labels(s.states(), cfg)
    ((start, end),) = found[("close_drawer", ())]
    assert end == 23 and end - start + 1 == 20  # extended back into the rest before
    assert ("open_drawer", ()) in labels(s.states())
    assert ("open_drawer", ()) not in found  # extended back, the drawer was already open there


def test_a_re_grasp_starts_a_new_window():
    """Turn left, let go, take hold again and turn back right: both turns are found."""
    s = StateScript(120)
    xy = (0.40, -0.12)
    s.ee_path(EE_HOME, (*xy, 0.02), 10, 25)
    s.grip("red_cube", 0.04, 25, 40).rest("red_cube", xy, 40.0, 30).ee((*xy, 0.09), 42, 60)
    s.touch("red_cube", "gripper", False, 40).ee((*xy, 0.02), 60, 80).grip("red_cube", 0.04, 65, 80)
    s.rest("red_cube", xy, 0.0, 70).touch("red_cube", "gripper", False, 80).set("gripper.width", 0.08, 80)
    s.ee(EE_HOME, 85)
    found = labels(s.states())
    ((a0, a1),) = found[("rotate_left", ("red_cube",))]
    ((b0, b1),) = found[("rotate_right", ("red_cube",))]
    assert a1 == 40 and 40 <= b0 < 65 and b1 == 80


def test_put_back_on_the_plate_starts_in_the_air():
    """Lifted off the plate and put back: no change from the approach, so the window of
    place_on_plate starts where the cube is in the air (a fallback start)."""
    s = StateScript(140)
    s.rest("plate", (0.40, -0.12)).rest("red_cube", (0.40, -0.12), stop=0)
    on_plate = (0.40, -0.12, 0.012 + 0.02)
    s.pose("red_cube", on_plate).touch("red_cube", "plate", True).touch("red_cube", "table", False)
    s.ee_path(EE_HOME, on_plate, 20, 40).grip("red_cube", 0.04, 40, 80)
    lifted = (0.40, -0.12, 0.12)
    s.pose("red_cube", lifted, start=50, stop=70).touch("red_cube", "plate", False, 50, 70).ee(lifted, 50, 70)
    s.ee(on_plate, 70, 80).release("red_cube", 80).ee(EE_HOME, 85)
    found = labels(s.states())
    ((start, end),) = found[("place_on_plate", ("red_cube",))]
    assert start == 50 and end == 80
    assert ("remove_from_plate", ("red_cube",)) not in found


def test_fixture_and_light_windows():
    s = StateScript(120)
    handle = (0.55, -0.46 + 0.118, 0.07)
    s.ee_path(EE_HOME, handle, 10, 25).ee_path(handle, np.add(handle, (0, 0.12, 0)), 27, 40)
    s.set("drawer.pos", np.linspace(0, 0.12, 13), 27, 40).set("drawer.pos", 0.12, 40).ee(EE_HOME, 45)
    s.ee_path(EE_HOME, (0.70, 0.14, 0.05), 60, 75).set("button.pos", -0.01, 76, 79).set("light.on", 1.0, 77)
    s.ee(EE_HOME, 82)
    found = labels(s.states())
    ((o0, o1),) = found[("open_drawer", ())]
    assert 8 <= o0 <= 12 and o1 == 40  # from the start of the reach to the drawer stopping
    ((p0, p1),) = found[("press_button", ())]
    ((l0, l1),) = found[("turn_on_light", ())]
    assert 58 <= p0 == l0 <= 62 and l1 == 77 and p1 == 79
    assert ("turn_off_light", ()) not in found and ("close_drawer", ()) not in found


def test_quiet_episode_has_no_labels_and_rows_have_the_documented_columns(tmp_path):
    assert segment_episode(StateScript(50).states(), CFG) == []
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text('{"features": {"action": {"dtype": "float32"}}}')
    with pytest.raises(ValueError, match="real-robot recording"):
        list(read_episodes(tmp_path))
    assert COLUMNS == ("episode_index", "start_frame", "end_frame", "task_id", "args")


# ---- a real (simulated) recording -------------------------------------------------------------
class Driver:
    """Moves the simulated hand to goals through the robot's own action interface, recording
    the scene state after every 10 Hz step."""

    def __init__(self, scene):
        self.scene, self.frames = scene, [scene.scene_vector()]

    def go(self, xyz, yaw=None, grip=-1.0, speed=0.02, steps=60):
        for _ in range(steps):
            arm = self.scene.arm
            d = np.clip(np.subtract(xyz, arm.target_pos), -speed, speed)
            dyaw = 0.0 if yaw is None else float(np.clip(yaw - arm.target_yaw, -0.15, 0.15))
            self.step(np.array([*d, dyaw, grip]))
            if np.allclose(xyz, arm.target_pos, atol=1e-6) and (yaw is None or abs(yaw - arm.target_yaw) < 1e-6):
                return

    def hold(self, n, grip):
        for _ in range(n):
            self.step(np.array([0.0, 0.0, 0.0, 0.0, grip]))

    def step(self, delta):
        self.scene.step(delta)
        self.frames.append(self.scene.scene_vector())


def test_open_the_drawer_and_lift_a_cube_in_the_simulator():
    from sim.robot import PlayTableRobot, PlayTableRobotConfig
    from sim.scene import PlayTableScene, SceneConfig

    scene = PlayTableScene(SceneConfig(renderer="tiny"))
    try:
        scene.reset(2)  # drawer closed; the red cube far from the drawer
        assert scene.scene_state()["fixtures"]["drawer"] < 0.01
        drive = Driver(scene)
        drive.hold(10, -1.0)
        hx, hy = 0.55, -0.46 + 0.118 + 0.008  # on top of the drawer's handle
        drive.go((hx, hy, 0.14), yaw=1.5, grip=1.0)
        drive.go((hx, hy, 0.07), grip=1.0, speed=0.01)
        drive.hold(2, 1.0)
        drive.go((hx, hy + 0.13, 0.07), grip=1.0, speed=0.012)
        drive.go((hx, hy + 0.13, 0.16), grip=1.0)
        opened = len(drive.frames)
        red = scene.scene_state()["objects"]["red_cube"]
        face_yaw = (red["yaw"] + np.pi / 4) % (np.pi / 2) - np.pi / 4  # fingers across two faces
        drive.go((*red["pos"][:2], 0.12), yaw=face_yaw)
        drive.go((*red["pos"][:2], red["pos"][2] + 0.003), speed=0.015)
        drive.hold(6, 1.0)
        drive.go((*red["pos"][:2], 0.15), grip=1.0, speed=0.015)
        drive.hold(10, 1.0)
        fields = scene.vector.fields
    finally:
        scene.close()
    info = SceneInfo.from_description(PlayTableRobot(PlayTableRobotConfig()).scene_description())
    found = labels(EpisodeStates(np.stack(drive.frames), fields, info))
    ((o0, o1),) = found[("open_drawer", ())]
    ((g0, g1),) = found[("grasp", ("red_cube",))]
    ((l0, l1),) = found[("lift", ("red_cube",))]
    assert 5 <= o0 <= 15 and o1 < opened  # from the hand setting off to the drawer stopping
    assert opened - 5 <= g0 == l0 < g1 < l1 <= len(drive.frames) - 5
    assert set(found) == {("open_drawer", ()), ("grasp", ("red_cube",)), ("lift", ("red_cube",))}


def test_segment_dataset_reads_a_recording(tmp_path):
    """A minimal LeRobot-layout folder (info.json names, scene file, one parquet) round-trips."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from robolang.testing.scene_states import PLAY_TABLE

    s = StateScript(140)
    s.rest("green_cube", (0.58, -0.02))
    pick_and_place(s, "red_cube", (0.40, -0.12), (0.42, 0.12), 20)
    (tmp_path / "meta").mkdir()
    (tmp_path / "data" / "chunk-000").mkdir(parents=True)
    info = {"features": {"scene_state": {"dtype": "float32", "shape": [len(s.fields)], "names": list(s.fields)}}}
    (tmp_path / "meta" / "info.json").write_text(json.dumps(info))
    (tmp_path / "meta" / "robolang_scene.json").write_text(json.dumps(PLAY_TABLE))
    n = len(s.array)
    table = pa.table(
        {
            "scene_state": list(np.concatenate([s.array, s.array])),
            "episode_index": np.repeat([0, 1], n),
            "frame_index": np.tile(np.arange(n), 2),
        }
    )
    pq.write_table(table, tmp_path / "data" / "chunk-000" / "file-000.parquet")
    df = segment_dataset(tmp_path, CFG)
    assert list(df.columns) == list(COLUMNS)
    one = df[df.episode_index == 0].drop(columns="episode_index").reset_index(drop=True)
    two = df[df.episode_index == 1].drop(columns="episode_index").reset_index(drop=True)
    assert len(one) >= 4 and one.equals(two)
