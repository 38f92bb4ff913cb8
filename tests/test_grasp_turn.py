"""The hand's turn since its fingers closed on something (``policy.grasp_turn``): proprioception
only, computed alike from recorded frames in training and step by step at inference."""

import numpy as np
import pytest
import torch
from test_policy_data import FakeInstructions
from test_policy_state import FIELDS, _fit, _tiny_policy, _train, labelled  # noqa: F401 (module fixture)

from robolang.features import KEY_SCENE_STATE, STATE_DIM, STATE_NAMES
from robolang.policy import batch as B
from robolang.policy import load_policy
from robolang.policy.estimated_state import EstimatedStatePolicy
from robolang.policy.grasp_turn import GraspTurn, grasp_runs, grasp_turn_of_frames
from robolang.policy.state_data import SceneStateDataset

WIDTH, YAW = STATE_NAMES.index("gripper.width"), STATE_NAMES.index("ee.yaw")
OPEN, SHUT, CUBE = 0.08, 0.0, 0.04  # finger openings: open, closed on nothing, closed on a 4 cm cube


def _states(widths, yaws) -> np.ndarray:
    state = np.zeros((len(widths), STATE_DIM), np.float32)
    state[:, WIDTH], state[:, YAW] = widths, yaws
    return state


def test_a_grasp_run_begins_where_the_fingers_close_on_something_and_again_in_each_episode():
    widths = [OPEN, CUBE, CUBE, SHUT, CUBE, OPEN, CUBE, CUBE, CUBE]
    first = np.zeros(len(widths), bool)
    first[[0, 7]] = True  # a second episode starts at frame 7, the fingers still closed from the first
    runs = grasp_runs(_states(widths, np.zeros(len(widths))), first)
    assert runs.tolist() == [-1, 1, 1, -1, 4, -1, 6, 7, 7]


def test_the_turn_is_the_hand_s_yaw_since_the_grasp_wrapped_across_pi():
    tracker = GraspTurn()
    assert tracker.update(_states([OPEN], [3.0])[0]).tolist() == [0.0, 0.0, 0.0]  # nothing held
    assert np.allclose(tracker.update(_states([CUBE], [3.0])[0]), [1.0, 0.0, 1.0])  # closes: no turn yet
    turned = tracker.update(_states([CUBE], [-3.0])[0])  # 3.0 -> -3.0 rad is +0.28 rad, through pi
    assert np.allclose(turned, [1.0, np.sin(2 * np.pi - 6.0), np.cos(2 * np.pi - 6.0)], atol=1e-5)
    assert tracker.update(_states([SHUT], [-3.0])[0]).tolist() == [0.0, 0.0, 0.0]  # shut on nothing: dropped


