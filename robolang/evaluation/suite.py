"""``robolang eval``: every task, split and world, chains of instructions, and one comparison.

For each world (``default`` and the held-out randomized variant), each task of the captioner's
vocabulary and each split with phrasings for it, ``episodes`` seeded episodes; for each world
and chain split, ``chains`` CALVIN-style chains. Every controller (each named policy of
``controllers``, then the scripted expert and the zero action, always) runs the same episodes.
Rollouts run on ``workers`` spawned processes, or as Ray tasks with ``ray_address``.

The output folder is checked before any rollout (writable; an earlier evaluation there is
refused unless ``overwrite=true`` or ``resume=true``). Each finished job is journaled at once
(``outputs.Journal``), so Ctrl-C keeps what finished: partial ``results.json`` and
``report.html``, and ``resume=true`` runs the rest. Results go to ``out/results.json`` and a
self-contained ``out/report.html`` with plots and videos of successes and failures (re-run
deterministically with frames kept).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NoReturn

from omegaconf import DictConfig
from tqdm import tqdm

from robolang.bench.report import provenance
from robolang.errors import RobolangError
from robolang.evaluation import outputs, policies
from robolang.evaluation.report import write_html
from robolang.evaluation.sampler import derive_seed, phrasable, scene_pairs
from robolang.evaluation.settings import EvalConfigError, read_settings
from robolang.evaluation.stats import comparison_rows, format_table, grounding_rows, reference_rows, summarize
from robolang.evaluation.videos import record_videos
from robolang.evaluation.worker import evaluate_jobs
from robolang.parallel import run_jobs


class EvalInterrupted(KeyboardInterrupt):
    """Ctrl-C during the rollouts, after what finished was written; the message says where."""


def load_worlds(names) -> dict:
    from robolang.config import config_dir, world_config

    worlds = {}
    for name in names:
        path = config_dir() / "world" / f"{name}.yaml"
        if not path.exists():
            raise EvalConfigError(f"worlds: no world config {path}; worlds are configs/world/*.yaml")
        worlds[name] = world_config(path)
    return worlds


def prepare_controllers(plain: dict) -> None:
    """Load every named policy once here, so a bad folder fails before any worker starts; size the
    simulated cameras to what the policies were trained on (``match_cameras``); check each fits."""
    from hydra.utils import instantiate

    loaded = {}
    for spec in plain["controllers"]:
        if spec["kind"] == "checkpoint":
            loaded[spec["name"]] = policy = policies.load_policy(
                spec["path"], execution=plain["execution"], actions_per_chunk=plain["actions_per_chunk"]
            )
            spec["about"] = policies.describe(policy, spec["path"])
        elif spec["kind"] == "target":
            policies.build_target(spec["target"])  # a bad _target_ fails here, not in a worker
    if plain["match_cameras"]:
        size_cameras(plain["robot"]["config"], {name: p.image_shapes for name, p in loaded.items()})
    features = instantiate(plain["robot"], _convert_="all").observation_features
    for name, policy in loaded.items():
        try:
            policy.check_robot(features)
        except (RobolangError, ValueError) as e:  # the policy package's CheckpointError
            raise policies.ControllerError(f"controllers.{name}: {e}; {_camera_hint(policy)}") from e


def size_cameras(robot_config: dict, wanted: dict[str, dict]) -> None:
    """Render each simulated camera at the (height, width) the policies were trained on, as
    ``robolang ask`` does; policies that disagree cannot share one rendering."""
    for camera in sorted({c for shapes in wanted.values() for c in shapes}):
        sizes = {name: tuple(shapes[camera][:2]) for name, shapes in wanted.items() if camera in shapes}
        if len(set(sizes.values())) > 1:
            said = ", ".join(f"{name} {h}x{w}" for name, (h, w) in sizes.items())
            raise policies.ControllerError(
                f"the policies were trained on different {camera} camera sizes ({said}); one evaluation renders "
                "one size: evaluate them in separate runs"
            )
        if f"{camera}_width" in robot_config:
            (height, width), *_ = sizes.values()
            robot_config[f"{camera}_height"], robot_config[f"{camera}_width"] = height, width


def _camera_hint(policy) -> str:
    sizes = " ".join(
        f"robot.config.{camera}_height={h} robot.config.{camera}_width={w}"
        for camera, (h, w, *_) in policy.image_shapes.items()
    )
    return f"match_cameras=true sizes the simulated cameras to the policy, or give {sizes}"


def plan(plain: dict, scene: dict) -> list[dict]:
    """Every job: (world, task, split, index) singles where the split has phrasings, then chains."""
    from robolang.captioning.tasks import TASK_IDS

    tasks = list(plain["tasks"] or TASK_IDS)
    pairs = scene_pairs(scene)
    valid = [
        (t, s)
        for t in tasks
        for s in plain["splits"]
        if phrasable(t, s, scene, pairs, sets=plain.get("instruction_sets"))
    ]
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


def execute(plain: dict, jobs: list[dict], on_job) -> list[dict]:
    """Run the jobs in-process (one worker) or spread round-robin over workers / Ray tasks;
    ``on_job(records)`` hears of each job as it ends."""
    workers = min(plain["workers"], len(jobs))
    if not jobs:
        return []
    if workers == 1 and not plain["ray_address"]:
        return evaluate_jobs(plain, jobs, on_job)
    chunks = [(dict(plain, torch_threads=1), jobs[i::workers]) for i in range(workers)]
    return [r for part in run_jobs(evaluate_jobs, chunks, on_job, plain["ray_address"]) for r in part]


def _order(record: dict) -> tuple:
    keys = ("kind", "world", "split", "task", "index")
    return tuple(str(record.get(k)) for k in keys)


def rollouts(plain: dict, jobs: list[dict], journal: outputs.Journal) -> list[dict]:
    """The records of every job: those journaled by an interrupted run, then the rest, run now."""
    todo = [j for j in jobs if outputs.job_key(j) not in journal.done]
    per_job = len(plain["controllers"])
    with tqdm(total=len(jobs) * per_job, initial=(len(jobs) - len(todo)) * per_job, desc="eval", unit="rollout") as bar:

        def on_job(records: list[dict]) -> None:
            journal.add(records)
            bar.update(per_job)

        ran: dict[tuple, list[dict]] = {}
        for record in execute(plain, todo, on_job):
            ran.setdefault(outputs.job_key(record), []).append(record)
    for key, records in ran.items():  # Ray's progress queue may drop the last few before it stops
        if key not in journal.done:
            journal.add(records)
    return journaled(journal, jobs)


def journaled(journal: outputs.Journal, jobs: list[dict]) -> list[dict]:
    """The journal's records of these jobs, in report order."""
    wanted = {outputs.job_key(j) for j in jobs}
    return sorted((r for key, rs in journal.done.items() if key in wanted for r in rs), key=_order)


