"""Segmentation: find where each task instance happened in continuous play, and trim its window.

For every (task, args) the scan goes:

1. **Where a window may start.** The robot *acts on* an entity (the task's object or fixture)
   while the end-effector is within ``reach_m`` of it, touches it, or it moves. Each stretch
   of such activity after a rest starts a candidate window, moved earlier by the
   end-effector's approach (the frames just before, while its distance to the entity kept
   shrinking; ``lead_in_min_frames`` to ``lead_in_max_frames``, never before the rest began).
   A task may instead name its own start frames (``Task.starts``; ``put_down`` starts when
   the held object is in the air), and fallback starts used only where no other window of
   the instance overlaps (``Task.fallback_starts``: an object lifted off the plate and put back
   on it is "placed on the plate" from the moment it is in the air).
2. **Where it ends.** From each start ``t0`` the predicate is evaluated against every
   candidate end ``t1`` in ``(t0, t0 + search_frames]`` at once (a (starts x ends) array). The
   window ends at the first ``t1`` from which the predicate holds for ``stay_frames`` frames
   in a row (at the episode's end: holds on every remaining frame).
3. **Length.** Windows longer than ``max_frames`` are clipped at the start; windows shorter
   than ``min_frames`` are extended at the start (not past frame 0). Either is dropped when
   the predicate no longer holds over the changed window.
4. **One label per achievement.** Of windows of one instance that end on the same frame the
   latest start (the shortest) is kept, and a window that contains another of the same
   instance is dropped. Labels of different tasks overlap freely ("put in drawer" and "open
   the drawer").

``start_frame`` and ``end_frame`` are both **inclusive** frame indices within the episode;
``end_frame`` is the first frame at which the task is complete.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from robolang.captioning import relations as rel
from robolang.captioning.config import CaptionConfig
from robolang.captioning.states import EpisodeStates, read_episodes
from robolang.captioning.tasks import FIXTURES, Task, instances

COLUMNS = ("episode_index", "start_frame", "end_frame", "task_id", "args")


@dataclass(frozen=True)
class Segment:
    """A labelled window: frames ``start_frame`` .. ``end_frame`` (both inclusive)."""

    episode_index: int
    start_frame: int
    end_frame: int
    task_id: str
    args: tuple[str, ...]


# ---- when the robot acts on an entity ------------------------------------------------------------
def _box_distance(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(T,) distance from each point to an axis-aligned box (0 inside); boxes are (T, 3)."""
    return np.linalg.norm(np.maximum(np.maximum(low - points, points - high), 0.0), axis=1)


def ee_distance(s: EpisodeStates, entity: str, cfg: CaptionConfig) -> np.ndarray:
    """(T,) end-effector distance to an object's footprint circle or a fixture's moving part."""

    def compute():
        ee = s.ee().astype(np.float64)
        if entity not in FIXTURES:
            return np.linalg.norm(ee - s.pos(entity), axis=1) - s.info(entity).footprint
        g, q = cfg.segment, s.fixture(entity).astype(np.float64)
        zero = np.zeros_like(q)
        if entity == "drawer":
            box, origin, shift = g.drawer_front, s.scene.drawer_cabinet, np.stack([zero, q, zero], 1)
        elif entity == "slider":
            box, origin, shift = g.door_panel, s.scene.slider_cabinet, np.stack([q, zero, zero], 1)
        else:
            box, origin, shift = g.button_cap, s.scene.button, np.zeros((len(q), 3))
        base = np.array([*origin, 0.0]) + shift
        return _box_distance(ee, base + np.asarray(box[0]), base + np.asarray(box[1]))

    return s.memo(("ee_distance", entity, cfg), compute)


def handling(s: EpisodeStates, entity: str, cfg: CaptionConfig) -> np.ndarray:
    """(T,) the entity is touched by the robot or moves (a fixture: its joint moves). Gaps
    shorter than ``min_rest_frames`` are filled."""

    def compute():
        c = cfg.tasks
        if entity in FIXTURES:
            busy = ~rel.fixture_still(s, entity, c)
            if entity == "button":
                busy |= rel.button_down(s, c) | np.concatenate([[False], np.diff(s.light()) != 0])
        else:
            busy = rel.touched_by_robot(s, entity) | rel.moving(s, entity, c)
        return _fill_short(busy, False, cfg.segment.min_rest_frames)

    return s.memo(("handling", entity, cfg), compute)


