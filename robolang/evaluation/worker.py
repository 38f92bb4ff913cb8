"""One evaluation worker: robots per world, the controllers, and the episodes it is given.

Runs in-process, in spawned processes or as Ray tasks: everything arrives as plain data
(``evaluate_jobs(plain_cfg, jobs, report)``) and every job is self-contained, so results do
not depend on which worker ran it. A single-instruction job samples its episode once
(``TaskSampler``: seed, set-up, instruction), then every controller starts from that same
saved state. A chain job gives every controller the same seed and first instruction; later
instructions follow from the state each controller left (CALVIN's protocol).
"""

from __future__ import annotations

from collections.abc import Callable

from robolang.evaluation import policies
from robolang.evaluation.privileged import PrivilegedController
from robolang.evaluation.rollout import (
    ChunkController,
    PolicyController,
    ScriptedController,
    ZeroController,
    run_episode,
    run_instruction,
)
from robolang.evaluation.sampler import TaskSampler, derive_seed
from robolang.grounding import GroundedController, MatcherPool

KINDS = ("checkpoint", "target", "scripted", "zero")


def build_controller(
    spec: dict,
    make_expert: Callable,
    device: str = "cpu",
    execution: str = "chunk",
    actions_per_chunk: int | None = None,
):
    """A controller from a spec of ``settings.controller_specs`` (kinds: ``KINDS``)."""
    kind = spec["kind"]
    if kind == "checkpoint":  # a privileged policy (its checkpoint says so) runs only with the scene state added
        policy = policies.load_policy(spec["path"], device, execution, actions_per_chunk)
        return PrivilegedController(policy) if policies.is_privileged(policy) else PolicyController(policy)
    if kind == "target":
        return ChunkController(policies.build_target(spec["target"]))
    if kind == "scripted":
        return ScriptedController(make_expert)
    if kind == "zero":
        return ZeroController()
    raise ValueError(f"unknown controller kind {kind!r}; kinds: {KINDS}")


