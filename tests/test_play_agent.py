"""The scripted play agent (sim/play): determinism, bounded actions, long runs that never get
stuck, skill levels, intents, and the independent success checks (table-driven)."""

from __future__ import annotations

import numpy as np
import pybullet as pb
import pytest

from robolang.robot import EEDeltaLimits
from sim import assets
from sim.play import (
    BEHAVIOURS,
    DIRECTIONS,
    PHASES,
    TARGETS,
    Intent,
    ScriptedPlayAgent,
    checks,
    decode_intent,
    format_success_table,
    measure_success,
    skill_profile,
)
from sim.play import agent as agent_module
from sim.play.agent import MAX_BEHAVIOUR_STEPS
from sim.play.choices import feasible_choices
from sim.play.expert import _wanted
from sim.play.measure import MEASURE_SCENE, merge, run_agent
from sim.play.vocab import ARGS, behaviour_of_code
from sim.scene import PlayTableScene

LIMITS = EEDeltaLimits()


def play(scene: PlayTableScene, agent: ScriptedPlayAgent, steps: int) -> tuple[np.ndarray, list[int]]:
    actions, codes = [], []
    for _ in range(steps):
        a = agent.act()
        actions.append(a)
        codes.append(agent.intent_code())
        scene.step(LIMITS.scale(a))
    return np.asarray(actions), codes


@pytest.fixture
def scene():
    s = PlayTableScene(MEASURE_SCENE)
    s.reset(0)
    yield s
    s.close()


@pytest.fixture(scope="module")
def expert_run():
    """One expert run shared by several tests (the costly part of this file)."""
    return run_agent("expert", 2000, seed=0)


@pytest.fixture(scope="module")
def sloppy_run():
    return run_agent("sloppy", 1500, seed=3)


# ---- acting ------------------------------------------------------------------------------------
def test_same_seed_gives_the_same_actions():
    runs = []
    for _ in range(2):
        s = PlayTableScene(MEASURE_SCENE)
        s.reset(5)
        runs.append(play(s, ScriptedPlayAgent(s, "good", seed=5), 200))
        s.close()
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_another_seed_plays_differently(scene):
    first, _ = play(scene, ScriptedPlayAgent(scene, "expert", seed=0), 60)
    scene.reset(0)
    second, _ = play(scene, ScriptedPlayAgent(scene, "expert", seed=1), 60)
    assert not np.array_equal(first, second)


def test_actions_are_finite_normalized_float32(scene):
    agent = ScriptedPlayAgent(scene, "sloppy", seed=2)
    actions, _ = play(scene, agent, 300)
    assert actions.shape == (300, 5) and actions.dtype == np.float32
    assert np.all(np.isfinite(actions)) and np.all(np.abs(actions) <= 1.0)


def test_a_long_run_keeps_going_and_never_gets_stuck(sloppy_run):
    history = sloppy_run.history
    assert len(history) > 15
    assert history[0].start_step == 0
    for before, after in zip(history, history[1:], strict=False):
        assert before.end_step == after.start_step  # behaviours follow each other, no gaps
    assert max(r.end_step - r.start_step for r in history) <= MAX_BEHAVIOUR_STEPS
    assert len({r.behaviour for r in history}) >= 6  # it plays with many things


def test_the_agent_recovers_from_objects_in_odd_places(scene):
    # One block knocked off the table, one left high in the air, the drawer open wide.
    pb.resetBasePositionAndOrientation(
        scene.bodies["red_cube"], [1.5, 0.9, -0.5], [0, 0, 0, 1], physicsClientId=scene.client
    )
    pb.resetBasePositionAndOrientation(
        scene.bodies["blue_bar"], [0.45, 0.1, 0.3], [0, 0, 0, 1], physicsClientId=scene.client
    )
    pb.resetJointState(scene.desk, scene.desk_joints["drawer"], 0.16, physicsClientId=scene.client)
    agent = ScriptedPlayAgent(scene, "expert", seed=4)
    play(scene, agent, 500)
    assert len(agent.history) >= 5
    assert all(r.target != "red_cube" for r in agent.history)  # unreachable: never chosen


