"""Training on labels of a chosen mix of sources (``data.label_sources``), the same choice for the
image policy's data and the state policy's, and typed labels that keep their own instruction."""

import json

import numpy as np
import pytest
from helpers import synthetic
from test_policy_data import FakeInstructions

from robolang import cli
from robolang.captioning import annotations
from robolang.captioning.states import SCENE_FILE
from robolang.policy import frame_cache
from robolang.policy.data import DataPipelineError, PolicyDataset
from robolang.policy.state_data import SceneStateDataset
from robolang.testing.scene_states import PLAY_TABLE, scene_state_fields

FIELDS = scene_state_fields(tuple(o["name"] for o in PLAY_TABLE["objects"]))


def row(episode, start, end, text, source="oracle", task="lift", args="red_cube", split="train", annotator=""):
    return {
        "episode_index": episode, "start_frame": start, "end_frame": end, "task_id": task, "args": args,
        "instruction": text, "source": source, "split": split, "captioner_version": "test-1", "annotator": annotator,
    }  # fmt: skip


ROWS = [
    row(0, 2, 12, "lift the red block"),
    row(0, 20, 29, "open the drawer", task="open_drawer", args=""),
    row(1, 0, 8, "hoist the red block", split="heldout_phrasing"),
    # typed by hand, no task id: each says what its own segment did
    row(1, 5, 15, "nudge the mug toward the lamp", source="human", task="", args="", annotator="ana"),
    row(1, 5, 15, "slide the mug over to the lamp", source="human", task="", args="", annotator="bo"),
    row(2, 0, 10, "tap the drawer handle twice", source="human", task="", args="", annotator="ana"),
    row(2, 12, 25, "wave over the table", source="human", task="", args="", annotator="bo"),
    row(2, 3, 9, "close the drawer", source="expert", task="close_drawer", args=""),
]
HUMAN = {(1, 5, 15): {"nudge the mug toward the lamp", "slide the mug over to the lamp"},
         (2, 0, 10): {"tap the drawer handle twice"}, (2, 12, 25): {"wave over the table"}}  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("label_sources") / "play"
    synthetic.record(synthetic.store(root, scene_fields=FIELDS), episodes=3, frames=30)
    annotations.save(root, annotations.rows_from(ROWS), extra_files={SCENE_FILE: json.dumps(PLAY_TABLE).encode()})
    return root


def policy_data(dataset, tmp_path, **kw):
    kw = {"val_fraction": 0.0, "cache_dir": tmp_path / "cache", "progress": False, "chunk_size": 4} | kw
    return PolicyDataset(dataset, FakeInstructions(), **kw)


def spans(ds) -> set:
    return set(ds.segments[["episode_index", "start_frame", "end_frame"]].itertuples(index=False, name=None))


def test_every_source_trains_by_default_and_a_choice_keeps_only_its_labels(dataset, tmp_path):
    everything = policy_data(dataset, tmp_path)
    assert set(everything.labels["source"]) == {"oracle", "human", "expert"}
    assert spans(everything) == {(0, 2, 12), (0, 20, 29), (2, 3, 9), *HUMAN}  # held-out rows never train
    human = policy_data(dataset, tmp_path, label_sources=("human",))
    assert spans(human) == set(HUMAN) and set(human.phrasings) == set().union(*HUMAN.values())
    mixed = policy_data(dataset, tmp_path, label_sources=("oracle", "expert"))
    assert spans(mixed) == {(0, 2, 12), (0, 20, 29), (2, 3, 9)}
    assert not set(mixed.phrasings) & set().union(*HUMAN.values())


def test_the_state_policy_data_makes_the_same_choice(dataset, tmp_path):
    for sources in (None, ("human",), ("expert", "oracle")):
        image = policy_data(dataset, tmp_path, label_sources=sources)
        state = SceneStateDataset(dataset, FakeInstructions(), chunk_size=4, val_fraction=0.0, label_sources=sources)
        assert state.segments.equals(image.segments) and state.phrasings == image.phrasings


def test_a_typed_label_without_a_task_keeps_its_own_instruction(dataset, tmp_path):
    ds = policy_data(dataset, tmp_path, label_sources=("human",))
    draw = ds.draw(512, np.random.default_rng(0))
    seen = {}
    for segment, text in zip(draw.segment, ds.instructions_of(draw), strict=True):
        key = tuple(int(v) for v in ds.segments.loc[segment, ["episode_index", "start_frame", "end_frame"]])
        assert text in HUMAN[key], f"segment {key} trained with another segment's instruction {text!r}"
        seen.setdefault(key, set()).add(text)
    assert seen == HUMAN  # both typed instructions of the doubly labelled segment are used


@pytest.mark.parametrize(
    ("sources", "said"),
    [
        (("humans",), "'humans' is not a label source (oracle, human, model, expert, vision)"),
        ((), "none given"),
        (("vision",), "data.label_sources=['vision'] leaves no train label"),
        (("model", "vision"), "leaves no train label"),
    ],
)
def test_a_choice_that_names_no_source_or_leaves_no_label_is_refused_before_decoding(
    dataset, tmp_path, monkeypatch, sources, said
):
    def no_decoding(*args, **kwargs):
        raise AssertionError("the frame cache was opened before the labels were chosen")

    monkeypatch.setattr(frame_cache.FrameCache, "open", no_decoding)
    for make in (lambda: policy_data(dataset, tmp_path, label_sources=sources),
                 lambda: SceneStateDataset(dataset, FakeInstructions(), label_sources=sources)):  # fmt: skip
        with pytest.raises(DataPipelineError, match="data.label_sources") as refused:
            make()
        message = str(refused.value)
        assert said in message
        # what the dataset has, per source: train labels of all labels
        assert "expert: 1 train labels of 1; human: 4 train labels of 4; oracle: 2 train labels of 3" in message


def test_train_refuses_a_label_sources_value_that_is_not_a_list(dataset, tmp_path, capsys):
    args = ["train", f"dataset={dataset}", f"out={tmp_path / 'run'}", "data.label_sources=human"]
    assert cli.main(args) == 2
    assert "data.label_sources='human' is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_passes_the_choice_to_the_data(dataset, tmp_path, capsys):
    args = ["train", f"dataset={dataset}", f"out={tmp_path / 'run'}", "data.label_sources=[vision]"]
    assert cli.main(args) == 2  # the dataset has no vision labels: refused, naming what it has
    err = capsys.readouterr().err
    assert "data.label_sources=['vision'] leaves no train label" in err and "human: 4 train labels of 4" in err
    assert not (tmp_path / "run").exists()
