"""The report's videos: chosen episodes re-run deterministically with frames kept."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf
from tqdm import tqdm

from robolang.evaluation.outputs import VIDEOS
from robolang.evaluation.worker import Workbench


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
            name = f"{VIDEOS}/{r['controller']}_{r['world']}_{r['task']}_{r['split']}_{r['index']}.mp4"
            with VideoWriter(out / name, fps=CONTROL_FPS) as writer:
                for frame in again.pop("frames"):
                    writer.write(frame)
            shown.append({**again, "path": name})
    finally:
        bench.close()
        torch.set_num_threads(threads)
    return shown
