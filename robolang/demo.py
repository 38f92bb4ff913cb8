"""``robolang demo``: a whole pipeline at a small embedded default, end to end.

``pipeline: play``: collect scripted play -> hindsight-caption it -> train the transformer policy ->
evaluate it beside the scripted agent (upper bound) and the zero action (lower bound) -> an HTML report.
``pipeline: ladder`` (``robolang.ladder``): the policy ladder (demonstrations, state policy, estimator,
deployable policy). Every stage is one of the ordinary commands with overrides (nothing here is
special-cased). ``configs/demo.yaml`` holds the small default, the ladder on 12 tasks (sized for ~30 min
on 2 CPU cores); ``configs/experiment/demo_play.yaml`` the play pipeline's; ``ladder_cpu``, ``full``,
``all_tasks_cpu`` and ``full_play`` the larger runs.

One run per ``out`` folder: a new folder starts a run; a folder holding a demo run with the
same settings is continued (each stage reuses the work already done there, so an interrupted
demo carries on where it stopped); a folder with other settings, or that is not a demo run, is
refused unless ``overwrite=true`` (which deletes the earlier demo run first).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.bench import checks
from robolang.config import checked, load_config
from robolang.errors import RobolangError

SAVED_CONFIG, TIMING = "demo.yaml", "timing.json"
PIPELINES = ("play", "ladder")  # play: collect -> caption -> train -> evaluate; ladder: robolang/ladder.py
NOT_COMPARED = ("bench_out", "overwrite")  # may differ when a run is continued: they change no stage's work


class DemoOutError(RobolangError):
    """A demo ``out`` folder that would be replaced, mixed with other settings, or cannot be written."""


def camera_overrides(size: int) -> list[str]:
    """Both cameras at ``size`` x ``size`` px, as robot overrides."""
    keys = ("static_width", "static_height", "wrist_width", "wrist_height")
    return [f"robot.config.{k}={size}" for k in keys]


def _side(cfg: DictConfig) -> list[str]:
    return camera_overrides(cfg.image_size)


def _list(values) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def overrides_of(section) -> list[str]:
    """A nested config section as hydra overrides: {"train": {"steps": 5}} -> ["train.steps=5"]."""
    plain = OmegaConf.to_container(section, resolve=True) if not isinstance(section, dict) else section
    out = []
    for key, value in plain.items():
        if isinstance(value, dict):
            out += [f"{key}.{o}" for o in overrides_of(value)]
        elif isinstance(value, list):
            out.append(f"{key}={_list(value)}")
        else:
            out.append(f"{key}={'null' if value is None else value}")
    return out


def check(cfg: DictConfig) -> None:
    """The demo's own keys (each stage checks the overrides it is given); ``tasks: null`` becomes every task."""
    for key in ("out", "name"):
        checked(cfg, key, str)
    checked(cfg, "overwrite", bool)
    checked(cfg, "seed", int, low=0)
    checked(cfg, "workers", int, low=1)
    checked(cfg, "image_size", int, low=8)
    from robolang.captioning.tasks import TASK_IDS

    if cfg.tasks is None:  # every caption task, those registered later included
        cfg.tasks = list(TASK_IDS)
    checks.listed(cfg, "tasks", allowed=TASK_IDS)
    checked(cfg, "pipeline", str, choices=PIPELINES)
    if cfg.pipeline == "ladder":
        from robolang import ladder

        ladder.check(cfg)
    else:
        checked(cfg, "collect.hours", float, low=0.001)
        checked(cfg, "collect.episode_seconds", float, low=1)
    checked(cfg, "budget_minutes", float, low=1, optional=True)
    checked(cfg, "bench_out", str, optional=True)


def _differences(saved: dict, now: dict) -> list[str]:
    keys = sorted((set(saved) | set(now)) - set(NOT_COMPARED))
    return [f"{k}: {saved.get(k)!r} then, {now.get(k)!r} now" for k in keys if saved.get(k) != now.get(k)]


