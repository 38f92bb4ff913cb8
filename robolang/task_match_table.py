"""The task matcher's phrasing table: grammar phrasings standing for each (task, objects) of a
scene, with their sentence embeddings; built once per scene, grammar, encoder and task list,
then read back from disk.

Building it is ``phrasings`` (the grammar's choices, about 2 s for the play table's 140
(task, objects) pairs) plus embedding every text (about a minute on 2 cores for ~5,000 texts:
the cost of a first ``ask``). The file is keyed by everything the table depends on
(``table_key``), so a changed grammar, scene, encoder or task list builds a new one, and one
probe text is re-embedded on load, so an encoder whose weights changed under the same name
is caught too.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robolang.captioning import grammar
from robolang.captioning import tasks as task_registry
from robolang.captioning.config import CaptionConfig
from robolang.captioning.states import SceneInfo
from robolang.captioning.tasks import instances

TABLE_FORMAT = 1  # bump when what goes into a table changes in code the key cannot see
SEEDS_PER_SPLIT = 16  # phrasings sampled per (task, objects) and split
BATCH = 64  # texts per encoder call; texts are sorted by length first, so little padding is encoded
PROBE_MIN_COSINE = 0.999  # a reloaded table's probe text, embedded again, must point the same way

Key = tuple[str, tuple[str, ...]]  # (task id, object names)


@dataclass(frozen=True)
class PhrasingTable:
    """Texts, the (task, objects) each stands for, and their unit-length embeddings."""

    texts: list[str]
    keys: list[Key]
    vectors: np.ndarray  # (P, D) float32, unit length


def chosen_tasks(tasks: Sequence[str] | None) -> list:
    """The registered tasks to match against, in registry order (all when ``tasks`` is None)."""
    registered = task_registry.TASKS  # read now: a task registered after import is matched too
    return list(registered) if tasks is None else [t for t in registered if t.id in set(tasks)]


def phrasings(scene: dict, caption_config: CaptionConfig, chosen: list, extra=None) -> tuple[list[str], list[Key]]:
    """The table's texts and keys: ``SEEDS_PER_SPLIT`` grammar choices per split for every
    (task, objects) of the scene, first occurrence of each text kept; then, when given, the
    texts ``extra(text)`` derives from each (e.g. its politeness frame stripped) under the same
    key, where new (a grammar choice always keeps its own key)."""
    texts, keys, seen = [], [], set()
    for task, args in instances(SceneInfo.from_description(scene), caption_config, chosen):
        for split in grammar.SPLITS:
            for seed in range(SEEDS_PER_SPLIT):
                p = grammar.choose(task.id, args, scene, split, seed)
                if p is not None and p.text not in seen:
                    seen.add(p.text)
                    texts.append(p.text)
                    keys.append((task.id, tuple(args)))
    for text, key in list(zip(texts, keys, strict=True)) if extra else ():
        for derived in extra(text):
            if derived not in seen:
                seen.add(derived)
                texts.append(derived)
                keys.append(key)
    return texts, keys


def table_key(scene: dict, caption_config: CaptionConfig, chosen: list, encoder, recipe: str) -> str:
    """A digest of everything the table depends on: the grammar's version (every registered
    task's templates and words), the scene, the caption thresholds (which objects fit where),
    the tasks, the encoder and how the matcher derives texts (``recipe``)."""
    parts = {
        "format": TABLE_FORMAT,
        "seeds": SEEDS_PER_SPLIT,
        "grammar": grammar.version(),
        "scene": scene,
        "caption": repr(caption_config),
        "tasks": [t.id for t in chosen],
        "encoder": [str(encoder.reference), int(encoder.max_length)],
        "recipe": recipe,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()[:20]


def embed(encoder, texts: list[str], progress: bool = False) -> np.ndarray:
    """Unit-length embeddings (P, D) of ``texts``, encoded in batches of similar length."""
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i]))
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    starts = range(0, len(order), BATCH)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="matcher phrasings", unit="batch", disable=None, file=sys.stderr)
    for start in starts:
        rows = order[start : start + BATCH]
        out[rows] = encoder.encode([texts[i] for i in rows]).pooled.numpy()
    return out


def _read(path: Path) -> PhrasingTable | None:
    try:
        with np.load(path, allow_pickle=False) as saved:
            texts = [str(t) for t in saved["texts"]]
            keys = [
                (str(t), tuple(a.split(",")) if a else ()) for t, a in zip(saved["tasks"], saved["args"], strict=True)
            ]
            vectors = saved["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError):  # unreadable or damaged: built again
        return None
    if len(texts) != len(keys) or vectors.shape[0] != len(texts):
        return None
    return PhrasingTable(texts, keys, vectors)


def _write(path: Path, table: PhrasingTable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        texts=np.array(table.texts),
        tasks=np.array([k[0] for k in table.keys]),
        args=np.array([",".join(k[1]) for k in table.keys]),
        vectors=table.vectors,
    )
    os.replace(tmp, path)


def load_or_build(
    scene: dict, encoder, caption_config: CaptionConfig, chosen: list, cache_dir: str | Path | None,
    extra=None, recipe: str = "",
) -> PhrasingTable:  # fmt: skip
    """The table from ``cache_dir`` when one was written for the same inputs (and its probe
    text still embeds the same), else built, embedded and written there (``cache_dir`` None:
    built every time, nothing written)."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir).expanduser() / f"{table_key(scene, caption_config, chosen, encoder, recipe)}.npz"
        table = _read(path) if path.exists() else None
        if table is not None and (not table.texts or _probe_holds(encoder, table)):
            return table
    texts, keys = phrasings(scene, caption_config, chosen, extra)
    if path is not None:
        print(f"building the instruction matcher's table ({len(texts)} phrasings, once per scene and encoder)",
              file=sys.stderr, flush=True)  # fmt: skip
    table = PhrasingTable(texts, keys, embed(encoder, texts, progress=path is not None))
    if path is not None:
        try:
            _write(path, table)
        except OSError as e:  # a read-only home: matching works, the next ask builds it again
            print(f"note: could not keep the matcher's table in {path.parent}: {e}", file=sys.stderr)
    return table


def _probe_holds(encoder, table: PhrasingTable) -> bool:
    probe = encoder.encode([table.texts[0]]).pooled.numpy()[0]
    return float(probe @ table.vectors[0]) >= PROBE_MIN_COSINE