@pytest.mark.parametrize("seed", range(5))
def test_training_frames_give_what_inference_computes_step_by_step_from_the_instruction_s_first_frame(seed):
    rng = np.random.default_rng(seed)
    n = 300
    widths = rng.choice([OPEN, SHUT, CUBE, 0.02], size=n, p=[0.2, 0.1, 0.6, 0.1])
    widths = np.repeat(widths[: n // 6], 6)  # runs of six frames: grasps that last
    state = _states(widths, np.cumsum(rng.normal(0, 0.3, n)))
    first = np.zeros(n, bool)
    first[[0, 150]] = True
    runs = grasp_runs(state, first)
    held_anywhere = False
    for start, end in ((0, 60), (13, 150), (151, 300), (40, 41), (200, 260)):
        tracker = GraspTurn()  # reset when the instruction begins
        stepwise = np.stack([tracker.update(state[t]) for t in range(start, end)])
        frames = grasp_turn_of_frames(state, runs, np.arange(start, end), np.int64(start))
        np.testing.assert_allclose(frames, stepwise, atol=1e-6)
        held = (widths[start:end] > SHUT + 0.005) & (widths[start:end] < OPEN - 0.005)  # 2 or 4 cm
        held_anywhere |= bool(held.any())
        assert np.all(stepwise[~held] == 0) and np.allclose(np.hypot(*stepwise[held, 1:].T), 1.0)
    assert held_anywhere  # the draw held something, so the turns above were compared


def test_batches_carry_the_grasp_turn_of_each_observed_frame_since_its_segment_began(labelled):  # noqa: F811
    data = SceneStateDataset(labelled, FakeInstructions(), n_obs_steps=2, chunk_size=4, val_fraction=0.0)
    draw = data.draw(8, np.random.default_rng(3))
    batch = data.collate(draw)
    assert batch[B.GRASP_TURN].shape == (8, 2, 3) and batch[B.GRASP_TURN].dtype == torch.float32
    for i in range(8):
        start, t = int(data._start[draw.segment[i]]), int(draw.t[i])
        tracker = GraspTurn()
        for frame in range(start, t + 1):
            expected = tracker.update(data.frames.state[frame])
        np.testing.assert_allclose(batch[B.GRASP_TURN][i, -1].numpy(), expected, atol=1e-6)


def test_the_grasp_turn_lets_the_policy_tell_turned_enough_from_not_yet(labelled):  # noqa: F811
    """The same scene and hand, turned 0.8 rad since the grasp (let go: -1) or not yet (keep
    turning: +1). Only a policy that reads the turn can fit both."""
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(1, np.random.default_rng(0))
    batch = {k: v.expand(2, *v.shape[1:]).clone() for k, v in batch.items()}
    batch[B.GRASP_TURN][0, :] = torch.tensor([1.0, np.sin(0.8), np.cos(0.8)])
    batch[B.GRASP_TURN][1, :] = torch.tensor([1.0, 0.0, 1.0])
    batch[B.ACTION_PAD][:] = False
    batch[B.ACTION][:, :, 4] = torch.tensor([-1.0, 1.0])[:, None]
    answers = {}
    for reads in (False, True):
        torch.manual_seed(0)
        answers[reads] = _fit(_tiny_policy(data, grasp_turn=reads), batch, steps=400)[:, :, 4].mean(1)
    assert answers[True][0] < -0.8 and answers[True][1] > 0.8
    assert (answers[False] - answers[False].mean()).abs().max() < 0.1  # one answer for both


def test_a_policy_reading_it_follows_the_hand_at_every_step_between_chunks(labelled, tmp_path):  # noqa: F811
    out = tmp_path / "grasp"
    assert _train(labelled, out, "policy.grasp_turn=true") == 0
    policy = load_policy(out)
    assert policy.chunk_size == 4
    seen = []
    forward = policy.policy.forward
    policy.policy.forward = lambda batch: seen.append(batch[B.GRASP_TURN].clone()) or forward(batch)

    def observe(width, yaw):
        state = np.zeros(STATE_DIM, np.float32)
        state[WIDTH], state[YAW] = width, yaw
        return {"observation.state": state, KEY_SCENE_STATE: np.zeros(len(FIELDS), np.float32)}

    steps = [(OPEN, 0.0), (CUBE, 0.1), (CUBE, 0.2), (CUBE, 0.3), (CUBE, 0.6), (OPEN, 0.6), (CUBE, 0.6), (CUBE, 0.9)]
    for width, yaw in steps:  # chunks of 4: predictions at steps 0 and 4, the rest observed
        policy.select_action(observe(width, yaw), "turn the red cube left")
    policy.select_action(observe(CUBE, 1.0), "lift the red cube")  # a new instruction: counts from here
    turns = [float(np.arctan2(s[0, -1, 1], s[0, -1, 2])) for s in seen]
    assert [float(s[0, -1, 0]) for s in seen] == [0.0, 1.0, 1.0]
    assert np.allclose(turns, [0.0, 0.5, 0.0], atol=1e-5)  # 0.6 - 0.1: the grasp was seen between chunks


def test_the_composed_policy_passes_the_steps_between_chunks_to_its_state_policy():
    followed = []

    class StatePolicy:
        def track(self, observation):
            followed.append(observation["observation.state"][WIDTH])

    composed = EstimatedStatePolicy.__new__(EstimatedStatePolicy)  # only what observe touches
    composed.state_policy = StatePolicy()
    composed.observe({"observation.state": _states([CUBE], [0.0])[0]})
    assert followed == [pytest.approx(CUBE)]


def test_a_batch_without_the_grasp_turn_is_refused_by_a_policy_reading_it(labelled):  # noqa: F811
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(2, np.random.default_rng(0))
    del batch[B.GRASP_TURN]
    with pytest.raises(KeyError, match="grasp_turn"):
        _tiny_policy(data, grasp_turn=True).compute_loss(batch)


@pytest.mark.parametrize("option", ["grasp_turn", "start_scene"])
def test_a_grasp_turn_or_start_scene_that_is_not_true_or_false_is_refused(labelled, option):  # noqa: F811
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    with pytest.raises(ValueError, match=f"policy.{option}='yes' is not allowed: it must be true or false"):
        _tiny_policy(data, **{option: "yes"})
