"""Seconds until `robolang ask` acts, and how often its task matcher understands words nobody in the project wrote.

Speed: the matcher's phrasing table built cold (the grammar's choices, then embedding every
phrasing: the first ask for a scene) and warm (read back from its cache), beside loading the
sentence encoder and the grammar's choices alone; and, with a fresh untrained policy
checkpoint, seconds from typing the command to the arm's first step, cold and warm (a
subprocess, as a user runs it). Target: the arm moves within 5 s (warm).

Words: every instruction set (``robolang.task_match_eval``) matched on the play table's
default scene: right / unjudged / wrong, overall and per task. Targets on the frozen outside
set (written by someone who never saw the grammar): >= 90% right, <= 2% wrong.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.bench.report import Load, heading, table, verdict
from robolang.config import ConfigError, checked

TARGET_FIRST_STEP_S = 5.0
TARGET_RIGHT, TARGET_WRONG = 90.0, 2.0
INSTRUCTION = "open the drawer"
# Run in a fresh interpreter: notes the wall clock when the policy's first action is sent.
FIRST_STEP = """
import sys, time
from robolang.evaluation import rollout
act = rollout.PolicyController.act
def first(self, observation, instruction):
    action = act(self, observation, instruction)
    if not getattr(first, "seen", False):
        first.seen = True
        print(f"FIRST_STEP {time.time():.6f}", file=sys.stderr, flush=True)
    return action
rollout.PolicyController.act = first
from robolang import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def check(cfg: DictConfig) -> None:
    checked(cfg, "first_step", bool)
    tasks = OmegaConf.select(cfg, "match_tasks")
    if tasks is not None and not (OmegaConf.is_list(tasks) and len(tasks)):
        raise ConfigError(f"match_tasks={tasks!r} is not allowed: null (all tasks) or a non-empty list of task ids")
    sets = OmegaConf.select(cfg, "sets")
    if not sets or not OmegaConf.is_dict(sets):
        raise ConfigError(f"sets={sets!r} is not allowed: sets must map names to instruction files, e.g. {{dev: F}}")
    for name, path in sets.items():
        if not Path(str(path)).is_file():
            raise ConfigError(f"sets.{name}={path}: no such instruction file (JSON lines: text, accept, args)")


def run(cfg: DictConfig) -> dict:
    from hydra.utils import instantiate

    from robolang import task_match_eval as evaluation
    from robolang import task_match_table as phrasing_table
    from robolang.captioning.config import CaptionConfig
    from robolang.policy.language import InstructionCache, SentenceEncoder
    from robolang.task_match import TaskMatcher

    scene = instantiate(OmegaConf.to_container(cfg.robot, resolve=True), _convert_="all").scene_description()
    tasks = list(cfg.match_tasks) if cfg.match_tasks else None
    seconds, figures = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        encoder = SentenceEncoder()
        seconds["load the sentence encoder"] = time.perf_counter() - started
        started = time.perf_counter()
        texts, _ = phrasing_table.phrasings(scene, CaptionConfig(), phrasing_table.chosen_tasks(tasks))
        seconds[f"the grammar's choices alone ({len(texts)} phrasings)"] = time.perf_counter() - started
        for run_name in ("cold", "warm"):
            started = time.perf_counter()
            matcher = TaskMatcher(scene, InstructionCache(encoder), tasks=tasks, cache_dir=Path(tmp) / "matcher")
            seconds[f"matcher, {run_name} ({len(matcher.texts)} phrasings)"] = time.perf_counter() - started
        for name, path in cfg.sets.items():
            figures[name] = evaluation.measure(matcher, evaluation.load(path))
        first = _first_steps(Path(tmp), tasks) if cfg.first_step else {}
    return {"seconds": seconds, "first_step": first, "sets": figures, "paths": dict(cfg.sets), "tasks": tasks}