def acting(s: EpisodeStates, entity: str, cfg: CaptionConfig) -> np.ndarray:
    """(T,) the robot acts on ``entity``: the end-effector within reach, or handling it. Rests
    shorter than ``min_rest_frames`` are filled."""

    def compute():
        near = ee_distance(s, entity, cfg) < cfg.segment.reach_m
        return _fill_short(near | handling(s, entity, cfg), False, cfg.segment.min_rest_frames)

    return s.memo(("acting", entity, cfg), compute)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of True in a (T,) bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _fill_short(mask: np.ndarray, value: bool, shortest: int) -> np.ndarray:
    """Set runs of ``value`` shorter than ``shortest`` frames to ``not value``."""
    out = mask.copy()
    starts, ends = runs(mask == value)
    for a, b in zip(starts, ends, strict=True):
        if b - a < shortest:
            out[a:b] = not value
    return out


def approach_starts(s: EpisodeStates, entity: str, cfg: CaptionConfig) -> np.ndarray:
    """Window starts for tasks on ``entity``: each onset of activity after a rest, and each
    renewed handling within one activity (a re-grasp after letting go, a second press, a push
    after a long hover), moved back over the end-effector's approach but never before the
    previous rest or handling ended."""

    def compute():
        g = cfg.segment
        act_starts, act_ends = runs(acting(s, entity, cfg))
        hold_starts, hold_ends = runs(handling(s, entity, cfg))
        # Handling runs start a new attempt when they follow another within one activity (a
        # re-grasp) or come long after the activity began (the hand hovered first).
        activity = np.searchsorted(act_starts, hold_starts, side="right") - 1
        again = np.concatenate([[False], activity[1:] == activity[:-1]])[: len(hold_starts)]
        late = hold_starts - act_starts[activity] > g.lead_in_max_frames
        rest_begins = np.concatenate([[0], act_ends[:-1]])
        floors = np.where(again, np.concatenate([[0], hold_ends[:-1]])[: len(hold_starts)], rest_begins[activity])
        onsets = np.concatenate([act_starts, hold_starts[again | late]])
        floors = np.concatenate([rest_begins, floors[again | late]])
        d = ee_distance(s, entity, cfg)
        closer = np.concatenate([d[:-1] - d[1:] >= g.approach_eps_m, [False]])  # closer at t+1 than at t
        t = np.arange(len(d))
        run = t - np.maximum.accumulate(np.where(closer, -1, t))  # approaching frames ending at t
        lead = np.clip(run[np.maximum(onsets - 1, 0)], g.lead_in_min_frames, g.lead_in_max_frames)
        return np.unique(np.maximum(onsets - lead, floors)).astype(np.int64)

    return s.memo(("approach_starts", entity, cfg), compute)


def window_starts(s: EpisodeStates, task: Task, args: tuple[str, ...], cfg: CaptionConfig) -> np.ndarray:
    """Candidate first frames of this instance's windows."""
    if task.starts is None:
        return approach_starts(s, task.entity(args, s.scene), cfg)
    return runs(task.starts(s, args, cfg.tasks))[0].astype(np.int64)


# ---- from starts to labelled windows -------------------------------------------------------------
def completions(s: EpisodeStates, task: Task, args, t0: np.ndarray, cfg: CaptionConfig) -> np.ndarray:
    """For each start, the first frame from which the task holds ``stay_frames`` in a row
    (-1 if none within ``search_frames``)."""
    g, last = cfg.segment, len(s) - 1
    k, n = g.stay_frames, g.search_frames
    t1 = np.minimum(t0[:, None] + np.arange(1, n + k + 1), last)  # (A, n + k), the end repeats
    h = np.broadcast_to(task.holds(s, t0[:, None], t1, args, cfg), t1.shape)
    count = np.concatenate([np.zeros((len(t0), 1), np.int32), np.cumsum(h, axis=1, dtype=np.int32)], axis=1)
    stays = count[:, k : k + n] - count[:, :n] == k  # (A, n): holds on frames j .. j + k - 1
    first = stays.argmax(axis=1)
    rows = np.arange(len(t0))
    return np.where(stays[rows, first], t1[rows, first], -1)


