"""Offline fit of privileged state policies: how well each action dimension is predicted on held-out windows.

For every named checkpoint, the first action of the predicted chunk against the recorded one on
``samples`` windows of the dataset's validation episodes: R^2 per action dimension (x, y, z, yaw,
gripper), the sign agreement where the recorded command moves (|a| > 0.05), how often it moves,
and, where the policy has them, the task head's and the pointer's accuracy. The task head is
also asked, for every (task, objects) the dataset labels, up to ``phrasings`` instructions the
grammar makes in each split: its accuracy on ``heldout_phrasing`` (verbs and nouns training never
saw) against ``train`` is the language half of a policy's held-out gap. This is the
diagnosis behind the privileged rung's changes (a dimension near R^2 0 is not learnt: the yaw of
the first task-head policy), reproducible by one command. No simulation; seconds per policy.
"""

from __future__ import annotations

from omegaconf import DictConfig

from robolang.bench.report import Load, heading, table
from robolang.config import checked
from robolang.errors import RobolangError

DIMENSIONS = ("x", "y", "z", "yaw", "gripper")
MOVING = 0.05  # |recorded command| above which a dimension counts as moving
PHRASING_SPLITS = ("train", "heldout_phrasing")


class FitConfigError(RobolangError, ValueError):
    """What ``robolang bench fit`` needs and was not given."""


def check(cfg: DictConfig) -> None:
    from pathlib import Path

    controllers = cfg.get("controllers")
    if not controllers or not hasattr(controllers, "items"):
        raise FitConfigError("controllers: give the policies to fit by name, e.g. controllers={task:runs/priv_task}")
    dataset = checked(cfg, "dataset", str)
    if not (Path(dataset) / "meta" / "info.json").is_file():
        raise FitConfigError(f"dataset={dataset}: no dataset there (no meta/info.json)")
    checked(cfg, "samples", int, low=1)
    checked(cfg, "seed", int, low=0)
    checked(cfg, "subset", str, choices=("val", "train"))
    checked(cfg, "phrasings", int, low=0)
    tasks = cfg.get("tasks")
    if tasks is not None and (isinstance(tasks, str) or not all(isinstance(t, str) for t in tasks)):
        raise FitConfigError(f"tasks={tasks}: give a list of task ids, e.g. tasks=[lift,push_left], or null for all")


def fit(policy, dataset: str, samples: int, seed: int, subset: str = "val") -> dict:
    """The figures of one loaded privileged policy (``load_policy``) on ``dataset``."""
    import numpy as np
    import torch

    from robolang.policy import batch as B
    from robolang.policy.state_data import SceneStateDataset

    if not policy.privileged:
        raise FitConfigError(f"{policy.name}: bench fit reads privileged state policies only (scene-state windows)")
    model, c = policy.bundle.policy.eval(), policy.config
    data = SceneStateDataset(dataset, policy.instructions, n_obs_steps=c.n_obs_steps, chunk_size=c.chunk_size,
                             subset=subset, max_lang_tokens=c.max_lang_tokens)  # fmt: skip
    batch = data.collate(data.draw(samples, np.random.default_rng(seed)))
    with torch.inference_mode():
        normalized = model.normalize(batch)
        predicted = model(normalized)[:, 0].numpy()
        task = model.task_logits(normalized).argmax(-1) if getattr(model, "task_classifier", None) else None
        pointer = model.pointer_logits(normalized).argmax(-1) if getattr(model, "pointer_head", None) else None
    recorded = batch[B.ACTION][:, 0].numpy()
    out = {"samples": len(recorded), "dimensions": {}}
    for k, name in enumerate(DIMENSIONS):
        p, r = predicted[:, k], recorded[:, k]
        spread = float(((r - r.mean()) ** 2).sum())
        moving = np.abs(r) > MOVING
        out["dimensions"][name] = {
            "r2": 1 - float(((p - r) ** 2).sum()) / spread if spread > 0 else float("nan"),
            "moving": float(moving.mean()),
            "sign": float((np.sign(p[moving]) == np.sign(r[moving])).mean()) if moving.any() else float("nan"),
        }
    if task is not None:
        labels = batch[B.TASK]
        known = labels >= 0
        out["task_accuracy"] = float((task[known] == labels[known]).float().mean()) if known.any() else float("nan")
    if pointer is not None:
        out["pointer_accuracy"] = float((pointer == batch[B.POINTER]).all(-1).float().mean())
    return out


