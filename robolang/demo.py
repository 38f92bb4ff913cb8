"""``robolang demo``: the whole pipeline at a small embedded default, end to end.

collect scripted play -> hindsight-caption it -> train the transformer policy -> evaluate it
beside the scripted agent (upper bound) and the zero action (lower bound) -> an HTML report.
Every stage is one of the ordinary commands with overrides (nothing here is special-cased),
and each skips work already done in ``out``, so an interrupted demo continues where it
stopped. ``configs/demo.yaml`` holds the small default (sized for ~30 min on 2 CPU cores);
``configs/experiment/full.yaml`` the larger run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.config import load_config


def _side(cfg: DictConfig) -> list[str]:
    keys = ("static_width", "static_height", "wrist_width", "wrist_height")
    return [f"robot.config.{k}={cfg.image_size}" for k in keys]


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


def _stage(name: str, seconds: dict, work) -> None:
    print(f"== {name} ==", flush=True)
    start = time.perf_counter()
    work()
    seconds[name] = round(time.perf_counter() - start, 1)
    print(f"== {name}: {seconds[name]:.0f} s ==", flush=True)


def collect(cfg: DictConfig, play: Path) -> None:
    if (play / "meta" / "info.json").exists():
        print(f"{play} exists: reusing it")
        return
    from robolang import collect as collect_cmd

    overrides = [f"out={play}", f"hours={cfg.collect.hours}", f"workers={cfg.workers}", f"seed={cfg.seed}",
                 f"episode_seconds={cfg.collect.episode_seconds}", *_side(cfg)]  # fmt: skip
    collect_cmd.run(load_config("collect", overrides))


def caption(play: Path) -> None:
    from robolang import caption_cmd
    from robolang.captioning import annotations

    if not annotations.load(play).empty:
        print(f"{play} is captioned: reusing its labels")
        return
    caption_cmd.run(str(play), None, ("train",), False)


def train(cfg: DictConfig, play: Path, run: Path, section=None, policy: str = "transformer") -> None:
    from robolang.policy import train_cmd

    overrides = [f"policy={policy}", f"dataset={play}", f"out={run}", f"policy.image_size={cfg.image_size}",
                 f"data.tasks={_list(cfg.tasks)}", *overrides_of(section if section is not None else cfg.train)]  # fmt: skip
    if (run / "checkpoints" / "last").exists():
        overrides.append("resume=true")
    train_cmd.run(load_config("train", overrides))


def evaluate(cfg: DictConfig, run: Path, out: Path, baselines: dict[str, Path]) -> dict:
    from robolang.evaluation import suite

    overrides = [f"checkpoint={run}", *[f"{k}={v}" for k, v in baselines.items()], f"out={out}", f"tasks={_list(cfg.tasks)}", f"seed={cfg.seed}",
                 f"workers={cfg.workers}", *overrides_of(cfg.eval), *_side(cfg)]  # fmt: skip
    return suite.run(load_config("eval", overrides))


def _per_world(summary: dict, worlds: list[str], splits: list[str]) -> list[str]:
    """Controller x world rows (a table only when there is more than one world)."""
    from robolang.bench_eval import _markdown
    from robolang.evaluation.stats import fmt_rate

    if len(worlds) < 2:
        return []
    rows = [
        [c, w, *(fmt_rate(summary["by_world"].get(c, {}).get(w, {}).get(s)) for s in splits)]
        for c in summary["controllers"]
        for w in worlds
    ]
    return ["Per world:", "", *_markdown(["controller", "world", *splits], rows), ""]


def write_benchmark(cfg: DictConfig, seconds: dict, results: dict) -> None:
    """The demo's time per stage and its comparison table, as a BENCHMARKS.md section."""
    import os

    from robolang.bench_eval import _markdown, _per_task
    from robolang.benchmarks import provenance, write_section
    from robolang.evaluation.stats import comparison_rows

    summary, conf = results["summary"], results["config"]
    header, rows = comparison_rows(summary, list(conf["splits"]), list(conf["chain_splits"]))
    total = sum(seconds.values())
    name = cfg.get("name") or "demo"
    command = "robolang demo" + ("" if name == "demo" else f" --config-name {name}")
    trained = [f"the transformer {cfg.train.train.steps} steps"] + [
        f"{b} {s.train.steps} steps" for b, s in (cfg.baselines or {}).items()
    ]
    budget = cfg.get("budget_minutes")
    lines = [
        f"## End-to-end run `{name}` (`{command} bench_out=BENCHMARKS.md`)",
        "",
        provenance(),
        f"`configs/{name}.yaml` as shipped (out `{cfg.out}`): {cfg.collect.hours} h of scripted play at "
        f"{cfg.image_size}x{cfg.image_size}, {cfg.workers} workers; {len(cfg.tasks)} tasks ({', '.join(cfg.tasks)}); "
        f"{', '.join(trained)}, batch {cfg.train.train.batch_size}; evaluation worlds {', '.join(conf['worlds'])}, "
        f"{conf['episodes']} episodes per task, split and world, {conf['chains']} chains per world and chain split; "
        f"1-minute load average at the end {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores).",
        "",
        *_markdown(
            ["stage", "seconds"], [[k, f"{v:.0f}"] for k, v in seconds.items()] + [["**total**", f"{total:.0f}"]]
        ),
        "",
        f"Target: about {budget} min on this machine: {'meets' if total <= budget * 60 else 'MISSES'} "
        f"({total / 60:.1f} min)."
        if budget
        else f"Total: {total / 60:.1f} min.",
        "",
        "Same episodes for every controller; cells: success [95% Wilson interval] n=episodes:",
        "",
        *_markdown(header, rows),
        "",
        *_per_world(summary, list(conf["worlds"]), list(conf["splits"])),
        "Ours per task (worlds pooled):",
        "",
        *_per_task(summary, "ours", list(conf["splits"])),
    ]
    write_section(cfg.bench_out, name.split("/")[-1], "\n".join(lines))


def run(cfg: DictConfig) -> Path:
    """Run every stage; returns the report's path."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo.yaml").write_text(OmegaConf.to_yaml(cfg))
    play, policy, evaluation = out / "play", out / "policy", out / "eval"
    seconds: dict[str, float] = {}
    _stage("collect", seconds, lambda: collect(cfg, play))
    _stage("caption", seconds, lambda: caption(play))
    _stage("train", seconds, lambda: train(cfg, play, policy))
    baselines = {}
    for name, section in (cfg.baselines or {}).items():  # e.g. mcil: trained in the same harness
        baselines[name] = out / name
        _stage(f"train {name}", seconds, lambda n=name, s=section: train(cfg, play, out / n, s, policy=n))
    results = {}
    _stage("evaluate", seconds, lambda: results.update(evaluate(cfg, policy, evaluation, baselines)))
    (out / "timing.json").write_text(json.dumps(seconds, indent=2))
    if cfg.get("bench_out"):
        write_benchmark(cfg, seconds, results)
    total = sum(seconds.values())
    report = evaluation / "report.html"
    print(f"demo done in {total / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())})")
    print(f"report: {report.resolve()}")
    return report