def test_actions_drive_the_lerobot_robot():
    from sim.robot import PlayTableRobot, PlayTableRobotConfig

    robot = PlayTableRobot(PlayTableRobotConfig(static_width=16, static_height=16, wrist_width=16, wrist_height=16))
    robot.connect()
    try:
        agent = ScriptedPlayAgent(robot.scene, "expert", seed=0, limits=robot.limits)
        for _ in range(30):
            robot.send_action(agent.act())
        assert not any(robot.last_clipped.values())
        assert agent.intent.behaviour in BEHAVIOURS
    finally:
        robot.disconnect()


# ---- success --------------------------------------------------------------------------------
def test_an_expert_completes_several_kinds_of_behaviour(expert_run):
    history = expert_run.history
    done = {r.behaviour for r in history if r.success}
    assert len(done) >= 8, f"only {sorted(done)} succeeded"
    assert sum(r.success for r in history) >= 0.85 * len(history)


def test_sloppy_play_fails_and_retries_more_than_expert_play(expert_run, sloppy_run):
    def rate(history):
        return sum(r.success for r in history) / len(history)

    assert rate(sloppy_run.history) < rate(expert_run.history)
    retried = lambda history: sum(r.retries for r in history) / len(history)  # noqa: E731
    assert retried(sloppy_run.history) > retried(expert_run.history)


def test_skill_scales_noise_hesitation_and_missed_grasps(scene):
    expert, sloppy = skill_profile("expert"), skill_profile("sloppy")
    assert expert.action_noise == 0.0 and expert.grasp_offset_m == 0.0 and expert.hesitate_per_step == 0.0
    assert sloppy.action_noise > skill_profile("good").action_noise > 0.0
    assert sloppy.grasp_offset_m > 0.01 and sloppy.hesitate_at_phase > 0.0
    assert skill_profile(0.6) == skill_profile("good")
    with pytest.raises(ValueError, match="skill"):
        skill_profile(1.5)
    with pytest.raises(ValueError, match="unknown skill level"):
        skill_profile("clumsy")
    # The sloppy agent's commands jitter; the expert's move smoothly.
    smooth, _ = play(scene, ScriptedPlayAgent(scene, "expert", seed=1), 150)
    scene.reset(0)
    shaky, codes = play(scene, ScriptedPlayAgent(scene, 0.0, seed=1), 150)
    roughness = lambda a: np.abs(np.diff(a[:, :3], axis=0)).mean()  # noqa: E731
    assert roughness(shaky) > 2 * roughness(smooth)


def test_measure_success_counts_attempts_and_successes():
    counts = measure_success("expert", 300, seed=1)
    assert counts and all(b in BEHAVIOURS for b in counts)
    assert all(0 <= s <= a for a, s in counts.values())
    table = format_success_table({"expert": counts, "twice": merge([counts, counts])})
    assert "behaviour" in table and "expert" in table and "all" in table.splitlines()[-1]


@pytest.mark.slow
def test_expert_success_rate_per_behaviour_is_at_least_80_percent():
    """The issue's target, measured as in the report (3 seeds x 3000 steps)."""
    counts = merge(measure_success("expert", 3000, seed) for seed in (0, 1, 2))
    print("\n" + format_success_table({"expert": counts}))
    for behaviour, (attempted, succeeded) in counts.items():
        if attempted >= 5:
            assert succeeded >= 0.8 * attempted, f"{behaviour}: {succeeded}/{attempted}"


