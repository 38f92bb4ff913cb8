"""`robolang annotate`'s server, through Flask's test client: labels are stored as human rows with
their annotator, edited and deleted; bad input is refused with a message and nothing written;
off loopback every request needs the token; concurrent writers lose nothing; re-captioning
keeps human labels; the command refuses a dataset it cannot read and keeps every label it
was sent when killed."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import annotating, synthetic

from robolang import cli
from robolang.annotate.server import TOKEN_HEADER, create_app, is_loopback
from robolang.annotate.suggestions import no_suggestions, suggester_for
from robolang.captioning import annotations
from robolang.recording.store import update_meta

LABEL = {"episode": 0, "start": 5, "end": 45, "instruction": "lift the red block"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return annotating.record(tmp_path_factory.mktemp("annotate"))


@pytest.fixture
def play(recorded, tmp_path) -> Path:
    return annotating.copy(recorded, tmp_path / "data")


def client(root, annotator="ada", token=None, suggest=no_suggestions):
    return create_app(root, annotator, token, suggest).test_client()


def stored(root) -> list[dict]:
    return annotations.load(root).to_dict("records")


def test_a_label_is_stored_as_a_human_row_with_its_annotator_in_a_new_snapshot(play):
    before = play.resolve()
    reply = client(play).post("/api/labels", json=LABEL)
    assert reply.status_code == 201, reply.json
    assert play.resolve() != before and play.is_symlink()  # written as a new crash-safe snapshot
    (row,) = stored(play)
    assert row == {
        "episode_index": 0, "start_frame": 5, "end_frame": 45, "task_id": "", "args": "",
        "instruction": "lift the red block", "source": "human", "split": "train",
        "captioner_version": "annotate-1", "annotator": "ada",
    }  # fmt: skip
    listed = client(play).get("/api/labels?episode=0").json
    assert [r["id"] for r in listed["labels"]] == [reply.json["label"]["id"]]
    assert listed["counts"] == {"0": {"human": 1}}
    assert client(play).get("/api/labels?episode=1").json["labels"] == []


def test_a_picked_suggestion_keeps_its_task_and_split(play):
    suggestions = client(play, suggest=suggester_for(play)).get("/api/suggestions?episode=0&start=5&end=45").json
    lifts = [s for s in suggestions["suggestions"] if s["task_id"] == "lift" and s["args"] == "red_cube"]
    assert lifts and {s["split"] for s in lifts} >= {"train"}
    held = next(s for s in suggestions["suggestions"] if s["split"] != "train")
    body = {"episode": 0, "start": 5, "end": 45, **{k: held[k] for k in ("instruction", "task_id", "args", "split")}}
    assert client(play).post("/api/labels", json=body).status_code == 201
    (row,) = stored(play)
    assert (row["task_id"], row["split"], row["source"]) == (held["task_id"], held["split"], "human")


def test_suggestions_without_scene_state_say_none_are_available(play):
    reply = client(play, suggest=no_suggestions).get("/api/suggestions?episode=0&start=5&end=45").json
    assert reply["suggestions"] == [] and "no scene state" in reply["note"]
    nothing = client(play, suggest=suggester_for(play)).get("/api/suggestions?episode=0&start=0&end=3").json
    assert nothing["suggestions"] == [] and "type the instruction" in nothing["note"]
    assert client(play).get("/api/suggestions?episode=9&start=0&end=3").status_code == 404


def test_a_label_is_edited_and_deleted_and_names_its_last_editor(play):
    ada, bob = client(play, "ada"), client(play, "bob")
    label = ada.post("/api/labels", json=LABEL).json["label"]
    edited = bob.put(f"/api/labels/{label['id']}", json={**LABEL, "start": 10, "instruction": "raise the red cube"})
    assert edited.status_code == 200, edited.json
    (row,) = stored(play)
    assert (row["start_frame"], row["instruction"], row["annotator"]) == (10, "raise the red cube", "bob")
    assert ada.delete(f"/api/labels/{edited.json['label']['id']}").status_code == 200
    assert stored(play) == []


def test_machine_labels_cannot_be_edited_here(play):
    annotations.save(play, annotations.rows_from([{
        "episode_index": 0, "start_frame": 5, "end_frame": 45, "task_id": "lift", "args": "red_cube",
        "instruction": "lift the red block", "source": "oracle", "split": "train", "captioner_version": "test"}]))  # fmt: skip
    oracle = client(play).get("/api/labels").json["labels"][0]
    reply = client(play).delete(f"/api/labels/{oracle['id']}")
    assert reply.status_code == 400 and "robolang caption" in reply.json["error"]
    assert len(stored(play)) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": 71}, "outside episode 0: it has 70 frames"),
        ({"start": -1}, "outside episode 0"),
        ({"start": 45, "end": 45}, "must come before its end"),
        ({"start": 50, "end": 45}, "must come before its end"),
        ({"instruction": ""}, "empty"),
        ({"instruction": "  \t "}, "empty"),
        ({"instruction": "x" * 301}, "at most 300"),
        ({"instruction": "lift " * 41}, "longer than 40 words"),
        ({"episode": 7}, "episode 7 is not in the dataset"),
        ({"start": "5"}, "start must be a whole frame number"),
        ({"instruction": None}, "instruction must be text"),
        ({"task_id": "juggle"}, "not a caption task"),
        ({"split": "heldout_phrasing"}, "typed instruction is a train label"),
    ],
)
def test_bad_labels_are_refused_with_a_message_and_nothing_is_written(play, change, message):
    before = play.resolve()
    reply = client(play).post("/api/labels", json={**LABEL, **change})
    assert reply.status_code == 400 and message in reply.json["error"], reply.json
    assert play.resolve() == before and stored(play) == []


def test_a_duplicate_and_a_non_json_write_are_refused(play):
    ada = client(play)
    assert ada.post("/api/labels", json=LABEL).status_code == 201
    again = client(play, "bob").post("/api/labels", json=LABEL)
    assert again.status_code == 400 and "ada already gave frames 5 to 45" in again.json["error"]
    form = ada.post("/api/labels", data={"episode": "0"})  # what another web site's form could send
    assert form.status_code == 415 and len(stored(play)) == 1


def test_a_stale_edit_or_delete_from_another_tab_writes_nothing(play):
    tab_a, tab_b = client(play), client(play)
    label = tab_a.post("/api/labels", json=LABEL).json["label"]
    assert tab_b.delete(f"/api/labels/{label['id']}").status_code == 200
    other = tab_b.post("/api/labels", json={**LABEL, "instruction": "pick up the red cube"}).json["label"]
    before = play.resolve()
    edit = tab_a.put(f"/api/labels/{label['id']}", json={**LABEL, "instruction": "hold up the red cube"})
    assert edit.status_code == 409 and "changed or deleted in another tab" in edit.json["error"]
    assert tab_a.delete(f"/api/labels/{label['id']}").status_code == 409
    assert play.resolve() == before and [r["instruction"] for r in stored(play)] == [other["instruction"]]


def test_off_loopback_every_request_needs_the_token(play):
    web = client(play, token="s3cret-token")
    for path in ("/", "/api/dataset", "/api/labels", "/static/annotate.js", "/videos/x.mp4"):
        assert web.get(path).status_code == 401
    assert web.post("/api/labels", json=LABEL, headers={TOKEN_HEADER: "wrong"}).status_code == 401
    assert web.get("/api/dataset", headers={TOKEN_HEADER: "s3cret-token"}).status_code == 200
    opened = web.get("/?token=s3cret-token")  # the printed address: the token moves into a cookie
    assert opened.status_code == 302 and "HttpOnly" in opened.headers["Set-Cookie"]
    assert web.post("/api/labels", json=LABEL).status_code == 201  # the cookie carries it now
    assert stored(play)[0]["annotator"] == "ada"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("lab-pc")


def test_on_loopback_a_foreign_host_name_is_refused(play):
    local = client(play)
    assert local.get("/api/dataset").status_code == 200
    assert local.get("/api/dataset", headers={"Host": "evil.example:8765"}).status_code == 403


def test_serving_off_loopback_makes_and_prints_a_token(play, monkeypatch, capsys):
    import werkzeug.serving

    apps = []

    class Server:
        server_port = 4321

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    monkeypatch.setattr(werkzeug.serving, "make_server", lambda host, port, app, threaded: apps.append(app) or Server())
    assert cli.main(["annotate", str(play), "--host", "0.0.0.0", "--annotator", "ada"]) == 0
    token = re.search(r"\?token=(\S+)", capsys.readouterr().out)[1]
    web = apps[0].test_client()
    assert web.get("/api/dataset").status_code == 401
    assert web.get("/api/dataset", headers={TOKEN_HEADER: token}).status_code == 200


def test_concurrent_writers_lose_nothing(play):
    """Two annotators' tabs and a re-captioning run write at once; every label survives."""
    errors = []

    def label(annotator, n):
        tab = client(play, annotator)
        for i in range(n):
            reply = tab.post("/api/labels", json={**LABEL, "instruction": f"{annotator} label {i}"})
            if reply.status_code != 201:
                errors.append(reply.json)

    oracle = annotations.rows_from([{
        "episode_index": 1, "start_frame": 0, "end_frame": 9, "task_id": "lift", "args": "red_cube",
        "instruction": "lift the red cube", "source": "oracle", "split": "train", "captioner_version": "test"}])  # fmt: skip
    threads = [threading.Thread(target=label, args=(who, 3)) for who in ("ada", "bob", "cy")]
    threads.append(threading.Thread(target=annotations.replace_source, args=(play, oracle, "oracle")))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    table = annotations.load(play)
    assert sorted(table[table["source"] == "human"]["instruction"]) == sorted(
        f"{who} label {i}" for who in ("ada", "bob", "cy") for i in range(3)
    )
    assert (table["source"] == "oracle").sum() == 1


