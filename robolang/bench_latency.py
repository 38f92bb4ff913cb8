"""``robolang bench latency``: policy latency per action chunk beside LeRobot's ACT, same run.

Target (DESIGN.md, issue 5 item 6): at most 10 ms p50 per chunk on 2 cores, batch 1, two
128x128 images. The reference is LeRobot's ACT with its default config (51.6 M parameters;
91.5 ms p50 measured earlier here), randomly initialised: weights do not change the time.

Each entry of ``LATENCY_SUBJECTS`` builds one policy, from a checkpoint folder or fresh, and says
which call paths to time; extend it to compare more policies. A subject that cannot be built
here (a module not written yet, say) is reported as skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from robolang.benchmarks import provenance, write_section
from robolang.features import KEY_STATE, STATE_DIM
from robolang.policy.bench_latency import THREADS, act_paths, measure_interleaved, observation_maker

TARGET_P50_MS = 10.0
INSTRUCTION = "put the red block on the plate"  # any phrasing; encoded once and cached, as in a control loop


class SubjectUnavailable(RuntimeError):
    """A policy that cannot be built here, with the reason."""


@dataclass
class Subject:
    """A policy to time: what it is, and ``path name -> (fn, make_input)`` call paths."""

    label: str
    params: int
    chunk_size: int
    paths: dict[str, tuple[Callable, Callable[[], object]]]


def act_subject(checkpoint: str | None, image_size: int) -> Subject:
    """LeRobot ACT: a folder from ``robolang baseline act``, else its default config, random init."""
    from robolang.policy.act_baseline import ActRunner, build_act, count_parameters

    runner = ActRunner.load(checkpoint) if checkpoint else build_act(image_size=image_size)
    label = f"LeRobot ACT `{checkpoint}`" if checkpoint else "LeRobot ACT, default config (random init)"
    return Subject(label, count_parameters(runner), runner.chunk_size, act_paths(runner, image_size))


def ours_subject(checkpoint: str | None, image_size: int) -> Subject:
    """Our policy through ``robolang.policy.inference``: ``load_policy(checkpoint)``, or without a
    checkpoint the default ``TransformerPolicyConfig`` built fresh (random init, unit statistics),
    timed by ``predict(observation, instruction)`` (the instruction's encoding is cached)."""
    try:
        from robolang.policy.inference import LanguagePolicy, load_policy
        from robolang.policy.model import TransformerPolicyConfig
    except ImportError as exc:
        raise SubjectUnavailable(f"robolang.policy.inference / robolang.policy.model not available ({exc})") from exc
    if checkpoint:
        policy, label = load_policy(checkpoint), f"robolang policy `{checkpoint}`"
    else:
        policy = LanguagePolicy(_fresh_bundle(TransformerPolicyConfig()))
        label = "robolang transformer policy, default config (random init)"
    params = sum(p.numel() for p in policy.policy.parameters())
    predict = (lambda obs: policy.predict(obs, INSTRUCTION), observation_maker(image_size))
    return Subject(label, params, policy.config.chunk_size, {"predict(observation, instruction)": predict})


def _fresh_bundle(config):
    from robolang.policy.checkpoint import PolicyBundle, observation_spec
    from robolang.policy.language import DEFAULT_ENCODER
    from robolang.policy.model import TransformerPolicy

    stats = {KEY_STATE: {"mean": [0.0] * STATE_DIM, "std": [1.0] * STATE_DIM}}
    spec = observation_spec({key: (config.image_size, config.image_size, 3) for key in config.cameras})
    return PolicyBundle(TransformerPolicy(config), "transformer", stats, DEFAULT_ENCODER, spec, step=0)


# name -> builder(checkpoint folder or None, image size). The lead extends this.
LATENCY_SUBJECTS: dict[str, Callable[[str | None, int], Subject]] = {"act": act_subject, "ours": ours_subject}


def run(cfg: DictConfig) -> list[dict]:
    """Time every subject of ``cfg.subjects``; write the ``latency`` section of BENCHMARKS.md."""
    unknown = sorted(set(cfg.subjects) - set(LATENCY_SUBJECTS))
    if unknown:
        raise ValueError(f"unknown latency subjects {unknown}; known: {sorted(LATENCY_SUBJECTS)}")
    torch.set_num_threads(cfg.threads)
    load_before = os.getloadavg()[0]
    subjects, rows = {}, []
    for name in cfg.subjects:
        try:
            subjects[name] = LATENCY_SUBJECTS[name]((cfg.checkpoints or {}).get(name), cfg.image_size)
        except SubjectUnavailable as exc:
            print(f"{name}: skipped: {exc}")
            rows.append({"name": name, "skipped": str(exc)})
    calls = {(name, path): call for name, s in subjects.items() for path, call in s.paths.items()}
    results = measure_interleaved(calls, cfg.n_warmup, cfg.n_runs, cfg.threads)
    for (name, path), result in results.items():
        subject = subjects[name]
        rows.append({"name": name, "subject": subject, "path": path, **result})
        print(f"{subject.label}, {path}: p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms")
    load = (load_before, os.getloadavg()[0])
    write_section(cfg.bench_out, "latency", _report(cfg, rows, load))
    return rows


def _report(cfg: DictConfig, rows: list[dict], load: tuple[float, float]) -> str:
    lines = [
        "## Policy latency per action chunk (`robolang bench latency`)",
        "",
        provenance(),
        f"Batch 1, two {cfg.image_size}x{cfg.image_size} uint8 images and the (12,) state, torch on "
        f"{cfg.threads} threads (the target's 2 cores), {cfg.n_warmup} warm-up calls then {cfg.n_runs} timed calls, "
        "a fresh random observation per call made outside the timing; the calls of all rows take turns "
        "(round-robin), so every row sees the same load. "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after, on {os.cpu_count()} cores: "
        "other work on a shared machine slows every row, the min column least.",
        "",
        "| policy | parameters | chunk | timed call | p50 ms | p90 ms | mean ms | min ms | p50 ms per action |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| `{r['name']}` | | | skipped: {r['skipped']} | | | | | |")
            continue
        s = r["subject"]
        per_action = f"{r['p50_ms'] / s.chunk_size:.2f}" if s.chunk_size else ""
        lines.append(
            f"| {s.label} | {s.params / 1e6:.1f} M | {s.chunk_size} | {r['path']} | {r['p50_ms']:.1f} "
            f"| {r['p90_ms']:.1f} | {r['mean_ms']:.1f} | {r['min_ms']:.1f} | {per_action} |"
        )
    lines += ["", *_verdict(rows)]
    return "\n".join(lines)


def _verdict(rows: list[dict]) -> list[str]:
    timed = [r for r in rows if "skipped" not in r]
    act = next((r for r in timed if r["name"] == "act"), None)
    ours = next((r for r in timed if r["name"] == "ours"), None)
    out = [
        f"Target: our policy at most {TARGET_P50_MS:.0f} ms p50 per chunk. Reference measured earlier on this kind "
        "of machine: LeRobot ACT (51.6 M parameters) 91.5 ms p50."
    ]
    if ours is not None:
        verdict = "meets" if ours["p50_ms"] <= TARGET_P50_MS else "MISSES"
        line = f"Ours: {ours['p50_ms']:.1f} ms p50, {verdict} the target"
        if act is not None:
            line += f"; {act['p50_ms'] / ours['p50_ms']:.1f}x faster than ACT's end-to-end predict in this run"
        out.append(line + ".")
    out.append(
        f"ACT runs {THREADS}-thread torch with `pretrained_backbone_weights=None` (nothing may be downloaded; "
        "weights do not change its time)."
    )
    return out