# ---- intents ----------------------------------------------------------------------------------
def test_intent_codes_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        intent = Intent(
            behaviour=str(rng.choice(BEHAVIOURS)),
            target=str(rng.choice(TARGETS)),
            arg=str(rng.choice(ARGS)),
            phase=str(rng.choice(PHASES)),
            attempt=int(rng.integers(-1, 10**6)),
            retry=int(rng.integers(0, 8)),
        )
        assert decode_intent(intent.code) == intent
        assert behaviour_of_code(np.array([intent.code]))[0] == BEHAVIOURS.index(intent.behaviour)
    assert Intent().code == 0 and decode_intent(0) == Intent()
    assert Intent(arg="left").direction == "left" and Intent(arg="plate").direction is None


def test_intents_follow_the_behaviours_being_played(scene):
    agent = ScriptedPlayAgent(scene, "expert", seed=0)
    assert agent.intent == Intent()
    _, codes = play(scene, agent, 400)
    intents = [decode_intent(c) for c in codes]
    for record in (r for r in agent.history if r.end_step > r.start_step):
        during = intents[record.start_step : record.end_step]
        assert {i.behaviour for i in during} == {record.behaviour}
        assert {i.attempt for i in during} == {record.attempt}
        assert {i.target for i in during} == {record.target}
    assert {i.phase for i in intents} >= {"approach", "descend"}


# ---- independent success checks on synthetic states ------------------------------------------------
OBJ_Z = {o: checks.SPECS[o].half_height for o in checks.SPECS}


def state(objects=None, contacts=(), drawer=0.0, slider=0.0, light=False, ee=(0.45, 0.0, 0.3), width=0.08):
    """A scene state as ``PlayTableScene.scene_state()`` gives; objects default to resting apart."""
    poses = {
        "red_cube": (0.40, -0.15, OBJ_Z["red_cube"]),
        "green_cube": (0.40, 0.15, OBJ_Z["green_cube"]),
        "blue_bar": (0.55, 0.15, OBJ_Z["blue_bar"]),
        "yellow_cylinder": (0.55, -0.15, OBJ_Z["yellow_cylinder"]),
        "plate": (0.48, 0.0, OBJ_Z["plate"]),
    }
    yaws = dict.fromkeys(poses, 0.0)
    for name, value in (objects or {}).items():
        poses[name], yaws[name] = value if isinstance(value[0], tuple) else (value, 0.0)
    resting = {tuple(sorted((n, "table"))) for n, p in poses.items() if abs(p[2] - OBJ_Z[n]) < 1e-6}
    return {
        "objects": {
            n: {"pos": p, "quat": tuple(pb.getQuaternionFromEuler((0, 0, yaws[n]))), "yaw": yaws[n]}
            for n, p in poses.items()
        },
        "fixtures": {"drawer": drawer, "slider": slider, "button": 0.0},
        "light_on": light,
        "robot": {"ee_pos": ee, "ee_yaw": 0.0, "gripper_width": width},
        "contacts": sorted(resting | {tuple(sorted(c)) for c in contacts}),
    }


def tilted(s: dict, name: str = "yellow_cylinder", deg: float = 90.0) -> dict:
    """``s`` with ``name`` turned ``deg`` about the x axis (90: lying on its side)."""
    s["objects"][name]["quat"] = tuple(pb.getQuaternionFromEuler((np.deg2rad(deg), 0, 0)))
    return s


ON_PLATE = (0.49, 0.01, 0.012 + OBJ_Z["red_cube"])
ON_GREEN = (0.405, 0.15, 0.055 + OBJ_Z["red_cube"])
HELD_HIGH = (0.45, 0.0, 0.15)
IN_DRAWER = (0.55, -0.30, 0.027 + OBJ_Z["red_cube"])  # drawer open 0.16
DRAWER_CONTACT = [("red_cube", "drawer")]
PLATE_CONTACT = [("red_cube", "plate")]
STACK_CONTACT = [("red_cube", "green_cube")]
GRIPPED = [("gripper", "red_cube")]

