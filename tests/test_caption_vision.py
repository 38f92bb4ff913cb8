"""The captioner that sees only images: estimated scene states, geometric contacts, the oracle's
predicates; compared with the oracle where the truth is known."""

import numpy as np
import pandas as pd
import pytest
from helpers.play import record_play
from test_estimator import render_cfg, rendered  # noqa: F401 (module fixtures: frames rendered once)
from test_policy_state import FIELDS

from robolang import cli
from robolang.captioning.config import TaskThresholds
from robolang.captioning.states import EpisodeStates, ObjectInfo, SceneInfo
from robolang.captioning.vision import EstimatedScene, settle
from robolang.captioning.vision_quality import compare
from robolang.features import STATE_NAMES
from robolang.perception.layout import EstimatorLayout

SHAPES = {"red_cube": "cube", "green_cube": "cube", "blue_bar": "bar", "yellow_cylinder": "cylinder", "plate": ""}
SCENE = SceneInfo(tuple(ObjectInfo(n, "", s or "plate", (0.04, 0.04, 0.04)) for n, s in SHAPES.items()))


def proprio(ee, width, n):
    p = np.zeros((n, len(STATE_NAMES)), np.float32)
    p[:, :3], p[:, 4] = ee, width
    return p


def test_objects_far_from_the_gripper_do_not_move_whatever_the_estimate_says():
    rng = np.random.default_rng(0)
    truth = np.array([0.5, 0.1, 0.02])
    estimate = truth + rng.normal(0, 0.01, (40, 3))  # 1 cm of jitter
    ee = np.tile([0.5, -0.2, 0.3], (40, 1))  # 35 cm away all along
    out = settle(estimate, ee)
    assert np.ptp(out, axis=0).max() == 0 and np.linalg.norm(out[0] - truth) < 0.005


def test_contacts_follow_from_geometry():
    layout = EstimatorLayout.from_fields(FIELDS, SHAPES)
    fields = tuple(FIELDS)
    build = EstimatedScene(fields, SCENE, layout, TaskThresholds())
    n, objects = 12, len(layout.objects)
    position = np.tile(np.array([[0.4 + 0.1 * k, 0.0, 0.02] for k in range(objects)]), (n, 1, 1))
    position[:, 1] = [0.4, 0.0, 0.06]  # green on top of red
    position[:, 2] = [0.6, 0.0, 0.20]  # the bar in the hand, up in the air
    estimate = {"position": position.astype(np.float32), "yaw": np.zeros((n, objects)),
                "fixture": np.zeros((n, len(layout.fixtures))), "switch": np.ones((n, len(layout.switches)))}  # fmt: skip
    states = EpisodeStates(build(estimate, proprio([0.6, 0.0, 0.2], 0.035, n)), fields, SCENE)
    assert states.contact("blue_bar", "gripper").all() and not states.contact("red_cube", "gripper").any()
    assert states.contact("red_cube", "table").all() and not states.contact("blue_bar", "table").any()
    assert states.contact("red_cube", "green_cube").all() and not states.contact("red_cube", "yellow_cylinder").any()
    assert (states.column("light.on") == 1).all()


def test_precision_and_recall_count_segments_that_overlap():
    def rows(*segments):
        return pd.DataFrame([{"episode_index": 0, "start_frame": a, "end_frame": b, "task_id": t, "args": "x"}
                             for a, b, t in segments])  # fmt: skip

    oracle = rows((0, 20, "lift"), (30, 50, "lift"), (60, 80, "grasp"))
    mine = rows((5, 22, "lift"), (5, 22, "lift"), (60, 80, "lift"), (100, 120, "grasp"))
    table = compare(mine, oracle).set_index("task")
    assert table.loc["lift", "precision"] == 0.5 and table.loc["lift", "recall"] == 0.5
    assert table.loc["grasp", "precision"] == 0 and table.loc["grasp", "recall"] == 0
    assert table.loc["all", "labels"] == 3 and table.loc["all", "oracle"] == 3


@pytest.fixture(scope="module")
def estimator(rendered, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("vision") / "estimator"
    assert cli.main(["estimator", "train", f"data={rendered[0]}", f"out={out}", "threads=1", "torch_device=cpu",
                     "train.batch_size=4", "train.warmup_steps=1", "train.steps=2", "model.channels=[8,16]",
                     "model.strides=[1,2]", "model.hidden=32"]) == 0  # fmt: skip
    return out


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    root = record_play(tmp_path_factory.mktemp("vision") / "play", seconds=30, episode_seconds=15)
    assert cli.main(["caption", str(root)]) == 0
    return root


def test_vision_captioning_runs_on_the_cameras_and_is_compared_with_the_oracle(estimator, play, capsys):
    assert cli.main(["caption", str(play), "captioner=vision", f"estimator={estimator}"]) == 0
    out = capsys.readouterr().out
    assert "against the oracle captioner's labels" in out and "| **all** |" in out
    from robolang.captioning import annotations

    stored = annotations.load(play)
    assert set(stored["source"]) <= {"oracle", "vision"} and (stored["source"] == "oracle").any()


def test_images_of_another_size_are_refused_naming_both(estimator, tmp_path, capsys):
    root = tmp_path / "big"
    from robolang import collect
    from robolang.config import load_config

    collect.run(load_config("collect", [f"out={root}", "workers=1", "hours=0.003", "seed=1"] +
                            [f"robot.config.{k}=48" for k in ("static_width", "static_height", "wrist_width",
                                                               "wrist_height")]))  # fmt: skip
    assert cli.main(["caption", str(root), "captioner=vision", f"estimator={estimator}"]) == 2
    err = capsys.readouterr().err
    assert "48x48 px" in err and "32x32" in err


def test_vision_without_an_estimator_says_what_it_needs(play, capsys):
    assert cli.main(["caption", str(play), "captioner=vision", "--dry-run"]) == 2
    assert "estimator=" in capsys.readouterr().err


def test_the_light_changes_only_while_the_hand_is_at_its_button():
    from robolang.captioning.vision import toggled_only_by

    probability = np.array([0.1, 0.9, 0.2, 0.1, 0.6, 0.7, 0.9, 0.8, 0.3, 0.9, 0.9, 0.8])  # flickers
    pressing = np.zeros(12, bool)
    pressing[4:6] = True  # one press
    state = toggled_only_by(pressing, probability)
    assert not state[:4].any() and state[6:].all()  # off before the press, on after; no flicker
