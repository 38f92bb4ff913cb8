"""``robolang demo --config-name experiment/ladder_cpu``: the policy ladder end to end.

The issue-13 design as one run (``pipeline: ladder``), each stage one of the ordinary commands
with overrides, as the play pipeline (``robolang.demo``) is:

demonstrations (``robolang dagger checkpoint=null beta=1``: the scripted expert carrying out
instructions, each labelled with what was asked) -> the privileged state policy on them
(``robolang train policy=privileged_state``) -> frames of the randomized world
(``robolang estimator render``) -> the state estimator (``robolang estimator train``) -> both as
one deployable policy (``robolang estimator compose``) -> ``robolang eval`` of the deployable
policy beside the privileged one, the scripted expert and the zero action -> an HTML report.

With ``side_by_side: true`` (the demo's default) the state policy and the estimator's branch (render,
then train) run at once in two processes, one core each: the two small models train faster that way
than one after the other on two threads each.

A stage whose output is already in ``out`` is reused (a stopped run continues); the demo's
``out`` rules (same settings to continue, ``overwrite=true`` to start again) hold here too.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.config import checked, load_config
from robolang.demo import camera_overrides


def check(cfg: DictConfig) -> None:
    """The ladder's own keys (each stage checks the overrides it is given)."""
    checked(cfg, "demos.hours", float, low=0.001)
    checked(cfg, "demos.episode_seconds", float, low=1)
    checked(cfg, "demos.image_size", int, low=8)
    checked(cfg, "demos.start_pose", str, choices=("here", "random"), optional=True)
    checked(cfg, "demos.balance", bool, optional=True)
    checked(cfg, "estimator.render.frames", int, low=1)
    checked(cfg, "side_by_side", bool, optional=True)
    checked(cfg, "compose.held_from_gripper", bool, optional=True)


def demonstrations(cfg: DictConfig, out: Path) -> None:
    """The expert's own demonstrations, every instruction labelled (``source=expert``)."""
    from robolang import dagger
    from robolang.captioning import annotations
    from robolang.captioning.tasks import TASK_IDS

    if (out / "meta" / "info.json").exists() and not annotations.load(out).empty:
        print(f"{out} holds the demonstrations: reusing them")
        return
    overrides = ["checkpoint=null", "beta=1", f"out={out}", f"hours={cfg.demos.hours}", f"seed={cfg.seed}",
                 f"workers={cfg.workers}", f"episode_seconds={cfg.demos.episode_seconds}",
                 f"start_pose={cfg.demos.get('start_pose', 'here')}", f"balance={cfg.demos.get('balance', False)}",
                 *camera_overrides(cfg.demos.image_size)]  # fmt: skip
    if set(cfg.tasks) != set(TASK_IDS):  # demonstrate only the tasks the run trains and evaluates
        overrides.append("tasks=[" + ",".join(cfg.tasks) + "]")
    if (out / "meta" / "info.json").exists():
        overrides.append("resume=true")  # stopped while recording: finish it
    dagger.run(load_config("dagger", overrides))


def train_state(cfg: DictConfig, demos: Path, run: Path) -> None:
    from robolang.demo import overrides_of
    from robolang.policy import train_cmd

    overrides = ["policy=privileged_state", f"dataset={demos}", f"out={run}", "data.tasks=[" + ",".join(cfg.tasks) + "]",
                 *overrides_of(cfg.state)]  # fmt: skip
    if (run / "checkpoints" / "last").exists():
        overrides.append("resume=true")
    train_cmd.run(load_config("train", overrides))


def render_frames(cfg: DictConfig, out: Path, workers: int | None = None) -> None:
    from robolang.demo import overrides_of
    from robolang.perception.entry import run_render

    workers = cfg.workers if workers is None else workers
    overrides = [f"out={out}", f"image_size={cfg.image_size}", f"seed={cfg.seed}", f"workers={workers}",
                 *render_labels(cfg), *overrides_of(cfg.estimator.render)]  # fmt: skip
    if out.exists():
        overrides.append("resume=true")  # the shards it lacks (none when it is complete)
    run_render(load_config("estimator_render", overrides))


def render_labels(cfg: DictConfig) -> list[str]:
    """Surface labels only for an estimator that paints the table over (``estimator.train.train.repaint``)."""
    repaint = OmegaConf.select(cfg, "estimator.train.train.repaint", default=0.0)
    return [] if repaint else ["surface_labels=null"]


def train_estimator(cfg: DictConfig, frames: Path, run: Path, threads: int | None = None) -> None:
    from robolang.demo import overrides_of
    from robolang.perception.entry import run_train

    overrides = [f"data={frames}", f"out={run}", *overrides_of(cfg.estimator.train)]
    if threads is not None:
        overrides.append(f"threads={threads}")
    if (run / "checkpoints" / "last").exists():
        overrides.append("resume=true")  # a finished run trains no further
    run_train(load_config("estimator_train", overrides))


