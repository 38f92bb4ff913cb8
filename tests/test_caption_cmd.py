"""`robolang caption` end to end on a real (small) scripted recording."""

import pytest
from helpers import synthetic
from helpers.play import record_play

from robolang import cli
from robolang.captioning import annotations
from robolang.captioning.captioner import HindsightCaptioner, coverage
from robolang.dataset_tools import verify


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    return record_play(tmp_path_factory.mktemp("cap") / "play", seconds=90, episode_seconds=45)


def test_caption_stores_labels_in_every_split_and_keeps_human_ones(play, capsys):
    human = annotations.rows_from(
        [{"episode_index": 0, "start_frame": 0, "end_frame": 5, "task_id": "lift", "args": "red_cube",
          "instruction": "hand-written label", "source": "human", "split": "train", "captioner_version": "person"}]
    )  # fmt: skip
    annotations.save(play, human)
    assert cli.main(["caption", str(play)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out and "predates" not in out  # the agent's log lists its tasks
    table = annotations.load(play)
    assert "hand-written label" in set(table["instruction"])
    oracle = table[table["source"] == "oracle"]
    assert len(oracle) > 10 and set(oracle["split"]) >= {"train", "heldout_phrasing"}
    assert oracle["instruction"].str.strip().str.len().min() > 0
    assert (play / "meta" / "robolang_caption_quality.md").exists()
    assert verify(play, decode_videos=False).ok
    # Recaptioning replaces oracle rows (same text: deterministic) and keeps the human row.
    assert cli.main(["caption", str(play)]) == 0
    again = annotations.load(play)
    assert len(again) == len(table) and "hand-written label" in set(again["instruction"])


def test_captions_are_deterministic_and_cover_fixture_and_object_tasks(play):
    a, _ = HindsightCaptioner().caption(play)
    b, _ = HindsightCaptioner().caption(play)
    assert a.equals(b)
    tasks = set(coverage(a).index)
    assert len(tasks) >= 5


def test_real_robot_data_without_scene_state_gets_a_clear_message(tmp_path, capsys):
    root = tmp_path / "real"
    store = synthetic.EpisodeStore(
        root, "test/real", 10, {k: v for k, v in synthetic.FEATURES.items() if k != "scene_state"}
    )
    rng = synthetic.np.random.default_rng(0)
    store.begin_episode()
    for _ in range(12):
        frame = synthetic.frame(rng, 0)
        frame.pop("scene_state")
        store.add_frame(frame)
    store.end_episode()
    store.close()
    assert cli.main(["caption", str(root)]) == 2
    err = capsys.readouterr().err
    assert "oracle captioning needs" in err and "human labels" in err


def test_synthetic_play_table_description_matches_the_simulator():
    """The captioner's test fixtures describe the same world the simulator records."""
    from robolang.testing.scene_states import PLAY_TABLE
    from sim.robot import PlayTableRobot

    recorded = PlayTableRobot.scene_description(None)

    def strip(objs):
        return [
            {k: o[k] for k in ("name", "colour", "shape")} | {"size": [round(v, 4) for v in o["size"]]} for o in objs
        ]

    assert strip(PLAY_TABLE["objects"]) == strip(recorded["objects"])


def test_quality_reads_the_tasks_each_record_expects_and_implies():
    """The sidecar says which tasks a behaviour should produce (written by the play agent):
    a topple expects a topple and implies the push it ends with."""
    import pandas as pd

    from robolang.captioning.quality import measure
    from sim.play.behaviours import expected_tasks, implied_tasks

    record = {"episode_index": 0, "behaviour": "topple", "target": "yellow_cylinder", "args": {"direction": "back"},
              "start_step": 10, "end_step": 40, "success": True,
              "expected_tasks": list(expected_tasks("topple", "yellow_cylinder", "back")),
              "implied_tasks": list(implied_tasks("topple", "yellow_cylinder", "back"))}  # fmt: skip
    labels = pd.DataFrame(
        [
            {"episode_index": 0, "start_frame": 12, "end_frame": 38, "task_id": "topple", "args": "yellow_cylinder"},
            {"episode_index": 0, "start_frame": 12, "end_frame": 36, "task_id": "push_back", "args": "yellow_cylinder"},
        ]
    )
    recall, precision = measure(labels, [record])
    assert recall.set_index("behaviour").loc["topple back", "recall"] == 1.0
    p = precision.set_index("task")
    assert p.loc["topple", "strict_precision"] == 1.0
    assert p.loc["push_back", "strict_precision"] == 0.0 and p.loc["push_back", "implied_precision"] == 1.0


def test_quality_knows_no_behaviour_by_name_and_reads_old_logs_by_their_names():
    import pandas as pd

    from robolang.captioning.quality import OLD_LOG_NOTE, format_quality, measure, predates_task_lists

    label = {"episode_index": 0, "start_frame": 5, "end_frame": 30, "task_id": "lift", "args": "red_cube"}
    labels = pd.DataFrame([label, {**label, "task_id": "push_back"}])
    new = {"episode_index": 0, "behaviour": "juggle", "target": "red_cube", "args": {}, "start_step": 0,
           "end_step": 30, "success": True, "expected_tasks": ["lift"], "implied_tasks": ["push_back"]}  # fmt: skip
    recall, precision = measure(labels, [new])
    assert recall.set_index("behaviour").loc["juggle", "recall"] == 1.0
    assert precision.set_index("task").loc["push_back", "implied_precision"] == 1.0
    # A log from before records carried their tasks: matched by behaviour name (and direction).
    old = [{k: v for k, v in new.items() if not k.endswith("_tasks")} | {"behaviour": b, "args": a}
           for b, a in (("lift", {}), ("push", {"direction": "back"}), ("carry", {}))]  # fmt: skip
    recall, precision = measure(labels, old)
    assert recall.set_index("behaviour")["recall"].to_dict() == {"lift": 1.0, "push back": 1.0}
    assert predates_task_lists(old) and not predates_task_lists([new])
    recall.attrs["predates_task_lists"] = True
    assert OLD_LOG_NOTE in format_quality(recall, precision)
