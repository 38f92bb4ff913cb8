"""Policy ms per action chunk beside LeRobot ACT, in one run.

Target (DESIGN.md): at most 10 ms p50 per chunk on 2 cores, batch 1, two 128x128 images. The
reference is LeRobot's ACT with its default config (51.6 M parameters; 91.5 ms p50 measured
earlier here), randomly initialised: weights do not change the time.

Each entry of ``LATENCY_SUBJECTS`` builds one policy, from a checkpoint folder or fresh, and says
which call paths to time; extend it to compare more policies. The calls of every subject take
turns (round-robin), so on a shared machine all see the same load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from robolang.bench import checks
from robolang.bench.report import Load, heading, table, verdict
from robolang.config import ConfigError, checked
from robolang.features import CAMERA_NAMES, KEY_SCENE_STATE, KEY_STATE, STATE_DIM, image_key

TARGET_P50_MS = 10.0
THREADS = 2  # DESIGN.md "Performance targets": 2 CPU cores
IMAGE_SIZE = 128  # DESIGN.md: two 128x128 images
INSTRUCTION = "put the red block on the plate"  # any phrasing; encoded once and cached, as in a control loop


@dataclass
class Subject:
    """A policy to time: what it is, and ``path name -> (fn, make_input)`` call paths."""

    label: str
    params: int
    chunk_size: int
    paths: dict[str, tuple[Callable, Callable[[], object]]]


def measure_latency(predict_fn, make_observation, n_warmup: int = 10, n_runs: int = 100, threads: int = THREADS):
    """Wall-clock time of ``predict_fn(observation)``, one fresh observation per call (made outside
    the timed region). Returns ``p50_ms``, ``p90_ms``, ``mean_ms``, ``min_ms`` (the least disturbed
    call, telling on a shared machine) and ``runs``."""
    return measure_interleaved({"fn": (predict_fn, make_observation)}, n_warmup, n_runs, threads)["fn"]


def measure_interleaved(
    calls: dict[str, tuple[Callable, Callable[[], object]]],
    n_warmup: int = 10,
    n_runs: int = 100,
    threads: int = THREADS,
) -> dict[str, dict[str, float]]:
    """``measure_latency`` for several ``name -> (fn, make_input)`` at once, round-robin: run i of
    every call comes before run i + 1 of any, so on a shared machine all see the same load."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = {name: np.empty(n_runs) for name in calls}
    try:
        for fn, make in calls.values():
            for _ in range(n_warmup):
                fn(make())
        for i in range(n_runs):
            for name, (fn, make) in calls.items():
                obs = make()
                started = time.perf_counter()
                fn(obs)
                times[name][i] = time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)
    return {name: _summary(t * 1e3) for name, t in times.items()}


def _summary(ms: np.ndarray) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": float(ms.mean()),
        "min_ms": float(ms.min()),
        "runs": len(ms),
    }


def observation_maker(image_size: int = IMAGE_SIZE, seed: int = 0, scene_dim: int = 0) -> Callable[[], dict]:
    """Random observations in the dataset's keys: uint8 (H, W, 3) per camera and the (12,) state;
    with ``scene_dim`` also a scene-state vector (what a privileged policy reads; the values do
    not change the time)."""
    rng = np.random.default_rng(seed)

    def make() -> dict:
        obs = {image_key(c): rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8) for c in CAMERA_NAMES}
        obs[KEY_STATE] = rng.normal(size=STATE_DIM).astype(np.float32)
        if scene_dim:
            obs[KEY_SCENE_STATE] = rng.normal(size=scene_dim).astype(np.float32)
        return obs

    return make


def act_paths(runner, image_size: int = IMAGE_SIZE) -> dict[str, tuple[Callable, Callable[[], dict]]]:
    """The two ways an ACT chunk is timed, as ``name -> (fn, make_input)``: ``predict`` (numpy
    in, LeRobot's processors, ``predict_action_chunk``, chunk out) and the bare
    ``predict_action_chunk`` on an already prepared, normalized batch."""
    import torch
    from lerobot.policies.utils import prepare_observation_for_inference

    make = observation_maker(image_size)

    def prepared() -> dict:
        with torch.inference_mode():
            return runner.preprocessor(prepare_observation_for_inference(make(), torch.device(runner.device)))

    return {
        "predict (numpy in, LeRobot processors, chunk out)": (lambda obs: runner.predict(obs, ""), make),
        "predict_action_chunk only (prepared batch)": (runner.policy.predict_action_chunk, prepared),
    }


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
    from robolang.policy.inference import LanguagePolicy, load_policy
    from robolang.policy.model import TransformerPolicyConfig

    if checkpoint:
        policy, label = load_policy(checkpoint), f"robolang policy `{checkpoint}`"
        if policy.privileged:  # timed with a scene-state vector, as evaluation gives it; never deployable
            label = f"robolang {policy.name} policy `{checkpoint}` (PRIVILEGED: reads the scene state)"
    else:
        policy = LanguagePolicy(_fresh_bundle(TransformerPolicyConfig()))
        label = "robolang transformer policy, default config (random init)"
    params = sum(p.numel() for p in policy.policy.parameters())
    make = observation_maker(image_size, scene_dim=len(policy.scene_fields) if policy.privileged else 0)
    predict = (lambda obs: policy.predict(obs, INSTRUCTION), make)
    return Subject(label, params, policy.config.chunk_size, {"predict(observation, instruction)": predict})