def side_by_side(cfg: DictConfig, demos: Path, state: Path, frames: Path, estimator: Path) -> None:
    """The state policy and the estimator's branch (render, then train) at once, one process and one
    core each: two small models train faster side by side on one thread each than one after the other
    on two (measured: BENCHMARKS.md, the demo)."""
    from robolang.parallel import run_jobs

    plain = OmegaConf.to_container(cfg, resolve=True)
    paths = {"demos": str(demos), "state": str(state), "frames": str(frames), "estimator": str(estimator)}
    seconds = run_jobs(_branch, [("state policy", plain, paths), ("estimator", plain, paths)], lambda n: None)
    print(f"side by side: state policy {seconds[0]:.0f} s, estimator frames and training {seconds[1]:.0f} s")


def _branch(name: str, plain: dict, paths: dict, report) -> float:
    """One branch of ``side_by_side`` in its own process, on one core; returns its seconds."""
    import time

    import torch

    torch.set_num_threads(1)
    cfg, start = OmegaConf.create(plain), time.perf_counter()
    if name == "state policy":
        train_state(cfg, Path(paths["demos"]), Path(paths["state"]))
    else:
        render_frames(cfg, Path(paths["frames"]), workers=1)
        train_estimator(cfg, Path(paths["frames"]), Path(paths["estimator"]), threads=1)
    return time.perf_counter() - start


def compose(cfg: DictConfig, estimator: Path, state: Path, out: Path) -> None:
    from robolang.demo import overrides_of
    from robolang.perception.entry import run_compose

    if out.exists():
        print(f"{out} holds the deployable policy: reusing it")
        return
    overrides = [f"estimator={estimator}", f"state_policy={state}", f"out={out}", *overrides_of(cfg.get("compose", {}))]
    run_compose(load_config("estimator_compose", overrides))


def evaluate(cfg: DictConfig, deployable: Path, state: Path, out: Path) -> dict:
    from robolang.demo import overrides_of
    from robolang.evaluation import suite

    overrides = [f"controllers={{deployable:{deployable},privileged:{state}}}", f"out={out}", f"seed={cfg.seed}",
                 f"workers={cfg.workers}", *overrides_of(cfg.eval), *camera_overrides(cfg.image_size)]  # fmt: skip
    overrides.append("tasks=[" + ",".join(cfg.tasks) + "]")  # demo.check: null became every task
    if out.is_dir() and any(out.iterdir()):
        overrides.append("resume=true")
    return suite.run(load_config("eval", overrides))


def stages(cfg: DictConfig, out: Path, results: dict) -> list[tuple[str, object]]:
    """(name, work) of every stage in order; ``results`` receives the evaluation's."""
    demos, state, frames = out / "demos", out / "state_policy", out / "estimator_frames"
    estimator, deployable = out / "estimator", out / "deployable"
    if cfg.get("side_by_side", False):
        training = [("train state policy + estimator", lambda: side_by_side(cfg, demos, state, frames, estimator))]
    else:
        training = [
            ("train state policy", lambda: train_state(cfg, demos, state)),
            ("render estimator frames", lambda: render_frames(cfg, frames)),
            ("train estimator", lambda: train_estimator(cfg, frames, estimator)),
        ]
    return [
        ("demonstrations", lambda: demonstrations(cfg, demos)),
        *training,
        ("compose", lambda: compose(cfg, estimator, state, deployable)),
        ("evaluate", lambda: results.update(evaluate(cfg, deployable, state, out / "eval"))),
    ]


def description(cfg: DictConfig, conf: dict, name: str, continued: bool) -> str:
    """The BENCHMARKS.md sentence saying what this run was."""
    tasks = f"{len(cfg.tasks)} tasks"
    held = (
        " (the object the fingers closed on kept at the grasp point while they hold it)"
        if cfg.get("compose", {}).get("held_from_gripper")
        else ""
    )
    return (
        f"`configs/{name}.yaml` as shipped (out `{cfg.out}`): {cfg.demos.hours} h of the scripted expert's "
        f"demonstrations, the privileged state policy {cfg.state.train.steps} steps, "
        f"{cfg.estimator.render.frames} randomized frames at {cfg.image_size} px and the estimator "
        f"{cfg.estimator.train.train.steps} steps, composed into the deployable policy{held}; {tasks}; evaluation worlds "
        f"{', '.join(conf['worlds'])}, {conf['episodes']} episodes per task, split and world, {conf['chains']} chains "
        "per world and chain split; the deployable policy reads only the cameras and proprioception."
        + (" Continued from an earlier, interrupted run: stage times add up over the runs." if continued else "")
    )