CASES = [
    # behaviour, start, end, target, arg, expected
    ("reach", state(), state(ee=(0.40, -0.15, 0.08)), "red_cube", "none", True),
    ("reach", state(), state(ee=(0.40, -0.05, 0.08)), "red_cube", "none", False),  # 10 cm off
    ("reach", state(), state(ee=(0.40, -0.15, 0.25)), "red_cube", "none", False),  # far above
    ("grasp", state(), state(contacts=GRIPPED, width=0.04), "red_cube", "none", True),
    ("grasp", state(), state(contacts=GRIPPED, width=0.0), "red_cube", "none", False),  # shut on nothing
    ("grasp", state(), state(width=0.04), "red_cube", "none", False),  # no contact
    ("lift", state(), state({"red_cube": HELD_HIGH}, GRIPPED, width=0.04), "red_cube", "none", True),
    ("lift", state(), state(contacts=GRIPPED, width=0.04), "red_cube", "none", False),  # still down
    ("lift", state(), state({"red_cube": HELD_HIGH}), "red_cube", "none", False),  # not held: flying
    ("carry", state(), state({"red_cube": (0.40, 0.0, OBJ_Z["red_cube"])}), "red_cube", "none", True),
    ("carry", state(), state({"red_cube": (0.40, -0.10, OBJ_Z["red_cube"])}), "red_cube", "none", False),
    ("carry", state(), state({"red_cube": HELD_HIGH}, GRIPPED, width=0.04), "red_cube", "none", False),
    ("place_on_plate", state(), state({"red_cube": ON_PLATE}, PLATE_CONTACT), "red_cube", "none", True),
    ("place_on_plate", state(), state({"red_cube": ON_PLATE}), "red_cube", "none", False),  # no contact
    ("place_on_plate", state(), state({"red_cube": (0.58, 0.0, 0.03)}, PLATE_CONTACT), "red_cube", "none", False),
    (
        "place_on_plate",
        state(),
        state({"red_cube": ON_PLATE}, PLATE_CONTACT + GRIPPED, width=0.04),
        "red_cube",
        "none",
        False,
    ),
    ("put_in_drawer", state(), state({"red_cube": IN_DRAWER}, DRAWER_CONTACT, drawer=0.16), "red_cube", "none", True),
    ("put_in_drawer", state(), state({"red_cube": IN_DRAWER}, DRAWER_CONTACT, drawer=0.0), "red_cube", "none", False),
    ("stack", state(), state({"red_cube": ON_GREEN}, STACK_CONTACT), "red_cube", "green_cube", True),
    ("stack", state(), state({"red_cube": (0.44, 0.15, 0.02)}, STACK_CONTACT), "red_cube", "green_cube", False),
    ("stack", state(), state({"red_cube": ON_GREEN}), "red_cube", "green_cube", False),  # no contact
    ("unstack", state({"red_cube": ON_GREEN}, STACK_CONTACT), state(), "red_cube", "green_cube", True),
    ("unstack", state(), state(), "red_cube", "green_cube", False),  # was not stacked
    (
        "unstack",
        state({"red_cube": ON_GREEN}, STACK_CONTACT),
        state({"red_cube": ON_GREEN}, STACK_CONTACT),
        "red_cube",
        "green_cube",
        False,
    ),
    ("push", state(), state({"red_cube": (0.40, -0.08, OBJ_Z["red_cube"])}), "red_cube", "left", True),
    ("push", state(), state({"red_cube": (0.40, -0.08, OBJ_Z["red_cube"])}), "red_cube", "right", False),
    ("push", state(), state({"red_cube": (0.47, -0.15, OBJ_Z["red_cube"])}), "red_cube", "forward", True),
    ("push", state(), state({"red_cube": (0.43, -0.15, OBJ_Z["red_cube"])}), "red_cube", "forward", False),  # 3 cm
    ("rotate", state(), state({"red_cube": ((0.40, -0.15, 0.02), 0.8)}), "red_cube", "left", True),
    ("rotate", state(), state({"red_cube": ((0.40, -0.15, 0.02), 0.8)}), "red_cube", "right", False),
    (
        "rotate",
        state({"red_cube": ((0.40, -0.15, 0.02), 3.0)}),
        state({"red_cube": ((0.40, -0.15, 0.02), -2.5)}),
        "red_cube",
        "left",
        True,
    ),  # across +-pi
    ("rotate", state(), state({"red_cube": ((0.40, -0.15, 0.02), 0.3)}), "red_cube", "left", False),  # 17 deg
    ("open_drawer", state(drawer=0.0), state(drawer=0.12), "drawer", "none", True),
    ("open_drawer", state(drawer=0.0), state(drawer=0.03), "drawer", "none", False),
    ("close_drawer", state(drawer=0.12), state(drawer=0.0), "drawer", "none", True),
    ("close_drawer", state(drawer=0.12), state(drawer=0.15), "drawer", "none", False),
    ("slide_door", state(slider=0.0), state(slider=0.1), "door", "forward", True),
    ("slide_door", state(slider=0.0), state(slider=0.1), "door", "back", False),
    ("slide_door", state(slider=0.12), state(slider=0.02), "door", "back", True),
    ("press_button", state(light=False), state(light=True), "button", "none", True),
    ("press_button", state(light=True), state(light=True), "button", "none", False),
    ("pause", state(), state(ee=(0.455, 0.0, 0.3)), "none", "none", True),
    ("pause", state(), state(ee=(0.50, 0.0, 0.3)), "none", "none", False),
    ("wander", state(), state(ee=(0.45, 0.2, 0.25)), "none", "none", True),
    ("wander", state(), state({"red_cube": (0.40, -0.10, 0.02)}, ee=(0.45, 0.2, 0.25)), "none", "none", False),
    ("wander", state(), state(ee=(0.45, 0.02, 0.3)), "none", "none", False),
    ("topple", state(), tilted(state()), "yellow_cylinder", "left", True),
    ("topple", state(), tilted(state(), deg=65), "yellow_cylinder", "left", True),
    ("topple", tilted(state(), deg=180), tilted(state()), "yellow_cylinder", "left", True),  # stood on its top
    ("topple", state(), tilted(state(), deg=40), "yellow_cylinder", "left", False),  # leaning, not lying
    ("topple", tilted(state(), deg=30), tilted(state()), "yellow_cylinder", "left", False),  # was not standing
    ("topple", tilted(state()), tilted(state()), "yellow_cylinder", "left", False),  # already lying
    (
        "topple",
        state(),
        tilted(state(contacts=[("gripper", "yellow_cylinder")], width=0.04)),
        "yellow_cylinder",
        "left",
        False,
    ),  # held
]


