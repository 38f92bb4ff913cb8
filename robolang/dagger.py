"""``robolang dagger``: label a policy's own states with the scripted expert's actions (DAgger).

The recording is ``robolang collect``'s (crash-safe, parallel, resumable, Ctrl-C saves) with
``sim.play.dagger.DaggerAgent`` as the agent (configs/dagger.yaml): the policy acts, the expert's
action is recorded. Afterwards every attempt of the agent's log (the behaviour sidecar) becomes
an annotation row with ``source=expert``: frames [start, end) of its episode, the task, its
objects and the instruction the policy was given. Those rows are the dataset's labels;
``robolang train extra_datasets=[...]`` trains on them beside play.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from omegaconf import DictConfig

from robolang.config import ConfigError, checked
from robolang.recording.features import BEHAVIOURS_FILE

SOURCE = "expert"  # annotations.SOURCES: labels the scripted expert gave the policy's own states
VERSION = "dagger-1"
SPOTS = ("random", "preferred")  # where the expert puts objects down: sim.play.world.spot_candidates
LABELS = ("all", "successful")  # which attempts become labels: every one, or those the task's judge passed
START_POSES = ("here", "random")  # an attempt starts where the last left the arm, or at a random pose (as eval's)
NO_POLICY_NEEDS_BETA_ONE = (
    "checkpoint=null records the scripted expert's own demonstrations: set beta=1 (the expert always acts); "
    "with a policy, give checkpoint=RUN"
)

LABELS_SUCCESSFUL_NEEDS = (
    "labels=successful needs beta=1 (the expert acts throughout): where the policy acts, an attempt's success is"
    " the policy's, and leaving its failures unlabelled drops the very states DAgger labels (takeover=N already"
    " labels only the expert's successful finishes)"
)
TAKEOVER_NEEDS = (
    "takeover=N (the expert takes over after up to N of the policy's steps) needs a policy (checkpoint=RUN),"
    " beta=0 and N >= 0"
)


def check_config(cfg: DictConfig) -> None:
    """The DAgger settings (the recording's are ``collect.check_config``'s), checked before any work."""
    from robolang import collect

    if checked(cfg, "relabel", bool):  # nothing is recorded: the recording's own log says who acted
        checked(cfg, "labels", str, choices=LABELS)
        if not (Path(checked(cfg, "out", str)) / "meta" / BEHAVIOURS_FILE).is_file():
            raise ConfigError(
                f"relabel=true rebuilds the labels of a dataset `robolang dagger` recorded, and out={cfg.out} holds"
                f" no agent log (meta/{BEHAVIOURS_FILE}); give the recording's folder as out="
            )
        return
    if not 0 <= checked(cfg, "beta", float) <= 1:
        raise ConfigError(f"beta={cfg.beta!r} is not allowed: the chance that the expert acts must be in [0, 1]")
    if cfg.checkpoint is None:  # the expert's own demonstrations
        if float(cfg.beta) != 1.0:
            raise ConfigError(NO_POLICY_NEEDS_BETA_ONE)
    elif not Path(checked(cfg, "checkpoint", str)).exists():
        raise ConfigError(
            f"checkpoint={cfg.checkpoint} does not exist; give the checkpoint or training run whose states to label"
            " (or checkpoint=null beta=1 for the expert's own demonstrations)"
        )
    checked(cfg, "max_steps", int, low=1)
    checked(cfg, "chunk_steps", int, low=1)
    from robolang.captioning.grammar_splits import SPLITS

    checked(cfg, "split", str, choices=SPLITS)
    checked(cfg, "start_pose", str, choices=START_POSES)
    checked(cfg, "setup", bool)
    checked(cfg, "balance", bool)
    checked(cfg, "spots", str, choices=SPOTS)
    if checked(cfg, "labels", str, choices=LABELS) == "successful" and float(cfg.beta) != 1.0:
        raise ConfigError(LABELS_SUCCESSFUL_NEEDS)
    if checked(cfg, "takeover", int, low=0) and (cfg.checkpoint is None or float(cfg.beta) != 0.0):
        raise ConfigError(f"takeover={cfg.takeover} is not allowed: {TAKEOVER_NEEDS}")
    chosen_tasks(cfg.get("tasks"))
    if not 0 <= checked(cfg, "noise", float) <= 1:
        raise ConfigError(f"noise={cfg.noise!r} is not allowed: the executed actions' noise std must be in [0, 1]")
    collect.check_config(cfg)


def chosen_tasks(tasks) -> tuple[str, ...] | None:
    """The task ids demonstrations are drawn from (None: every task); unknown ids or none refused."""
    if tasks is None:
        return None
    from robolang.captioning.tasks import TASK_IDS

    tasks = [tasks] if isinstance(tasks, str) else list(tasks)
    unknown = [t for t in tasks if t not in TASK_IDS]
    if not tasks or unknown:
        raise ConfigError(
            f"tasks={tasks} is not allowed: {'unknown ' + ', '.join(unknown) if unknown else 'empty'};"
            f" give task ids of the captioner ({', '.join(TASK_IDS)}) or tasks=null for all"
        )
    return tuple(tasks)


def run(cfg: DictConfig) -> int:
    """Record DAgger episodes into ``cfg.out``, then store their labels; the number of labels."""
    from robolang import collect
    from robolang.evaluation.policies import is_privileged, load_policy

    check_config(cfg)
    if cfg.relabel:  # nothing recorded: the labels of the dataset at out rebuilt from its agent log
        return store_labels(Path(cfg.out), successful_only=cfg.labels == "successful")
    if cfg.checkpoint is not None:
        cfg.checkpoint = cfg.agent.policy = str(Path(cfg.checkpoint).absolute())
        policy = load_policy(cfg.checkpoint)  # a folder that holds no policy fails here, naming it, before recording
        if not is_privileged(policy):  # its cameras must be the robot's (camera shapes are known before connecting)
            from hydra.utils import instantiate

            policy.check_robot(instantiate(cfg.robot, _convert_="all").observation_features)
    collect.run(cfg)
    return store_labels(Path(cfg.out), successful_only=cfg.labels == "successful")


def store_labels(root: Path, successful_only: bool = False) -> int:
    """Annotation rows (``source=expert``) from the DAgger agent's log beside the dataset, replacing
    earlier ones (a resumed run's labels cover all of it); prints the policy's success per task.
    ``successful_only``: only attempts the task's judge passed are labelled (an attempt that failed, or
    that the episode's end cut, teaches what its instruction did not ask for); their frames stay unlabelled."""
    from robolang.captioning import annotations
    from robolang.dataset_tools import load_episodes
    from robolang.recording.store import read_records

    records = read_records(root / "meta" / BEHAVIOURS_FILE)
    if successful_only and any(r["expert_steps"] < r["end"] - r["start"] for r in records):
        raise ConfigError(f"{root} was recorded with a policy acting: {LABELS_SUCCESSFUL_NEEDS}")
    for r in records:  # takeover: only the expert's part is labelled (logs before it: from the start)
        r["start"] = max(r["start"], r.get("labelled_from", -1))
    rows = [
        {
            "episode_index": r["episode_index"],
            "start_frame": r["start"],
            "end_frame": r["end"],
            "task_id": r["behaviour"],
            "args": r["target"],
            "instruction": r["instruction"],
            "source": SOURCE,
            "split": "train",
            "captioner_version": VERSION,
        }
        for r in records
        if r["end"] > r["start"] and (r["success"] or not successful_only)
    ]
    lengths = {int(e.episode_index): int(e.length) for e in load_episodes(root).itertuples()}
    annotations.replace_source(root, annotations.rows_from(rows), SOURCE, lengths)
    if table := summary(records):
        print(table)
    if successful_only:
        print(
            f"{sum(r['end'] > r['start'] and not r['success'] for r in records)} unsuccessful attempts left unlabelled"
        )
    print(
        f"stored {len(rows)} expert labels ({sum(r['end_frame'] - r['start_frame'] for r in rows)} frames) in {root}/meta/"
    )
    return len(rows)


def summary(records: list[dict]) -> str:
    """The policy's own success per task during the rollouts (attempts where the expert never acted);
    empty for the expert's own demonstrations (the recorder's table gives its success per task).
    With takeover, no success rate of the policy's: an attempt it had not finished by its takeover
    moment is cut short, so the attempts it finished alone are a selection; what each part did is given."""
    if any(r.get("labelled_from", -1) >= 0 for r in records):
        return takeover_summary(records)
    tried, done = Counter(), Counter()
    for r in records:
        if r["expert_steps"] == 0 and r["stop"] != "episode_end":
            tried[r["behaviour"]] += 1
            done[r["behaviour"]] += int(r["success"])
    if not tried:
        return ""
    lines = [f"{'task':<20} {'policy alone':>12}"]
    lines += [f"{t:<20} {done[t]:>5}/{tried[t]:<6}" for t in sorted(tried)]
    total = sum(tried.values())
    lines.append(f"{'all':<20} {sum(done.values()):>5}/{total:<6} ({sum(done.values()) / max(total, 1):.0%})")
    return "\n".join(lines)


def takeover_summary(records: list[dict]) -> str:
    """Per task: attempts, finished by the policy before its takeover moment, taken over, and the
    expert's successful finishes among those (the labels)."""
    rows: dict[str, Counter] = {}
    for r in records:
        if r["stop"] == "episode_end":
            continue
        c = rows.setdefault(r["behaviour"], Counter())
        c["attempts"] += 1
        c["alone"] += int(r["expert_steps"] == 0 and r["success"])
        c["taken"] += int(r["expert_steps"] > 0)
        c["finished"] += int(r["expert_steps"] > 0 and r["success"])
    if not rows:
        return ""
    total = sum(rows.values(), Counter())
    lines = [
        f"{'task':<20} {'attempts':>8} {'policy finished before takeover':>31} {'taken over':>10} {'expert finished':>15}"
    ]
    for task, c in [*sorted(rows.items()), ("all", total)]:
        lines.append(f"{task:<20} {c['attempts']:>8} {c['alone']:>31} {c['taken']:>10} {c['finished']:>15}")
    return "\n".join(lines)