def prepare_out(cfg: DictConfig) -> bool:
    """Make ``cfg.out`` ready for this run; True when it continues an earlier run there."""
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise DemoOutError(f"out={out} is a file; give a folder for the demo's run")
    saved = out / SAVED_CONFIG
    earlier = out.is_dir() and any(out.iterdir())
    if earlier and not saved.exists():
        raise DemoOutError(f"out={out} holds files but no demo run ({SAVED_CONFIG}); give a new or empty folder")
    if earlier and cfg.overwrite:
        print(f"overwrite=true: deleting the earlier demo run in {out}")
        shutil.rmtree(out)
        earlier = False
    elif earlier:
        changed = _differences(OmegaConf.to_container(OmegaConf.load(saved)), OmegaConf.to_container(cfg))
        if changed:
            raise DemoOutError(
                f"out={out} holds a demo run with other settings ({'; '.join(changed)}); run it with the same "
                "settings to continue it, overwrite=true to start it again, or give another out="
            )
        print(f"{out} holds this demo's earlier run: continuing it (each stage reuses its work)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / SAVED_CONFIG).write_text(OmegaConf.to_yaml(cfg))
    except OSError as exc:
        raise DemoOutError(f"out={out} is not writable ({exc.strerror or exc}); give a folder you can write") from exc
    return earlier


def _stage(name: str, seconds: dict, out: Path, work) -> None:
    """Run one stage; its time is added to what earlier runs of this demo spent on it."""
    print(f"== {name} ==", flush=True)
    start = time.perf_counter()
    work()
    spent = time.perf_counter() - start
    seconds[name] = round(seconds.get(name, 0.0) + spent, 1)
    (out / TIMING).write_text(json.dumps(seconds, indent=2))
    print(f"== {name}: {spent:.0f} s ==", flush=True)


def collect(cfg: DictConfig, play: Path) -> None:
    if (play / "meta" / "info.json").exists():
        print(f"{play} exists: reusing it")
        return
    from robolang import collect as collect_cmd

    overrides = [f"out={play}", f"hours={cfg.collect.hours}", f"workers={cfg.workers}", f"seed={cfg.seed}",
                 f"episode_seconds={cfg.collect.episode_seconds}", *_side(cfg)]  # fmt: skip
    collect_cmd.run(load_config("collect", overrides))


def caption(play: Path) -> None:
    from robolang.captioning import annotations
    from robolang.captioning.command import caption_dataset

    if not annotations.load(play).empty:
        print(f"{play} is captioned: reusing its labels")
        return
    caption_dataset(play)


def train(cfg: DictConfig, play: Path, run: Path, section=None, policy: str = "transformer") -> None:
    from robolang.policy import train_cmd

    overrides = [f"policy={policy}", f"dataset={play}", f"out={run}", f"policy.image_size={cfg.image_size}",
                 f"data.tasks={_list(cfg.tasks)}", *overrides_of(section if section is not None else cfg.train)]  # fmt: skip
    if (run / "checkpoints" / "last").exists():
        overrides.append("resume=true")
    train_cmd.run(load_config("train", overrides))


def evaluate(cfg: DictConfig, run: Path, out: Path, baselines: dict[str, Path]) -> dict:
    from robolang.evaluation import suite

    overrides = [f"checkpoint={run}", *[f"+controllers.{k}={v}" for k, v in baselines.items()], f"out={out}",
                 f"tasks={_list(cfg.tasks)}", f"seed={cfg.seed}", f"workers={cfg.workers}", *overrides_of(cfg.eval),
                 *_side(cfg)]  # fmt: skip
    if out.is_dir() and any(out.iterdir()):
        overrides.append("resume=true")  # this demo's own evaluation, stopped or finished: continue it
    return suite.run(load_config("eval", overrides))


def _per_world(summary: dict, worlds: list[str], splits: list[str]) -> list[str]:
    """Controller x world rows (a table only when there is more than one world)."""
    from robolang.bench.report import table
    from robolang.evaluation.stats import fmt_rate

    if len(worlds) < 2:
        return []
    rows = [
        [c, w, *(fmt_rate(summary["by_world"].get(c, {}).get(w, {}).get(s)) for s in splits)]
        for c in summary["controllers"]
        for w in worlds
    ]
    return ["Per world:", "", *table(["controller", "world", *splits], rows), ""]


def _description(cfg: DictConfig, conf: dict, name: str, continued: bool) -> str:
    if cfg.pipeline == "ladder":
        from robolang import ladder

        return ladder.description(cfg, conf, name, continued)
    trained = [f"the transformer {cfg.train.train.steps} steps"] + [
        f"{b} {s.train.steps} steps" for b, s in (cfg.baselines or {}).items()
    ]
    return (
        f"`configs/{name}.yaml` as shipped (out `{cfg.out}`): {cfg.collect.hours} h of scripted play at "
        f"{cfg.image_size}x{cfg.image_size}, {cfg.workers} workers; {len(cfg.tasks)} tasks ({', '.join(cfg.tasks)}); "
        f"{', '.join(trained)}, batch {cfg.train.train.batch_size}; evaluation worlds {', '.join(conf['worlds'])}, "
        f"{conf['episodes']} episodes per task, split and world, {conf['chains']} chains per world and chain split."
        + (" Continued from an earlier, interrupted run: stage times add up over the runs." if continued else "")
    )


def write_benchmark(cfg: DictConfig, seconds: dict, results: dict, load, continued: bool = False) -> None:
    """The demo's time per stage and its comparison table, as a BENCHMARKS.md section."""
    from robolang.bench.eval import per_task_table
    from robolang.bench.report import heading, table, verdict, write_section
    from robolang.evaluation.stats import comparison_rows

    summary, conf = results["summary"], results["config"]
    splits = list(conf["splits"])
    main = "deployable" if cfg.get("pipeline") == "ladder" else "ours"
    header, rows = comparison_rows(summary, splits, list(conf["chain_splits"]))
    total, budget = sum(seconds.values()), cfg.get("budget_minutes")
    name = cfg.get("name") or "demo"
    command = "robolang demo" + ("" if name == "demo" else f" --config-name {name}")
    stages = [[k, f"{v:.0f}"] for k, v in seconds.items()] + [["**total**", f"{total:.0f}"]]
    lines = [
        *heading(f"End-to-end run `{name}` (`{command} bench_out=BENCHMARKS.md`)", load),
        _description(cfg, conf, name, continued),
        "",
        *table(["stage", "seconds"], stages),
        "",
        f"Target: about {budget} min on this machine: {verdict(total, '<=', budget * 60)} ({total / 60:.1f} min)."
        if budget
        else f"Total: {total / 60:.1f} min.",
        "",
        "Same episodes for every controller; cells: success [95% Wilson interval] n=episodes:",
        "",
        *table(header, rows),
        "",
        *_per_world(summary, list(conf["worlds"]), splits),
        f"{main.capitalize()} per task (worlds pooled):",
        "",
        *per_task_table(summary, main, splits),
    ]
    write_section(cfg.bench_out, name.split("/")[-1], "\n".join(lines))


def run(cfg: DictConfig) -> Path:
    """Run every stage; returns the report's path."""
    from robolang.bench.report import Load, check_writable

    check(cfg)
    if cfg.bench_out:
        check_writable(cfg.bench_out)
    out = Path(cfg.out)
    continued = prepare_out(cfg)
    seconds: dict[str, float] = json.loads((out / TIMING).read_text()) if (out / TIMING).exists() else {}
    play, policy, evaluation = out / "play", out / "policy", out / "eval"
    results = {}
    with Load() as load:
        if cfg.pipeline == "ladder":
            from robolang import ladder

            for name, work in ladder.stages(cfg, out, results):
                _stage(name, seconds, out, work)
        else:
            _stage("collect", seconds, out, lambda: collect(cfg, play))
            _stage("caption", seconds, out, lambda: caption(play))
            _stage("train", seconds, out, lambda: train(cfg, play, policy))
            baselines = {}
            for name, section in (cfg.baselines or {}).items():  # e.g. mcil: trained in the same harness
                baselines[name] = out / name
                _stage(f"train {name}", seconds, out, lambda n=name, s=section: train(cfg, play, out / n, s, policy=n))
            _stage("evaluate", seconds, out, lambda: results.update(evaluate(cfg, policy, evaluation, baselines)))
    if cfg.bench_out:
        write_benchmark(cfg, seconds, results, load, continued)
    report = evaluation / "report.html"
    print(
        f"demo done in {sum(seconds.values()) / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())})"
    )
    print(f"report: {report.resolve()}")
    return report