def test_recaptioning_keeps_human_labels_and_their_annotators(play):
    from robolang.captioning.command import caption_dataset

    assert client(play, "ada").post("/api/labels", json=LABEL).status_code == 201
    caption_dataset(play)
    table = annotations.load(play)
    human = table[table["source"] == "human"]
    assert human[["instruction", "annotator"]].values.tolist() == [["lift the red block", "ada"]]
    oracle = table[table["source"] == "oracle"]
    assert len(oracle) and set(oracle["annotator"]) == {""} and "lift" in set(oracle["task_id"])


def test_a_table_written_before_the_annotator_column_still_loads_and_takes_labels(play):
    old_schema = pa.schema([f for f in annotations.SCHEMA if f.name != "annotator"])
    row = {"episode_index": 1, "start_frame": 0, "end_frame": 9, "task_id": "lift", "args": "red_cube",
           "instruction": "an old hand label", "source": "human", "split": "train", "captioner_version": "person"}  # fmt: skip
    old = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([row], schema=old_schema), old)
    update_meta(play, {annotations.ANNOTATIONS_FILE: old.getvalue()})
    loaded = annotations.load(play)
    assert loaded["annotator"].tolist() == [""]
    annotations.validate(loaded, {0: 70, 1: 70})
    annotations.validate(pa.Table.from_pylist([row], schema=old_schema).to_pandas())  # rows without the column
    assert client(play).post("/api/labels", json=LABEL).status_code == 201
    assert sorted(annotations.load(play)["annotator"]) == ["", "ada"]
    assert pq.read_schema(play / "meta" / annotations.ANNOTATIONS_FILE).names == list(annotations.COLUMNS)
    with pytest.raises(annotations.AnnotationError, match="only human rows"):
        annotations.validate(annotations.rows_from([{**row, "source": "oracle", "annotator": "ada"}]))


