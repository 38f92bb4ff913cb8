"""What adopting a plain LeRobotDataset (e.g. one ``lerobot-record`` wrote) changes on the way in.

``EpisodeStore`` (resume), ``update_meta`` (captions) and ``merge_into`` adopt a plain dataset
folder into the snapshot layout (``store.adopt``). A dataset that LeRobot's own tools recorded
with a robolang robot is robolang data with two differences, both put right there:

1. **Commanded, not applied, actions.** ``lerobot-record`` (0.4.4) stores the action it
   *commanded* (the teleoperator's or policy's output) and drops what ``send_action`` returned;
   robolang's recorders store the applied action, which is in [-1, 1] by contract. A commanded
   one need not be (a gripper of 1.005 was recorded). When the action names are robolang's,
   actions are clipped to [-1, 1], exactly what ``send_action`` did to them first, and the
   action statistics are recomputed. What a backend limited further (the sim's workspace box,
   action latency) is not in the data and is not re-derived: such frames keep the command.
2. **Overflowed image statistics** (``stats.py``): recomputed from the videos (``image``
   features, stored as PNGs with ``--dataset.video=false``, are left as they are).

The conformed dataset is built as a new snapshot; the folder as it was is kept until that
snapshot is complete, so a crash at any moment leaves one or the other.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from robolang.features import ACTION_NAMES, KEY_ACTION
from robolang.recording.stats import correct_image_stats, overflowed_image_keys, video_keys, write_episode_stats


def robolang_actions(info: dict) -> bool:
    """Whether a dataset's ``action`` is robolang's (``dx, dy, dz, dyaw, gripper``)."""
    feature = info["features"].get(KEY_ACTION, {})
    return list(feature.get("names") or []) == list(ACTION_NAMES)


def _data_files(root: Path) -> list[Path]:
    return sorted((root / "data").glob("chunk-*/file-*.parquet"))


def _read_actions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(episode_index (N,), action (N, ACTION_DIM)) of one data file."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["episode_index", KEY_ACTION])
    actions = np.asarray(table.column(KEY_ACTION).to_pylist(), dtype=np.float64).reshape(len(table), -1)
    return table.column("episode_index").to_numpy(), actions


def actions_out_of_range(root: Path, info: dict) -> int:
    """How many frames of a robolang-action dataset have an action outside [-1, 1]."""
    if not robolang_actions(info):
        return 0
    return sum(int((np.abs(_read_actions(p)[1]) > 1.0).any(axis=1).sum()) for p in _data_files(root))


def needs_conforming(root: Path, info: dict) -> bool:
    stats_path = root / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return bool(actions_out_of_range(root, info) or overflowed_image_keys(stats, video_keys(info)))


def clip_actions(root: Path, info: dict) -> int:
    """Clip a robolang-action dataset's actions to [-1, 1] and recompute their statistics, in
    place; data files are replaced (renamed over), never written where they are, since a
    snapshot shares them through hard links. Returns how many frames changed."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from lerobot.datasets.compute_stats import compute_episode_stats

    if not robolang_actions(info):
        return 0
    changed, per_episode = 0, {}
    feature = {KEY_ACTION: info["features"][KEY_ACTION]}
    for path in _data_files(root):
        episodes, actions = _read_actions(path)
        clipped = np.clip(actions, -1.0, 1.0)
        bad = int((clipped != actions).any(axis=1).sum())
        if bad:
            table = pq.read_table(path)
            column = pa.array(clipped.astype(np.float32).tolist(), type=table.schema.field(KEY_ACTION).type)
            table = table.set_column(table.column_names.index(KEY_ACTION), KEY_ACTION, column)
            tmp = path.with_name(f".{path.name}.tmp")
            pq.write_table(table, tmp)
            os.replace(tmp, path)
            changed += bad
        for ep in np.unique(episodes):
            per_episode[int(ep)] = compute_episode_stats({KEY_ACTION: clipped[episodes == ep]}, feature)[KEY_ACTION]
    if changed:
        write_episode_stats(root, {KEY_ACTION: per_episode})
    return changed


def conform(root: Path) -> list[str]:
    """Put a dataset right in place (a staging copy): clipped actions, correct image
    statistics. Returns one line per change, for the log."""
    from robolang.recording.store import read_info

    info = read_info(root)
    notes = []
    clipped = clip_actions(root, info)
    if clipped:
        notes.append(f"{clipped} commanded actions outside [-1, 1] clipped (lerobot-record stores the command)")
    keys = correct_image_stats(root, info)
    if keys:
        notes.append(f"image statistics recomputed for {', '.join(keys)} (LeRobot 0.4.4 overflowed them)")
    return notes


def repair_image_stats(dataset: str | os.PathLike) -> list[str]:
    """Recompute overflowed image statistics of a dataset made before robolang corrected them, in a
    new snapshot (``store.edit_snapshot``; a plain folder is adopted on the way). Returns the keys
    corrected (none: nothing is written)."""
    from robolang.recording.store import edit_snapshot, read_info

    root = Path(dataset).absolute()
    if not root.exists():
        raise FileNotFoundError(f"no dataset at {root}")
    info = read_info(root)
    stats_path = root / "meta" / "stats.json"
    before = overflowed_image_keys(json.loads(stats_path.read_text()) if stats_path.exists() else {}, video_keys(info))
    if before:
        edit_snapshot(root, lambda staging: correct_image_stats(staging, read_info(staging)))
    return before


if __name__ == "__main__":  # python -m robolang.recording.adoption DATASET...
    for path in sys.argv[1:] or sys.exit("usage: python -m robolang.recording.adoption DATASET..."):
        fixed = repair_image_stats(path)
        print(f"{path}: image statistics recomputed for {', '.join(fixed)}" if fixed else f"{path}: statistics OK")
