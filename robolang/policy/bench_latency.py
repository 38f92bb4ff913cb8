"""Inference latency per action chunk: batch 1, two 128x128 images, torch on 2 threads.

DESIGN.md's target is at most 10 ms p50 per chunk on 2 cores, measured beside LeRobot's ACT
(51.6 M parameters with its default config; 91.5 ms p50 measured earlier on this kind of
machine) in the same run. ``measure_latency`` times any ``predict_fn(observation)``;
``act_reference`` builds that ACT, randomly initialised (weights do not change the time).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from robolang.features import CAMERA_NAMES, KEY_STATE, STATE_DIM, image_key

# DESIGN.md "Performance targets": 2 CPU cores, batch 1, two 128x128 images.
THREADS = 2
IMAGE_SIZE = 128


def measure_latency(
    predict_fn: Callable[[dict], object],
    make_observation: Callable[[], dict],
    n_warmup: int = 10,
    n_runs: int = 100,
    threads: int = THREADS,
) -> dict[str, float]:
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


def observation_maker(image_size: int = IMAGE_SIZE, seed: int = 0) -> Callable[[], dict]:
    """Random observations in the dataset's keys: uint8 (H, W, 3) per camera and the (12,) state."""
    rng = np.random.default_rng(seed)

    def make() -> dict:
        obs = {image_key(c): rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8) for c in CAMERA_NAMES}
        obs[KEY_STATE] = rng.normal(size=STATE_DIM).astype(np.float32)
        return obs

    return make


def act_paths(runner, image_size: int = IMAGE_SIZE) -> dict[str, tuple[Callable, Callable[[], dict]]]:
    """The two ways an ACT chunk is timed, as ``name -> (fn, make_input)``: ``predict`` (numpy
    in, LeRobot's processors, ``predict_action_chunk``, chunk out) and the bare
    ``predict_action_chunk`` on an already prepared, normalized batch."""
    from lerobot.policies.utils import prepare_observation_for_inference

    make = observation_maker(image_size)

    def prepared() -> dict:
        with torch.inference_mode():
            return runner.preprocessor(prepare_observation_for_inference(make(), torch.device(runner.device)))

    return {
        "predict (numpy in, LeRobot processors, chunk out)": (lambda obs: runner.predict(obs, ""), make),
        "predict_action_chunk only (prepared batch)": (runner.policy.predict_action_chunk, prepared),
    }


def act_reference(image_size: int = IMAGE_SIZE, n_warmup: int = 10, n_runs: int = 100) -> dict:
    """LeRobot ACT with its default config (random init) for our shapes, timed per chunk both
    ways of ``act_paths``; returns its parameter count, chunk size and one result per path."""
    from robolang.policy.act_baseline import build_act, count_parameters

    torch.set_num_threads(THREADS)
    runner = build_act(image_size=image_size)
    timings = measure_interleaved(act_paths(runner, image_size), n_warmup, n_runs)
    return {"params": count_parameters(runner), "chunk_size": runner.chunk_size, "timings": timings}