def _first_steps(tmp: Path, tasks: list[str] | None) -> dict[str, float]:
    """Seconds from the command to the first step of `robolang ask`, cold (no matcher table)
    then warm, with a fresh untrained checkpoint (weights do not change the time)."""
    from robolang.bench.latency import _fresh_bundle
    from robolang.policy.checkpoint import save_checkpoint
    from robolang.policy.model import TransformerPolicyConfig

    checkpoint = save_checkpoint(tmp / "policy", _fresh_bundle(TransformerPolicyConfig()))
    started = time.time()
    subprocess.run([sys.executable, "-c", "import robolang.ask"], check=True, capture_output=True)
    out = {"import robolang.ask: torch, the sim, LeRobot's robot module (reference)": time.time() - started}
    for run_name in ("cold", "warm"):
        argv = [sys.executable, "-c", FIRST_STEP, "ask", INSTRUCTION, "--checkpoint", str(checkpoint),
                "max_steps=1", "gui=false", f"out={tmp / 'ask.mp4'}", f"match_cache={tmp / 'ask_matcher'}",
                f"match_tasks=[{','.join(tasks)}]" if tasks else "match_tasks=null"]  # fmt: skip
        started = time.time()
        done = subprocess.run(argv, capture_output=True, text=True)
        stamps = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("FIRST_STEP ")]
        if done.returncode != 0 or not stamps:
            raise RuntimeError(f"robolang ask failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        out[run_name] = float(stamps[0]) - started
    return out


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    from robolang import task_match_eval as evaluation

    rows = [[name, f"{s:.2f}"] for name, s in figures["seconds"].items()]
    rows += [[_step_name(k), f"{s:.2f}"] for k, s in figures["first_step"].items()]
    lines = [
        *heading("Asking: time to act and words nobody in the project wrote (`robolang bench ask`)", load),
        f"Speed on the play table's default scene ({_tasks(figures)}); cold = the first ask for this scene and encoder "
        "(the table is built and embedded), warm = every ask after it (read back from `match_cache`). "
        "Before the grammar's memos and the cache, `robolang ask` took ~39 s to its first step, ~30 s of it "
        "in the grammar's 7,440 choices (measured for issue 13), and ~13.7 s warm until the sentence encoder "
        "ran on robolang's own BERT forward pass (transformers' import was ~3 s) and LeRobot's robot module "
        "loaded without `lerobot.processor` (~4 s). Reference, same run: a fresh Python importing "
        "`robolang.ask`, which every `ask` pays before its first step.",
        "",
        *table(["step", "seconds"], rows, align="lr"),
    ]
    if "warm" in figures["first_step"]:
        warm = figures["first_step"]["warm"]
        lines += ["", f"Target <= {TARGET_FIRST_STEP_S:.0f} s to the first step (warm): "
                  f"{verdict(warm, '<=', TARGET_FIRST_STEP_S)} ({warm:.1f} s)."]  # fmt: skip
    for name, outcomes in figures["sets"].items():
        lines += ["", *_words_section(name, figures["paths"][name], outcomes, evaluation)]
    return "\n".join(lines)


def _step_name(key: str) -> str:
    return f"`robolang ask` to the first step, {key}" if key in ("cold", "warm") else key


def _tasks(figures: dict) -> str:
    return "all 31 tasks" if not figures["tasks"] else "tasks " + ", ".join(figures["tasks"])


def _words_section(name: str, path: str, outcomes: list, evaluation) -> list[str]:
    rates = evaluation.rates(outcomes)
    rows = [[task, *(str(c[v]) for v in evaluation.VERDICTS)] for task, c in evaluation.per_task(outcomes).items()]
    lines = [
        f"Instruction set `{name}` (`{path}`, {len(outcomes)} instructions): "
        + ", ".join(f"{v} {rates[v]:.1f}%" for v in evaluation.VERDICTS)
        + ".",
    ]
    if name == "outside":
        lines[0] += (
            f" Targets >= {TARGET_RIGHT:.0f}% right: {verdict(rates['right'], '>=', TARGET_RIGHT)}; "
            f"<= {TARGET_WRONG:.0f}% wrong: {verdict(rates['wrong'], '<=', TARGET_WRONG)}."
        )
    return [*lines, "", *table(["task", *evaluation.VERDICTS], rows, align="lrrr")]


def summary(figures: dict) -> list[str]:
    from robolang import task_match_eval as evaluation

    lines = [f"{name}: {s:.2f} s" for name, s in figures["seconds"].items()]
    lines += [f"{_step_name(k)}: {s:.2f} s" for k, s in figures["first_step"].items()]
    for name, outcomes in figures["sets"].items():
        rates = evaluation.rates(outcomes)
        lines.append(f"{name}: " + ", ".join(f"{v} {rates[v]:.1f}%" for v in evaluation.VERDICTS))
    return lines