@pytest.mark.parametrize(("behaviour", "start", "end", "target", "arg", "expected"), CASES)
def test_success_checks(behaviour, start, end, target, arg, expected):
    assert checks.check(behaviour, start, end, target, arg) is expected


def test_every_behaviour_has_a_check_and_every_direction_a_vector():
    assert set(checks.CHECKS) == set(BEHAVIOURS) - {"none"}
    assert all(np.isclose(np.linalg.norm(v), 1.0) for v in DIRECTIONS.values())


# ---- toppling ---------------------------------------------------------------------------------------
def topple_first(monkeypatch) -> None:
    """Make the agent choose a topple whenever one is feasible."""
    plain = agent_module.choose

    def choose(choices, rng, previous=None):
        topples = [c for c in choices if c.behaviour == "topple"]
        return topples[int(rng.integers(len(topples)))] if topples else plain(choices, rng, previous)

    monkeypatch.setattr(agent_module, "choose", choose)


@pytest.mark.parametrize("seed", [1, 3, 10, 16])  # falls left, back, forward, right
def test_a_seeded_topple_knocks_the_cylinder_over_and_the_captioner_agrees(monkeypatch, seed):
    from robolang.captioning.config import CaptionConfig
    from robolang.captioning.states import EpisodeStates, SceneInfo
    from robolang.captioning.tasks import BY_ID
    from sim.robot import PlayTableRobot
    from sim.state import SceneVector

    topple_first(monkeypatch)
    scene = PlayTableScene(MEASURE_SCENE)
    try:
        scene.reset(seed)
        assert any(c.behaviour == "topple" for c in feasible_choices(scene.scene_state()))
        agent = ScriptedPlayAgent(scene, "expert", seed=seed)
        fields = SceneVector(tuple(o.name for o in assets.OBJECTS)).fields
        frames, intents = [scene.scene_vector()], []
        while not agent.history:
            scene.step(LIMITS.scale(agent.act()))
            frames.append(scene.scene_vector())
            intents.append(agent.intent)
        for _ in range(10):  # let it lie still: the captioner asks for an object at rest
            scene.step(LIMITS.scale(agent.act()))
            frames.append(scene.scene_vector())
    finally:
        scene.close()
    record = agent.history[0]
    assert (record.behaviour, record.target, record.success) == ("topple", "yellow_cylinder", True)
    assert record.args["direction"] in DIRECTIONS
    during = intents[record.start_step : record.end_step - 1]
    assert {i.behaviour for i in during} == {"topple"} and "push" in {i.phase for i in during}
    # The captioner's predicate, on the recorded scene states, sees the same topple.
    states = EpisodeStates(np.stack(frames), fields, SceneInfo.from_description(PlayTableRobot().scene_description()))
    topple, cfg, args = BY_ID["topple"], CaptionConfig(), ("yellow_cylinder",)
    assert topple.holds(states, record.start_step, len(frames) - 1, args, cfg)
    assert not topple.holds(states, record.start_step, record.start_step + 1, args, cfg)


