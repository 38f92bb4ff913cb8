"""Annotation storage beside the dataset, and the export of labelled windows as a LeRobotDataset."""

import pytest
from helpers import synthetic
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from robolang.captioning import annotations
from robolang.captioning.export import export_log, export_windows
from robolang.dataset_tools import verify


def row(
    episode=0, start=2, end=8, task="lift", args="red_cube", text="lift the red block", source="oracle", split="train"
):
    return {
        "episode_index": episode, "start_frame": start, "end_frame": end, "task_id": task, "args": args,
        "instruction": text, "source": source, "split": split, "captioner_version": "test-1",
    }  # fmt: skip


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)
    return root


def test_oracle_rows_are_replaced_and_human_rows_kept(dataset):
    annotations.save(dataset, annotations.rows_from([row(source="human", text="hand label"), row(text="old oracle")]))
    annotations.replace_source(dataset, annotations.rows_from([row(text="new oracle", episode=1)]), "oracle")
    table = annotations.load(dataset)
    assert sorted(table["instruction"]) == ["hand label", "new oracle"]
    assert verify(dataset).ok  # the dataset itself is untouched and still valid


def test_non_ascii_instructions_round_trip(dataset):
    text = "pon el bloque rojo en el plato, por favor — 赤いブロック ✓"
    annotations.save(dataset, annotations.rows_from([row(text=text)]))
    assert annotations.load(dataset)["instruction"].tolist() == [text]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "   \t\n"}, "whitespace-only"),
        ({"source": "guess"}, "source"),
        ({"split": "test"}, "split"),
        ({"start": 5, "end": 5}, "start_frame < end_frame"),
        ({"end": 13}, "ends after"),
        ({"episode": 7}, "no episode 7"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_written(dataset, bad, message):
    annotations.save(dataset, annotations.rows_from([row()]))
    with pytest.raises(annotations.AnnotationError, match=message):
        annotations.save(dataset, annotations.rows_from([row(**bad)]), episode_lengths={0: 12, 1: 12})
    assert annotations.load(dataset)["instruction"].tolist() == ["lift the red block"]


def test_export_yields_the_instruction_as_task_in_lerobot(dataset, tmp_path):
    annotations.save(
        dataset,
        annotations.rows_from(
            [
                row(start=0, end=6, text="pick up the red cube"),
                row(episode=1, start=3, end=12, task="open_drawer", args="", text="open the drawer"),
                row(episode=1, start=1, end=4, text="held-out words", split="heldout_phrasing"),
            ]
        ),
    )
    out = tmp_path / "labelled"
    assert export_windows(dataset, out, splits=("train",)) == 2
    ds = LeRobotDataset("robolang/play_labelled", root=out)
    assert ds.num_episodes == 2 and len(ds) == 6 + 9
    assert ds[0]["task"] == "pick up the red cube" and ds[len(ds) - 1]["task"] == "open the drawer"
    assert "debug.intent" not in ds.features and "observation.images.static" in ds.features
    src = LeRobotDataset("test/play", root=dataset)
    assert (ds[0]["observation.state"] == src[0]["observation.state"]).all()  # the same frames
    assert [r["source_episode"] for r in export_log(out)] == [0, 1]
    with pytest.raises(FileExistsError):
        export_windows(dataset, out)


def test_export_without_annotations_says_what_to_do(dataset, tmp_path):
    with pytest.raises(ValueError, match="robolang caption"):
        export_windows(dataset, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_view_shows_the_captions_active_on_a_frame(dataset, tmp_path):
    from robolang.view import MAX_CAPTION_LINES, _episode_captions, caption_lines, export_episode

    annotations.save(dataset, annotations.rows_from([row(start=2, end=8, text="lift the red block")]))
    labels = _episode_captions(dataset, 0)
    assert caption_lines(labels, 5)[0].startswith('"lift the red block"')
    assert caption_lines(labels, 9) == [""] * MAX_CAPTION_LINES
    assert export_episode(dataset, 0, tmp_path / "v.mp4", upscale=1).stat().st_size > 0
