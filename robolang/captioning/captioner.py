"""The hindsight captioner: segment play, phrase every segment, store the labels beside the data.

``HindsightCaptioner.caption(root)`` finds labelled windows (``segment.py``), picks one
phrasing per split for each (``grammar.py``; seeded by the segment, so reruns give the same
text) and returns annotation rows (``annotations.py``). A segment of a held-out (task, object)
pair gets one ``heldout_composition`` row; any other segment one ``train`` and one
``heldout_phrasing`` row.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pandas as pd

from robolang.captioning import annotations, grammar
from robolang.captioning.config import CaptionConfig
from robolang.captioning.grammar_splits import SPLITS
from robolang.captioning.segment import segment_episode
from robolang.captioning.states import SCENE_FILE, read_episodes
from robolang.captioning.tasks import instances

VERSION_PREFIX = "hindsight-1"


class HindsightCaptioner:
    """Oracle captioning from privileged scene states (sim recordings only)."""

    source = "oracle"

    def __init__(self, cfg: CaptionConfig = CaptionConfig(), seed: int = 0):
        self.cfg = cfg
        self.seed = seed
        self.version = f"{VERSION_PREFIX}+{grammar.VERSION}"

    def states(self, root: Path, progress: bool):
        """(episode, EpisodeStates) to segment: the recorded scene state."""
        return read_episodes(root)  # raises a clear error for data without scene state

    def caption(self, root: str | Path, progress: bool = False) -> tuple[pd.DataFrame, dict]:
        """Annotation rows for every episode of the dataset at ``root``, and timings."""
        root = Path(root)
        scene = json.loads((root / "meta" / SCENE_FILE).read_text()) if (root / "meta" / SCENE_FILE).exists() else None
        t0 = time.perf_counter()
        episodes = self.states(root, progress)
        rows, frames, segment_s, phrase_s, pairs = [], 0, 0.0, 0.0, None
        stream = episodes
        if progress and self.source == "oracle":
            from tqdm import tqdm

            stream = tqdm(episodes, desc="caption", unit="episode")
        for index, states in stream:
            if pairs is None:
                possible = {(t.id, a) for t, args in instances(states.scene, self.cfg) for a in args}
                objects = [o for o in states.objects]
                pairs = grammar.heldout_pairs(grammar.TASK_IDS, objects, possible=possible)
            frames += len(states)
            t = time.perf_counter()
            segments = self.segments(states, index)
            segment_s += time.perf_counter() - t
            t = time.perf_counter()
            for g in segments:
                positions = {o: tuple(states.pos(o)[g.start_frame]) for o in states.objects}
                rows += self._rows(g, scene, positions, pairs)
            phrase_s += time.perf_counter() - t
        table = annotations.rows_from(rows) if rows else annotations.empty()
        timing = {"frames": frames, "segment_s": segment_s, "phrase_s": phrase_s, "total_s": time.perf_counter() - t0}
        return table, timing

    def segments(self, states, index: int) -> list:
        """The labelled windows of one episode."""
        return segment_episode(states, self.cfg, index)

    def _rows(self, g, scene, positions, pairs) -> list[dict]:
        out = []
        for split in SPLITS:
            seed = _stable_seed(self.seed, g.episode_index, g.start_frame, g.end_frame, g.task_id, g.args, split)
            phrasing = grammar.choose(g.task_id, g.args, scene, split, seed, positions=positions, pairs=pairs)
            if phrasing is None:
                continue
            out.append(
                {
                    "episode_index": g.episode_index,
                    "start_frame": g.start_frame,
                    "end_frame": g.end_frame + 1,  # the table's end is exclusive; segments end inclusively
                    "task_id": g.task_id,
                    "args": ",".join(g.args),
                    "instruction": phrasing.text,
                    "source": self.source,
                    "split": split,
                    "captioner_version": self.version,
                }
            )
        return out


def _stable_seed(*parts) -> int:
    """A seed that does not depend on Python's per-process string hashing."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Labels per task and split (rows: tasks, columns: splits, plus a total)."""
    if table.empty:
        return pd.DataFrame(columns=[*SPLITS, "total"])
    counts = table.pivot_table(index="task_id", columns="split", values="episode_index", aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=list(annotations.SPLITS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    return counts.astype(int)


class VisionCaptioner(HindsightCaptioner):
    """The same predicates on scene states estimated from the cameras (``robolang.captioning.vision``):
    for data without the simulator's state. Its labels are stored with source ``vision``."""

    source = "vision"

    def __init__(self, estimator, cfg: CaptionConfig = CaptionConfig(), seed: int = 0):
        super().__init__(cfg, seed)
        self.estimator = estimator
        self.version = f"vision-{VERSION_PREFIX}+{grammar.VERSION}+estimator-step{estimator.step}"

    def states(self, root: Path, progress: bool):
        from robolang.captioning.vision import estimated_episodes

        return estimated_episodes(root, self.estimator, self.cfg, progress)

    def segments(self, states, index: int) -> list:
        """The windows of the estimate that at least ``cfg.vision.agreement`` of its draws find too
        (the same task and arguments over a window overlapping it by half the shorter of the two)."""
        from robolang.captioning.vision import agreed

        found = segment_episode(states, self.cfg, index)
        draws = getattr(states, "draws", ())
        if not draws:
            return found
        return agreed(found, [segment_episode(d, self.cfg, index) for d in draws], self.cfg.vision.agreement)