def assemble(plain: dict, records: list[dict], seconds: float, planned: int) -> dict:
    """results.json's content: the settings, provenance, summary and every record."""
    names = [c["name"] for c in plain["controllers"]]
    config = {k: v for k, v in plain.items() if k != "controllers"}
    config["controller_specs"] = plain["controllers"]
    finished = len({outputs.job_key(r) for r in records})
    results = {"config": config, "provenance": provenance(), "seconds": seconds, "complete": finished == planned,
               "jobs": {"planned": planned, "finished": finished}}  # fmt: skip
    results["summary"] = summarize(records, names, plain["chain_length"])
    results["episodes"] = records
    return results


def run(cfg: DictConfig) -> dict:
    """Evaluate as configured (``configs/eval.yaml``); print the comparison; write JSON and HTML."""
    from hydra.utils import instantiate

    plain = read_settings(cfg)
    out = Path(plain["out"])
    outputs.check_out(out, plain["overwrite"], plain["resume"])
    plain["world_configs"] = load_worlds(plain["worlds"])
    prepare_controllers(plain)
    jobs = plan(plain, instantiate(plain["robot"], _convert_="all").scene_description())
    if plain["overwrite"]:
        outputs.clear(out)
    journal = outputs.Journal(out, outputs.fingerprint(plain))
    started = time.perf_counter()
    try:
        records = rollouts(plain, jobs, journal)
    except KeyboardInterrupt:
        interrupted(plain, jobs, journal, out, time.perf_counter() - started)
    finally:
        journal.close()
    results = assemble(plain, records, time.perf_counter() - started, len(jobs))
    outputs.write_atomic(out / outputs.RESULTS, json.dumps(results, indent=1))
    videos = record_videos(plain, records, out, plain["videos"])
    report = write_html(out, results, videos)
    header, rows = comparison_rows(results["summary"], plain["splits"], plain["chain_splits"])
    print(format_table(header, rows))
    for table in (reference_rows, grounding_rows):
        header, rows = table(results["summary"])
        if rows:
            print(format_table(header, rows))
    print(f"{len(records)} rollouts in {results['seconds']:.0f} s; report: {report}")
    return results


def interrupted(plain: dict, jobs: list[dict], journal: outputs.Journal, out: Path, seconds: float) -> NoReturn:
    """Write what finished (results.json and a report without videos), then stop with a message."""
    results = assemble(plain, journaled(journal, jobs), seconds, len(jobs))
    outputs.write_atomic(out / outputs.RESULTS, json.dumps(results, indent=1))
    write_html(out, results, [])
    done = results["jobs"]["finished"]
    raise EvalInterrupted(
        f"stopped after {done} of {len(jobs)} jobs; what finished is in {out / outputs.RESULTS} and "
        f"{out / outputs.REPORT}; the same command with resume=true runs the rest"
    ) from None