def _fit_length(s, task, args, start: int, end: int, cfg: CaptionConfig) -> int | None:
    """The start after clipping / extending to the length limits, or None if it no longer holds."""
    g = cfg.segment
    length = end - start + 1
    if g.min_frames <= length <= g.max_frames:
        return start
    new = end - g.max_frames + 1 if length > g.max_frames else max(0, end - g.min_frames + 1)
    if end - new + 1 < g.min_frames or not bool(task.holds(s, new, end, args, cfg)):
        return None
    return new


def _one_per_achievement(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of windows ending on one frame keep the latest start; drop windows containing another."""
    latest: dict[int, int] = {}
    for start, end in windows:
        latest[end] = max(start, latest.get(end, -1))
    kept = sorted((start, end) for end, start in latest.items())
    return [
        (a, b) for a, b in kept if not any((c, d) != (a, b) and a <= c and d <= b for c, d in kept)
    ]  # few windows per instance: quadratic is fine


def _windows_from(s: EpisodeStates, task: Task, args, t0: np.ndarray, cfg: CaptionConfig) -> list[tuple[int, int]]:
    t0 = t0[t0 < len(s) - 1]
    if not len(t0):
        return []
    windows = []
    for start, end in zip(t0.tolist(), completions(s, task, args, t0, cfg).tolist(), strict=True):
        if end >= 0 and (start := _fit_length(s, task, args, start, end, cfg)) is not None:
            windows.append((start, end))
    return windows


def find_windows(s: EpisodeStates, task: Task, args, cfg: CaptionConfig) -> list[tuple[int, int]]:
    """Inclusive (start, end) windows in which this task instance was done."""
    windows = _windows_from(s, task, args, window_starts(s, task, args, cfg), cfg)
    if task.fallback_starts is not None:
        more = _windows_from(s, task, args, runs(task.fallback_starts(s, args, cfg.tasks))[0], cfg)
        windows += [(a, b) for a, b in more if not any(a <= d and c <= b for c, d in windows)]
    return _one_per_achievement(windows)


def segment_episode(
    s: EpisodeStates, cfg: CaptionConfig = CaptionConfig(), episode_index: int = 0, tasks=None
) -> list[Segment]:
    """Every task instance done in one episode, as labelled windows (overlaps allowed)."""
    if s.scene is None:
        raise ValueError("segmenting needs the scene description (EpisodeStates(..., scene=SceneInfo))")
    out, present = [], set(s.objects) | set(s.fixtures)
    for task, args in instances(s.scene, cfg, tasks):
        if not present.issuperset(args) or task.entity(args, s.scene) not in present:
            continue  # the scene file names something these states do not record
        for start, end in find_windows(s, task, args, cfg):
            out.append(Segment(episode_index, start, end, task.id, args))
    return sorted(out, key=lambda g: (g.start_frame, g.end_frame, g.task_id, g.args))


def segment_dataset(
    root: str | Path, cfg: CaptionConfig = CaptionConfig(), episodes: Iterable[int] | None = None, progress=False
) -> pd.DataFrame:
    """Segment every episode of a play dataset; one row per labelled window (``COLUMNS``)."""
    rows = []
    stream = read_episodes(root, episodes)
    if progress:
        from tqdm import tqdm

        stream = tqdm(stream, desc="caption", unit="episode")
    for index, states in stream:
        rows += [vars(g) for g in segment_episode(states, cfg, index)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def timed_segment_dataset(root: str | Path, cfg: CaptionConfig = CaptionConfig()) -> tuple[pd.DataFrame, dict]:
    """``segment_dataset`` with its cost: frames, seconds reading, seconds segmenting."""
    t = time.perf_counter()
    episodes = list(read_episodes(root))
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    rows = [vars(g) for index, states in episodes for g in segment_episode(states, cfg, index)]
    seg_s = time.perf_counter() - t
    frames = sum(len(states) for _, states in episodes)
    return pd.DataFrame(rows, columns=list(COLUMNS)), {"frames": frames, "read_s": read_s, "segment_s": seg_s}
