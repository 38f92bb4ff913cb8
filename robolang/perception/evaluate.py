"""Measuring the state estimator: median errors per object, world and camera set, and the verdict.

Frames are rendered fresh per world (``entry``) from seeds no training shard uses; the same
frames serve every camera set. "static" is the same model with the wrist input dropped (it was
trained with wrist dropout, ``estimator.EstimatorConfig.wrist_dropout``); "both" reads every camera.
A world measured "as recorded" (``<world>+codec``: the same frames through the recordings' video
codec, ``codec.py``) is what the vision captioner reads; it has no target. Targets (DESIGN.md, after
Tobin et al. 2017's 1.5 cm on real images): the median object-position error over every object and
frame, with both cameras, <= 1.0 cm in ``default``, <= 1.5 cm in ``heldout``.
"""

from __future__ import annotations

import numpy as np

from robolang.perception.estimator import StateEstimator
from robolang.perception.train import camera_sets

DEFAULT_TARGETS_CM = {"default": 1.0, "heldout": 1.5}
VERDICT_SET = "both"  # the camera set the targets are judged on


def measure(model: StateEstimator, frames: dict[str, np.ndarray], cameras: tuple[str, ...]) -> dict:
    """Errors of one camera set on rendered frames (``frames.draw_frames`` arrays)."""
    layout = model.layout
    truth = layout.targets(frames["scene"])
    pred = model.predict({c: frames[c] for c in cameras}, frames["proprio"], cameras=cameras)
    dist_cm = np.linalg.norm(pred["position"] - truth["position"], axis=-1) * 100  # (N, O)
    k = layout.yaw_multiple
    yaw_err = _yaw_error_deg(pred["yaw"], truth["yaw"], k)  # (N, O)
    return {
        "objects_cm": {o: float(np.median(dist_cm[:, i])) for i, o in enumerate(layout.objects)},
        "all_objects_cm": float(np.median(dist_cm)),
        "yaw_deg": {o: float(np.median(yaw_err[:, i])) for i, o in enumerate(layout.objects) if k[i] > 0},
        "fixtures_cm": {
            f: float(np.median(np.abs(pred["fixture"][:, i] - truth["fixture"][:, i])) * 100)
            for i, f in enumerate(layout.fixtures)
        },
        "switches_right": {
            s: float(np.mean((pred["switch"][:, i] > 0.5) == (truth["switch"][:, i] > 0.5)))
            for i, s in enumerate(layout.switches)
        },
        "frames": int(len(frames["scene"])),
    }


def _yaw_error_deg(pred: np.ndarray, truth: np.ndarray, k: np.ndarray) -> np.ndarray:
    """|pred - truth| modulo the shape's symmetry (360/k deg), in degrees; NaN where yaw is not predicted."""
    period = np.where(k > 0, 2 * np.pi / np.maximum(k, 1), np.nan)
    diff = np.mod(pred - truth + period / 2, period) - period / 2
    return np.degrees(np.abs(diff))


def evaluate(model: StateEstimator, frames_by_world: dict[str, dict], targets: dict[str, float] | None = None) -> dict:
    """Every world x camera set measured, and the verdict per world that has a target."""
    targets = DEFAULT_TARGETS_CM if targets is None else targets
    results = {
        world: {name: measure(model, frames, cams) for name, cams in camera_sets(model.camera_names).items()}
        for world, frames in frames_by_world.items()
    }
    verdict = {}
    for world, sets in results.items():
        if world in targets:
            median = sets[VERDICT_SET]["all_objects_cm"]
            verdict[world] = {"median_cm": median, "target_cm": float(targets[world]), "met": median <= targets[world]}
    return {"results": results, "verdict": verdict, "camera_set_judged": VERDICT_SET}


def table(report: dict) -> list[str]:
    """The report as text lines: one row per quantity, one column per world and camera set, then the verdict."""
    columns = [(w, s) for w, sets in report["results"].items() for s in sets]
    first = report["results"][columns[0][0]][columns[0][1]]
    rows = [(f"{o} (cm)", ("objects_cm", o)) for o in first["objects_cm"]]
    rows += [("all objects (cm)", ("all_objects_cm", None))]
    rows += [(f"{o} yaw (deg)", ("yaw_deg", o)) for o in first["yaw_deg"]]
    rows += [(f"{f} (cm)", ("fixtures_cm", f)) for f in first["fixtures_cm"]]
    rows += [(f"{s} (% right)", ("switches_right", s)) for s in first["switches_right"]]
    width = max(len(r[0]) for r in rows) + 2
    cell = max(16, *(len(f"{w}/{s}") + 2 for w, s in columns))
    head = "median error".ljust(width) + "".join(f"{w}/{s}".rjust(cell) for w, s in columns)
    lines = [head, "-" * len(head)]
    for label, (key, name) in rows:
        cells = []
        for w, s in columns:
            value = report["results"][w][s][key] if name is None else report["results"][w][s][key][name]
            cells.append(f"{100 * value:.1f}" if key == "switches_right" else f"{value:.2f}")
        lines.append(label.ljust(width) + "".join(c.rjust(cell) for c in cells))
    frames = {w: sets[columns[0][1]]["frames"] for w, sets in report["results"].items()}
    lines.append(f"frames per world: {frames}; 'static' = the same model with the wrist camera dropped")
    for world, v in report["verdict"].items():
        mark = "MET" if v["met"] else "NOT MET"
        lines.append(
            f"verdict {world}: median object-position error {v['median_cm']:.2f} cm "
            f"({report['camera_set_judged']} cameras), target <= {v['target_cm']:.1f} cm: {mark}"
        )
    return lines
