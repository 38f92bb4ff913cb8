"""``robolang view``: export one recorded episode as a video with its state drawn over it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robolang.dataset_tools import episode_frames, episode_table, load_info
from robolang.features import ACTION_NAMES, CAMERA_NAMES, CONTROL_FPS, KEY_ACTION, KEY_STATE, image_key
from robolang.recording.features import INTENTS_FILE, KEY_INTENT
from robolang.video import VideoWriter, draw_text, tile_cameras


def describe_intent(values, vocabulary: dict | None) -> str:
    """``debug.intent`` indices -> "behaviour target arg phase" using the dataset's sidecar."""
    values = [int(v) for v in np.atleast_1d(values)]
    if not vocabulary:
        return " ".join(map(str, values))
    words = []
    for field_name, v in zip(vocabulary["fields"], values, strict=False):
        vocab = vocabulary["vocabularies"].get(field_name)
        if vocab is not None and vocab[v] != "none" and field_name != "phase":
            words.append(vocab[v])
        elif field_name == "phase" and vocab is not None:
            words.append(f"({vocab[v]})")
    return " ".join(words)


def overlay_lines(row, vocabulary: dict | None) -> list[str]:
    """Text lines for one frame: time, end-effector, gripper, action, and the agent's intent."""
    s, a = row[KEY_STATE], row[KEY_ACTION]
    lines = [
        f"t={row['timestamp']:6.1f}s  frame {row['frame_index']}",
        f"ee ({s[0]:+.2f},{s[1]:+.2f},{s[2]:+.2f}) yaw {s[3]:+.2f} grip {s[4] * 100:.1f}cm",
        "act " + " ".join(f"{n}={v:+.2f}" for n, v in zip(ACTION_NAMES, a, strict=True)),
    ]
    if KEY_INTENT in row and row[KEY_INTENT] is not None:
        lines.append(f"agent intent: {describe_intent(row[KEY_INTENT], vocabulary)}")
    return lines


def export_episode(root: str | Path, episode: int, out: str | Path, upscale: int = 3) -> Path:
    """Write ``out`` (mp4): both cameras side by side with the state overlaid, frame by frame."""
    root = Path(root)
    info = load_info(root)
    sidecar = root / "meta" / INTENTS_FILE
    vocabulary = json.loads(sidecar.read_text()) if sidecar.exists() else None
    cams = [episode_frames(root, episode, image_key(c)) for c in CAMERA_NAMES if image_key(c) in info["features"]]
    table = episode_table(root, episode)
    labels = _episode_captions(root, episode)
    n = min(len(table), *(len(c) for c in cams))
    with VideoWriter(out, fps=CONTROL_FPS) as writer:
        for i in tqdm(range(n), desc=f"episode {episode}", unit="frame"):
            frame = tile_cameras([c[i] for c in cams], upscale)
            lines = overlay_lines(table.iloc[i], vocabulary) + caption_lines(labels, i)
            writer.write(draw_text(frame, lines))
    return Path(out)


MAX_CAPTION_LINES = 4  # a fixed band height keeps the video frame size constant


def _episode_captions(root: Path, episode: int):
    """This episode's train-split labels (one per segment), or None when it has none."""
    from robolang.captioning.annotations import load

    rows = load(root)
    rows = rows[(rows["episode_index"] == episode) & (rows["split"] == "train")]
    return rows.sort_values(["start_frame", "end_frame"]) if len(rows) else None


def caption_lines(labels, frame: int) -> list[str]:
    """Captions whose window covers ``frame`` (always ``MAX_CAPTION_LINES`` lines, padded)."""
    lines = []
    if labels is not None:
        active = labels[(labels["start_frame"] <= frame) & (labels["end_frame"] > frame)]
        lines = [f'"{r.instruction}" [{r.task_id} {r.start_frame}-{r.end_frame}]' for r in active.itertuples()]
    if len(lines) > MAX_CAPTION_LINES:
        lines = lines[: MAX_CAPTION_LINES - 1] + [f"(+{len(lines) - MAX_CAPTION_LINES + 1} more)"]
    return lines + [""] * (MAX_CAPTION_LINES - len(lines))
