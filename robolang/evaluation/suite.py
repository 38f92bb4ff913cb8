"""``robolang eval``: every task, split and world, chains of instructions, and one comparison.

For each world (``default`` and the held-out randomized variant), each task of the captioner's
vocabulary and each split with phrasings for it, ``episodes`` seeded episodes; for each world
and chain split, ``chains`` CALVIN-style chains. Every controller (our checkpoint, the MCIL and
ACT baselines when given, the scripted expert and the zero action always) runs the same
episodes. Rollouts run on ``workers`` spawned processes, or as Ray tasks with ``ray_address``.
Results go to ``out/results.json`` and a self-contained ``out/report.html`` with plots and
videos of successes and failures (re-run deterministically with frames kept).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from robolang.bench.report import provenance
from robolang.evaluation.report import write_html
from robolang.evaluation.sampler import derive_seed, phrasable, scene_pairs
from robolang.evaluation.stats import comparison_rows, format_table, summarize
from robolang.evaluation.worker import Workbench, evaluate_jobs
from robolang.parallel import run_jobs

ABOUT = {
    "policy": "our policy checkpoint",
    "mcil": "MCIL baseline checkpoint",
    "act": "LeRobot ACT (language-blind)",
    "scripted": "scripted expert with privileged state (upper bound)",
    "zero": "zero action every step (lower bound)",
}


def controller_specs(cfg) -> list[dict]:
    """The controllers compared: given checkpoints first, then the two bounds (always)."""
    specs = []
    for name, kind in (("ours", "policy"), ("mcil", "policy"), ("act", "act")):
        path = cfg.checkpoint if name == "ours" else cfg[name]
        if path:
            about = f"{ABOUT['mcil' if name == 'mcil' else kind]}: {path}"
            specs.append({"name": name, "kind": kind, "path": str(Path(path).expanduser()), "about": about})
    specs += [{"name": k, "kind": k, "path": None, "about": ABOUT[k]} for k in ("scripted", "zero")]
    return specs


def check_controllers(plain: dict) -> None:
    """Load every checkpoint once here, so a bad path or a policy that does not fit the robot
    fails with a clear message before any worker starts."""
    from hydra.utils import instantiate

    robot = instantiate(plain["robot"], _convert_="all")
    for spec in plain["controllers"]:
        if spec["kind"] == "policy":
            from robolang.policy.inference import load_policy

            load_policy(spec["path"]).check_robot(robot.observation_features)
        elif spec["kind"] == "act":
            from robolang.policy.act_baseline import ActRunner

            ActRunner.load(spec["path"])


def load_worlds(names) -> dict:
    from robolang.config import config_dir

    worlds = {}
    for name in names:
        path = config_dir() / "world" / f"{name}.yaml"
        if not path.exists():
            raise FileNotFoundError(f"no world config {path}; worlds are configs/world/*.yaml")
        worlds[name] = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    return worlds


def plan(plain: dict, scene: dict) -> list[dict]:
    """Every job: (world, task, split, index) singles where the split has phrasings, then chains."""
    from robolang.captioning.grammar import SPLITS
    from robolang.captioning.tasks import TASK_IDS

    tasks = list(plain["tasks"] or TASK_IDS)
    for t in tasks:
        if t not in TASK_IDS:
            raise ValueError(f"unknown task {t!r}; tasks: {', '.join(TASK_IDS)}")
    for s in [*plain["splits"], *plain["chain_splits"]]:
        if s not in SPLITS:
            raise ValueError(f"unknown split {s!r}; splits: {', '.join(SPLITS)}")
    pairs = scene_pairs(scene)
    valid = [(t, s) for t in tasks for s in plain["splits"] if phrasable(t, s, scene, pairs)]
    jobs = []
    for w in plain["worlds"]:
        for t, s in valid:
            for i in range(plain["episodes"]):
                seed = derive_seed(plain["seed"], w, t, s, i)
                jobs.append({"kind": "single", "world": w, "task": t, "split": s, "index": i, "seed": seed})
        for s in plain["chain_splits"]:
            for i in range(plain["chains"]):
                seed = derive_seed(plain["seed"], w, "chain", s, i)
                jobs.append({"kind": "chain", "world": w, "task": None, "split": s, "index": i, "seed": seed})
    return jobs


def execute(plain: dict, jobs: list[dict], bar: tqdm) -> list[dict]:
    """Run the jobs in-process (one worker) or spread round-robin over workers / Ray tasks."""
    workers = max(1, min(int(plain["workers"]), len(jobs)))
    report = bar.update
    if workers == 1 and not plain["ray_address"]:
        return evaluate_jobs(plain, jobs, report)
    chunks = [(dict(plain, torch_threads=1), jobs[i::workers]) for i in range(workers)]
    return [r for part in run_jobs(evaluate_jobs, chunks, report, plain["ray_address"]) for r in part]


def _order(record: dict) -> tuple:
    keys = ("kind", "world", "split", "task", "index")
    return tuple(str(record.get(k)) for k in keys)


def run(cfg: DictConfig) -> dict:
    """Evaluate as configured (``configs/eval.yaml``); print the comparison; write JSON and HTML."""
    if cfg.episodes < 0 or cfg.chains < 0 or cfg.chain_length < 1 or cfg.max_steps < 1:
        raise ValueError("episodes and chains must be >= 0, chain_length and max_steps >= 1")
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain["controllers"] = controller_specs(cfg)
    plain["world_configs"] = load_worlds(plain["worlds"])
    check_controllers(plain)
    from hydra.utils import instantiate

    jobs = plan(plain, instantiate(plain["robot"], _convert_="all").scene_description())
    started = time.perf_counter()
    with tqdm(total=len(jobs) * len(plain["controllers"]), desc="eval", unit="rollout") as bar:
        records = sorted(execute(plain, jobs, bar), key=_order)
    seconds = time.perf_counter() - started
    names = [c["name"] for c in plain["controllers"]]
    summary = summarize(records, names, plain["chain_length"])
    config = {k: v for k, v in plain.items() if k not in ("controllers",)}
    config["controller_specs"] = plain["controllers"]
    results = {"config": config, "provenance": provenance(), "seconds": seconds, "summary": summary}
    results["episodes"] = records
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    videos = record_videos(plain, records, out, int(cfg.videos))
    report = write_html(out, results, videos)
    header, rows = comparison_rows(summary, plain["splits"], plain["chain_splits"])
    print(format_table(header, rows))
    print(f"{len(records)} rollouts in {seconds:.0f} s; report: {report}")
    return results


def pick_videos(records: list[dict], per_outcome: int) -> list[dict]:
    """Per controller, up to ``per_outcome`` successes and as many failures, on different tasks."""
    chosen = []
    singles = [r for r in records if r["kind"] == "single" and not r.get("unavailable")]
    for controller in dict.fromkeys(r["controller"] for r in singles):
        for outcome in (True, False):
            tasks = set()
            for r in singles:
                if r["controller"] == controller and r["success"] == outcome and r["task"] not in tasks:
                    if len(tasks) == per_outcome:
                        break
                    tasks.add(r["task"])
                    chosen.append(r)
    return chosen


def record_videos(plain: dict, records: list[dict], out: Path, per_outcome: int) -> list[dict]:
    """Re-run the chosen episodes with frames kept (the same seed gives the same episode) and
    write them to ``out/videos``; returns what the report shows."""
    from robolang.features import CONTROL_FPS
    from robolang.video import VideoWriter

    chosen = pick_videos(records, per_outcome)
    if not chosen:
        return []
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(int(plain.get("torch_threads") or 1))  # as the scored rollouts ran
    bench, shown = Workbench(OmegaConf.create(plain)), []
    try:
        for r in tqdm(chosen, desc="videos", unit="episode"):
            (again,) = bench.single(r, frames_for=r["controller"])
            if again["success"] != r["success"]:
                tqdm.write(f"note: the re-run of {r['controller']} {r['task']} #{r['index']} came out differently")
            name = f"videos/{r['controller']}_{r['world']}_{r['task']}_{r['split']}_{r['index']}.mp4"
            with VideoWriter(out / name, fps=CONTROL_FPS) as writer:
                for frame in again.pop("frames"):
                    writer.write(frame)
            shown.append({**again, "path": name})
    finally:
        bench.close()
        torch.set_num_threads(threads)
    return shown