def task_by_split(policy, dataset: str, phrasings: int, tasks=None) -> dict[str, float]:
    """The task head's accuracy per grammar split (``train``, ``heldout_phrasing``) on up to
    ``phrasings`` instructions per split for each (task, objects) that ``dataset`` labels (of
    ``tasks``, None: every task the head knows), drawn with fixed seeds; {} without a task head
    or a scene file."""
    import json
    from pathlib import Path

    import torch

    from robolang.captioning import annotations, grammar
    from robolang.captioning.states import SCENE_FILE
    from robolang.policy import batch as B

    model = policy.bundle.policy.eval()
    scene_path = Path(dataset) / "meta" / SCENE_FILE
    if getattr(model, "task_classifier", None) is None or not scene_path.is_file() or phrasings == 0:
        return {}
    scene = json.loads(scene_path.read_text())
    task_ids = list(model.config.task_ids)
    labels = annotations.load(dataset)
    keys = sorted(set(zip(labels["task_id"], labels["args"], strict=True)) - {("", "")})
    out = {}
    for split in PHRASING_SPLITS:
        texts, truth = [], []
        for task, args in keys:
            if task not in task_ids or (tasks is not None and task not in tasks):
                continue
            objects = tuple(args.split(",")) if args else ()
            drawn: dict[str, None] = {}
            for k in range(3 * phrasings):
                try:
                    p = grammar.choose(task, objects, scene, split, f"fit-{k}", pairs=())
                except ValueError:  # the scene lacks the objects: not the grammar's
                    break
                if p is not None:
                    drawn[p.text] = None
                if len(drawn) == phrasings:
                    break
            texts += list(drawn)
            truth += [task_ids.index(task)] * len(drawn)
        if not texts:
            continue
        encoded = policy.instructions.encode(texts, length=model.config.max_lang_tokens)
        batch = {B.LANG_TOKENS: encoded.tokens, B.LANG_PAD: encoded.is_pad, B.LANG_POOLED: encoded.pooled}
        with torch.inference_mode():
            predicted = model.task_logits(batch).argmax(-1)
        out[split] = float((predicted == torch.tensor(truth)).float().mean())
    return out


def run(cfg: DictConfig) -> dict:
    from robolang.policy import load_policy

    figures = {}
    tasks = None if cfg.get("tasks") is None else list(cfg.tasks)
    for name, path in cfg.controllers.items():
        policy = load_policy(path)
        figures[name] = fit(policy, cfg.dataset, cfg.samples, cfg.seed, cfg.subset)
        figures[name]["task_by_split"] = task_by_split(policy, cfg.dataset, cfg.phrasings, tasks)
    return {"policies": figures, "dataset": cfg.dataset, "subset": cfg.subset, "paths": dict(cfg.controllers)}


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    rows = []
    for name, f in figures["policies"].items():
        dims = f["dimensions"]
        rows.append([f"`{name}` ({figures['paths'][name]})", *(_cell(dims[d]["r2"]) for d in DIMENSIONS),
                     *(_cell(dims[d]["sign"]) for d in DIMENSIONS),
                     _cell(f.get("task_accuracy"), 3), _cell(f.get("pointer_accuracy"), 3),
                     *(_cell(f.get("task_by_split", {}).get(s), 3) for s in PHRASING_SPLITS)])  # fmt: skip
    first = next(iter(figures["policies"].values()))
    moving = ", ".join(f"{d} {100 * first['dimensions'][d]['moving']:.0f}%" for d in DIMENSIONS)
    return "\n".join(
        [
            *heading("Offline fit of privileged policies (`robolang bench fit`)", load),
            f"First action of the chunk against the recorded one on {first['samples']} windows of the "
            f"`{figures['subset']}` episodes of `{figures['dataset']}`. R^2 per dimension (0: no better than "
            f"the mean), then the sign agreement where the recorded command moves (|a| > {MOVING}: {moving} "
            "of windows), the task head's and the pointer's accuracy ('-': the policy has none), and the task "
            f"head's accuracy on up to {cfg.phrasings} instructions per split the grammar phrases for each (task, objects) "
            f"the dataset labels ({'tasks ' + ', '.join(cfg.tasks) if cfg.get('tasks') else 'every task'}): train "
            "phrasings, and held-out ones (verbs and nouns training never saw).",
            "",
            *table(
                [
                    "policy",
                    *(f"R^2 {d}" for d in DIMENSIONS),
                    *(f"sign {d}" for d in DIMENSIONS),
                    "task",
                    "pointer",
                    "task (train phrasings)",
                    "task (held-out phrasings)",
                ],
                rows,
                align="l" + "r" * (2 * len(DIMENSIONS) + 4),
            ),
        ]
    )


def summary(figures: dict) -> list[str]:
    return [
        f"{name}: R^2 " + ", ".join(f"{d} {_cell(f['dimensions'][d]['r2'])}" for d in DIMENSIONS)
        for name, f in figures["policies"].items()
    ]