def test_a_lying_cylinder_is_never_toppled_and_play_goes_on(scene):
    """After a topple nothing stands the cylinder up again: it is played with lying down."""
    c = scene.client
    cylinder = scene.bodies["yellow_cylinder"]
    p, _ = pb.getBasePositionAndOrientation(cylinder, physicsClientId=c)
    lying = pb.getQuaternionFromEuler((np.pi / 2, 0, 0))
    pb.resetBasePositionAndOrientation(cylinder, [p[0], p[1], 0.021], lying, physicsClientId=c)
    assert not any(ch.behaviour == "topple" for ch in feasible_choices(scene.scene_state()))
    agent = ScriptedPlayAgent(scene, "expert", seed=3)
    play(scene, agent, 1200)
    history = agent.history
    assert len(history) >= 10 and all(r.behaviour != "topple" for r in history)
    assert sum(r.success for r in history) >= 0.85 * len(history)


@pytest.mark.parametrize(
    "where, contacts, wanted",
    [
        (HELD_HIGH, GRIPPED, True),  # lifted: put it down
        (None, GRIPPED, False),  # closed on it where it rests: the judge's put_down cannot start there
        ((0.45, 0.0, OBJ_Z["red_cube"] + 0.03), GRIPPED, False),  # 3 cm up: a hop, not in the air
        (HELD_HIGH, [*GRIPPED, ("green_cube", "red_cube")], False),  # in the hand but against another object
        (HELD_HIGH, [], False),  # up there but not held
    ],
)
def test_the_expert_puts_down_only_what_it_holds_in_the_air(where, contacts, wanted):
    """Its put-down starts where the captioner's does (``held_in_air`` at the first frame); it took
    any object in the hand, so an object gripped on the table was 'put down' and judged a failure."""
    s = state({"red_cube": where} if where else None, contacts=contacts, width=0.04)
    assert checks.in_the_air(s, "red_cube") == wanted
    assert bool(_wanted("put_down", ("red_cube",), s)) == wanted