class Workbench:
    """Robots (one per world, built on first use), a sampler per robot, and the controllers."""

    def __init__(self, cfg):
        from hydra.utils import instantiate

        self.cfg, self._instantiate = cfg, instantiate
        self.robots, self.samplers = {}, {}
        self.controllers = {
            s["name"]: build_controller(s, self.make_expert, cfg.torch_device, cfg.execution, cfg.actions_per_chunk)
            for s in cfg.controllers
        }
        if cfg.get("ground"):  # the policies hear the matcher's restatement (the references need no words)
            matchers = MatcherPool.on_default_encoder(cfg.get("match_cache"), cfg.get("match_tasks"))
            for s in cfg.controllers:
                if s["kind"] in ("checkpoint", "target"):
                    self.controllers[s["name"]] = GroundedController(self.controllers[s["name"]], matchers)

    def make_expert(self, robot):
        return self._instantiate(self.cfg.expert, robot=robot)

    def robot(self, world: str):
        if world not in self.robots:
            from omegaconf import OmegaConf

            conf = OmegaConf.to_container(self.cfg.robot, resolve=True)
            conf["config"]["world"] = OmegaConf.to_container(self.cfg.world_configs[world], resolve=True)
            robot = self._instantiate(conf, _convert_="all")
            for c in self.controllers.values():
                c = getattr(c, "inner", c)
                if isinstance(c, PolicyController):
                    c.policy.check_robot(robot.observation_features)  # a policy that does not fit fails early
            robot.connect()
            self.robots[world] = robot
            self.samplers[world] = TaskSampler(
                robot, self.make_expert(robot), self.cfg.max_tries,
                start_pose=self.cfg.start_pose, start_away_m=self.cfg.start_away_m,
                sets=OmegaConf.to_container(self.cfg.instruction_sets) if self.cfg.get("instruction_sets") else None,
            )  # fmt: skip
        return self.robots[world]

    def close(self) -> None:
        for robot in self.robots.values():
            robot.disconnect()
        self.robots.clear()

    # ---- jobs ----------------------------------------------------------------------------------
    def single(self, job: dict, frames_for: str | None = None) -> list[dict]:
        """Every controller (or only ``frames_for``, keeping frames) on one sampled episode."""
        robot, sampler = self.robot(job["world"]), self.samplers[job["world"]]
        sampled = sampler.sample(job["seed"], job["split"], job["task"])
        base = {k: job[k] for k in ("kind", "world", "task", "split", "index", "seed")}
        if sampled is None:
            return [{**base, "controller": None, "unavailable": True}]
        pick, state = sampled
        out = []
        for name, controller in self.controllers.items():
            if frames_for is not None and name != frames_for:
                continue
            r = run_episode(
                robot, controller, pick.instruction, pick.task_id, pick.args, pick.seed, self.cfg.max_steps,
                frames=frames_for is not None, start_state=state, label=name, trace=bool(self.cfg.get("trace")),
            )  # fmt: skip
            record = {**base, "controller": name, "args": list(pick.args), "episode_seed": pick.seed}
            out.append({**record, "instruction": pick.instruction, "success": bool(r.success), "steps": r.steps,
                        "closest_m": r.closest, "start_m": pick.start_m, "by_position": pick.by_position})  # fmt: skip
            if isinstance(controller, GroundedController):
                out[-1]["told"] = controller.told.get(pick.instruction)  # None: the words as said
            if r.estimate is not None:
                out[-1].update(
                    estimate_m=r.estimate, estimate_near_m=r.estimate_near, estimate_lifted_m=r.estimate_lifted
                )
            if r.trace is not None:
                out[-1]["trace"] = r.trace
            if frames_for is not None:
                out[-1]["frames"] = r.frames
        return out

    def chain(self, job: dict) -> list[dict]:
        """Every controller on a chain of up to ``chain_length`` instructions from one seed."""
        robot, sampler = self.robot(job["world"]), self.samplers[job["world"]]
        out = []
        for name, controller in self.controllers.items():
            robot.reset(job["seed"])
            done, steps, said, previous = 0, [], [], None
            for k in range(self.cfg.chain_length):
                pick = sampler.next(derive_seed(job["seed"], k), job["split"], previous)
                if pick is None:
                    break
                controller.reset()
                r = run_instruction(robot, controller, pick.instruction, pick.task_id, pick.args, pick.seed,
                                    self.cfg.max_steps, label=name)  # fmt: skip
                said.append({"task": pick.task_id, "args": list(pick.args), "instruction": pick.instruction})
                steps.append(r.steps)
                if not r.success:
                    break
                done, previous = done + 1, pick.task_id
            base = {k: job[k] for k in ("kind", "world", "split", "index", "seed")}
            out.append({**base, "controller": name, "completed": done, "steps": steps, "instructions": said})
        return out


def evaluate_jobs(plain: dict, jobs: list[dict], report: Callable[[list], None] | None = None) -> list[dict]:
    """Run ``jobs`` (dicts from ``suite.plan``) with the controllers of ``plain``; one record per
    controller and job. ``report(records)`` is given each job's records as soon as it ends."""
    import multiprocessing
    import signal

    import torch
    from omegaconf import OmegaConf

    if multiprocessing.parent_process() is not None:  # a spawned worker: Ctrl-C is the parent's to handle
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    # One thread per rollout process everywhere (in-process, workers, Ray, the report's video
    # re-runs): float sums depend on the thread count, and closed-loop control amplifies them.
    torch.set_num_threads(int(plain.get("torch_threads") or 1))
    bench = Workbench(OmegaConf.create(plain))
    records = []
    try:
        for job in jobs:
            done = bench.single(job) if job["kind"] == "single" else bench.chain(job)
            records += done
            if report is not None:
                report(done)
    finally:
        bench.close()
    return records