def test_videos_are_served_with_range_requests_and_nothing_else_is(play):
    local = client(play)
    episodes = local.get("/api/dataset").json["episodes"]
    assert [e["length"] for e in episodes] == [70, 70]
    span = episodes[1]["videos"]["observation.images.static"]
    assert 0 < span["from"] < span["to"]  # the second episode lies further in the same file
    part = local.get(span["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100 and part.headers["Content-Range"].startswith("bytes 0-99/")
    assert local.get("/videos/../meta/info.json").status_code == 404
    assert local.get("/videos/observation.images.static/chunk-000/file-009.mp4").status_code == 404


def test_the_page_and_its_assets_come_from_the_app(play):
    local = client(play)
    for path in ("/", "/static/player.js", "/static/annotate.js", "/static/annotate.css"):
        reply = local.get(path)
        assert reply.status_code == 200
        assert not re.search(rb"https?://|//cdn|googleapis", reply.data), path  # offline: nothing from the network


def _damaged(tmp: Path) -> Path:
    (tmp / "meta").mkdir()
    (tmp / "meta" / "info.json").write_text("{nope")
    return tmp


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing", "is not a folder"),
        (lambda tmp: tmp, "is not a LeRobotDataset"),
        (_damaged, "not valid JSON"),
    ],
)
def test_a_dataset_that_cannot_be_read_is_refused_at_start(tmp_path, capsys, make, message):
    assert cli.main(["annotate", str(make(tmp_path)), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robolang annotate: error:") and message in err and "Traceback" not in err


def test_a_snapshot_folder_and_a_dataset_without_videos_are_refused(play, tmp_path, capsys):
    assert cli.main(["annotate", str(play.resolve()), "--port", "0"]) == 2
    assert f"label the dataset itself ({play.absolute()})" in capsys.readouterr().err
    root = tmp_path / "novideo"
    features = {k: v for k, v in synthetic.FEATURES.items() if v["dtype"] != "video"}
    store = synthetic.EpisodeStore(root, "test/novideo", 10, features)
    rng = synthetic.np.random.default_rng(0)
    store.begin_episode()
    for _ in range(5):
        frame = synthetic.frame(rng, 0)
        store.add_frame({k: v for k, v in frame.items() if k in features or k == "task"})
    store.end_episode()
    store.close()
    assert cli.main(["annotate", str(root), "--port", "0"]) == 2
    assert "no camera videos" in capsys.readouterr().err


def test_the_command_serves_and_a_killed_server_keeps_every_submitted_label(play):
    server = subprocess.Popen(
        [sys.executable, "-m", "robolang.cli", "annotate", str(play), "--port", "0", "--annotator", "ada"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        address = None
        for line in server.stdout:  # "open http://127.0.0.1:PORT/"
            if found := re.search(r"open (http://\S+)", line):
                address = found[1]
                break
        assert address, "the server never printed its address"
        for i in range(2):
            body = json.dumps({**LABEL, "instruction": f"label {i}"}).encode()
            request = urllib.request.Request(
                address + "api/labels", body, {"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=30) as reply:
                assert reply.status == 201
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert sorted(r["instruction"] for r in stored(play)) == ["label 0", "label 1"]