def _fresh_bundle(config):
    from robolang.policy.checkpoint import PolicyBundle, observation_spec
    from robolang.policy.language import DEFAULT_ENCODER
    from robolang.policy.model import TransformerPolicy

    stats = {KEY_STATE: {"mean": [0.0] * STATE_DIM, "std": [1.0] * STATE_DIM}}
    spec = observation_spec({key: (config.image_size, config.image_size, 3) for key in config.cameras})
    return PolicyBundle(TransformerPolicy(config), "transformer", stats, DEFAULT_ENCODER, spec, step=0)


# name -> builder(checkpoint folder or None, image size)
LATENCY_SUBJECTS: dict[str, Callable[[str | None, int], Subject]] = {"act": act_subject, "ours": ours_subject}


def check(cfg: DictConfig) -> None:
    subjects = checks.listed(cfg, "subjects", sorted(LATENCY_SUBJECTS))
    for name, path in (cfg.checkpoints or {}).items():
        if name in subjects and path is not None and not Path(str(path)).exists():
            raise ConfigError(f"checkpoints.{name}={path}: no such folder (null builds it fresh)")
    checked(cfg, "image_size", int, low=8)
    checked(cfg, "threads", int, low=1)
    checked(cfg, "n_warmup", int, low=0)
    checked(cfg, "n_runs", int, low=1)


def run(cfg: DictConfig) -> list[dict]:
    """Build every subject of ``cfg.subjects`` and time their call paths in turns; one row per path."""
    import torch

    torch.set_num_threads(cfg.threads)
    subjects = {n: LATENCY_SUBJECTS[n]((cfg.checkpoints or {}).get(n), cfg.image_size) for n in cfg.subjects}
    calls = {(name, path): call for name, s in subjects.items() for path, call in s.paths.items()}
    results = measure_interleaved(calls, cfg.n_warmup, cfg.n_runs, cfg.threads)
    return [{"name": name, "subject": subjects[name], "path": path, **r} for (name, path), r in results.items()]


def section(cfg: DictConfig, rows: list[dict], load: Load) -> str:
    header = ["policy", "parameters", "chunk", "timed call", "p50 ms", "p90 ms", "mean ms", "min ms"]
    cells = []
    for r in rows:
        s = r["subject"]
        per_action = f"{r['p50_ms'] / s.chunk_size:.2f}" if s.chunk_size else ""
        timings = [f"{r[k]:.1f}" for k in ("p50_ms", "p90_ms", "mean_ms", "min_ms")]
        cells.append([s.label, f"{s.params / 1e6:.1f} M", str(s.chunk_size), r["path"], *timings, per_action])
    return "\n".join(
        [
            *heading("Policy latency per action chunk (`robolang bench latency`)", load),
            f"Batch 1, two {cfg.image_size}x{cfg.image_size} uint8 images and the (12,) state, torch on "
            f"{cfg.threads} threads (the target's 2 cores), {cfg.n_warmup} warm-up calls then {cfg.n_runs} timed "
            "calls, a fresh random observation per call made outside the timing; the calls of all rows take turns "
            "(round-robin), so every row sees the same load, and other work slows the min column least.",
            "",
            *table([*header, "p50 ms per action"], cells, align="lrrlrrrrr"),
            "",
            *_verdict(cfg, rows),
        ]
    )


def _verdict(cfg: DictConfig, rows: list[dict]) -> list[str]:
    act = next((r for r in rows if r["name"] == "act"), None)
    ours = next((r for r in rows if r["name"] == "ours"), None)
    out = [
        f"Target: our policy at most {TARGET_P50_MS:.0f} ms p50 per chunk. Reference measured earlier on this kind "
        "of machine: LeRobot ACT (51.6 M parameters) 91.5 ms p50."
    ]
    if ours is not None:
        line = f"Ours: {ours['p50_ms']:.1f} ms p50, {verdict(ours['p50_ms'], '<=', TARGET_P50_MS)} the target"
        if act is not None:
            line += f"; {act['p50_ms'] / ours['p50_ms']:.1f}x faster than ACT's end-to-end predict in this run"
        out.append(line + ".")
    out.append(
        f"ACT runs {cfg.threads}-thread torch with `pretrained_backbone_weights=None` (nothing may be downloaded; "
        "weights do not change its time)."
    )
    return out


def summary(rows: list[dict]) -> list[str]:
    return [f"{r['subject'].label}, {r['path']}: p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms" for r in rows]
