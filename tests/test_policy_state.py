"""The PRIVILEGED state policy: trained from the recorded scene state (no video decoded), loaded
like every policy, run by evaluation only through its PrivilegedController, refused everywhere else."""

import json
import re

import numpy as np
import pytest
import torch
from helpers import synthetic
from helpers.eval_robot import connected_robot
from test_eval_controllers import QUICK, SMALL
from test_policy_data import FakeInstructions

from robolang import cli
from robolang.captioning import annotations
from robolang.captioning.states import SCENE_FILE
from robolang.config import load_config
from robolang.errors import RobolangError
from robolang.evaluation.privileged import PrivilegedController
from robolang.evaluation.rollout import PolicyController, run_episode
from robolang.features import CAMERA_NAMES, KEY_ACTION, KEY_SCENE_STATE, STATE_DIM, STATE_NAMES
from robolang.policy import CheckpointError, load_policy
from robolang.policy import batch as B
from robolang.policy.checkpoint import load_checkpoint, save_checkpoint
from robolang.policy.data import positional_pool, still_frames
from robolang.policy.inference import PrivilegedObservationError
from robolang.policy.registry import build_policy
from robolang.policy.scene_layout import SceneLayout, field_difference
from robolang.policy.state_data import SceneStateDataset, pointer_labels
from robolang.policy.state_policy import PrivilegedStatePolicy
from robolang.testing.scene_states import PLAY_TABLE, scene_state_fields

FIELDS = scene_state_fields(tuple(o["name"] for o in PLAY_TABLE["objects"]))  # the sim's, in its order
TINY = ["policy.d_model=32", "policy.n_layers=1", "policy.n_heads=2", "policy.chunk_size=4", "train.batch_size=4",
        "train.warmup_steps=1", "train.log_every=1", "train.val_every=2", "train.val_batches=1",
        "train.checkpoint_every=2", "data.val_fraction=0.3", "data.phrasings_per_task=4"]  # fmt: skip
ROWS = [
    {"episode_index": e, "start_frame": s, "end_frame": s + 8, "task_id": task, "args": args,
     "instruction": f"{task} number {e}", "source": "oracle", "split": "train", "captioner_version": "t"}
    for e in range(3) for s, task, args in ((2, "open_drawer", ""), (20, "lift", "red_cube"))
]  # fmt: skip


def _labelled(root, scene_fields=FIELDS, still=lambda k: False):
    """Three episodes of 40 random frames; frame k's action is a pause (no motion, the gripper
    command kept) where ``still(k)``."""
    st = synthetic.store(root, scene_fields=scene_fields)
    rng = np.random.default_rng(0)
    for e in range(3):
        st.begin_episode()
        previous = np.zeros(5, np.float32)
        for k in range(40):
            frame = synthetic.frame(rng, e, len(scene_fields or ()))
            if not scene_fields:
                del frame[KEY_SCENE_STATE]
            if still(k):
                frame[KEY_ACTION] = np.array([0, 0, 0, 0, previous[4]], np.float32)
            previous = frame[KEY_ACTION]
            st.add_frame(frame)
        st.end_episode()
    st.close()
    annotations.save(root, annotations.rows_from(ROWS), extra_files={SCENE_FILE: json.dumps(PLAY_TABLE).encode()})
    return root


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return _labelled(tmp_path_factory.mktemp("state") / "play")


@pytest.fixture(scope="module")
def trained(labelled, tmp_path_factory):
    """A privileged policy trained 4 steps by `robolang train policy=privileged_state`."""
    out = tmp_path_factory.mktemp("state_run") / "run"
    cache = out.parent / "frames"
    assert _train(labelled, out, f"cache_dir={cache}") == 0
    assert not cache.exists()  # no frame cache: not one video frame was decoded
    return out


def _train(dataset, out, *extra):
    return cli.main(["train", "policy=privileged_state", f"dataset={dataset}", f"out={out}", "train.steps=4",
                     *TINY, *extra])  # fmt: skip


def test_the_layout_reads_objects_fixtures_and_contacts_from_the_field_names():
    layout = SceneLayout.from_fields(FIELDS)
    assert layout.objects == ("red_cube", "green_cube", "blue_bar", "yellow_cylinder", "plate")
    assert layout.fixtures == ("drawer.pos", "slider.pos", "button.pos", "light.on")
    assert "gripper" in layout.contact_entities
    red, gripper = layout.objects.index("red_cube"), layout.contact_entities.index("gripper")
    assert FIELDS[layout.contacts[red, gripper]] == "contact.red_cube.gripper"
    assert layout.contacts[red, layout.contact_entities.index("red_cube")] == -1  # never with itself
    assert FIELDS[layout.contacts[layout.objects.index("plate"), 0]] == "contact.red_cube.plate"  # either order
    assert sorted(FIELDS[c] for c in layout.normalized_columns)[:3] == ["blue_bar.x", "blue_bar.y", "blue_bar.z"]
    assert "light.on" not in {FIELDS[c] for c in layout.normalized_columns}
    with pytest.raises(ValueError, match="no end-effector position"):
        SceneLayout.from_fields(("a.x", "a.y"))


def test_batches_carry_the_recorded_scene_state_and_no_image(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), n_obs_steps=2, chunk_size=4, val_fraction=0.0)
    draw = data.draw(6, np.random.default_rng(3))
    batch = data.collate(draw)
    assert not set(B.IMAGE_KEYS) & set(batch)
    assert batch[B.SCENE_STATE].shape == (6, 2, len(FIELDS)) and batch[B.STATE].shape == (6, 2, STATE_DIM)
    # the scene as each observation saw it: the row before (the recorder stores the state after
    # the frame's action), an episode's first frame its own
    first = np.isin(draw.obs_index, list(data.frames.episode_start.values()))
    np.testing.assert_array_equal(batch[B.SCENE_STATE].numpy(), data.frames.scene[draw.obs_index - ~first])
    assert batch[B.ACTION].shape == (6, 4, 5) and data.scene_fields == FIELDS
    stats = data.stats.checkpoint()
    assert len(stats[B.SCENE_STATE]["std"]) == len(FIELDS) and min(stats[B.SCENE_STATE]["std"]) >= 0.01


def test_scene_noise_moves_only_object_positions_in_training_batches_held_over_the_observation_steps(labelled):
    noisy = SceneStateDataset(labelled, FakeInstructions(), n_obs_steps=2, chunk_size=4, val_fraction=0.0,
                              scene_noise_m=0.02)  # fmt: skip
    clean = SceneStateDataset(labelled, FakeInstructions(), n_obs_steps=2, chunk_size=4, val_fraction=0.0)
    draw = noisy.draw(64, np.random.default_rng(5))
    before = noisy.frames.scene.copy()
    off = (noisy.collate(draw)[B.SCENE_STATE] - clean.collate(draw)[B.SCENE_STATE]).numpy()  # (B, T, D)
    np.testing.assert_array_equal(noisy.frames.scene, before)  # the dataset itself is never touched
    positions = SceneLayout.from_fields(FIELDS).pose[:, :3].reshape(-1)
    others = np.setdiff1d(np.arange(len(FIELDS)), positions)
    assert np.all(off[..., others] == 0)  # quaternions, yaw, fixtures, light, contacts: the truth
    assert 0.015 < off[..., positions].std() < 0.025  # the std asked for, per axis
    np.testing.assert_allclose(off[:, 0], off[:, 1], atol=1e-6)  # one offset per sample, over its steps
    np.testing.assert_array_equal(noisy.collate(draw)[B.SCENE_STATE], noisy.collate(draw)[B.SCENE_STATE])  # seeded
    with pytest.raises(ValueError, match="scene_noise_m"):
        SceneStateDataset(labelled, FakeInstructions(), scene_noise_m=0.5)


@pytest.mark.parametrize("bad", ["data.scene_noise_m=-0.01", "data.scene_noise_m=0.5", "data.positional_phrasings=-1",
                                 "data.positional_phrasings=many"])  # fmt: skip
def test_a_bad_scene_noise_or_phrasing_count_is_refused_in_one_line(labelled, tmp_path, capsys, bad):
    assert _train(labelled, tmp_path / "run", bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and bad.split("=")[0] in err and not (tmp_path / "run").exists()


def test_scene_noise_is_refused_for_a_policy_that_reads_cameras(labelled, tmp_path, capsys):
    args = ["train", "policy=transformer", f"dataset={labelled}", f"out={tmp_path / 'run'}", "train.steps=1",
            "data.scene_noise_m=0.01"]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data.scene_noise_m=0.01" in err and "only the privileged" in err


def test_positional_phrasings_give_each_segment_its_own_pool_drawn_from_where_its_objects_were(labelled):
    shared = SceneStateDataset(labelled, FakeInstructions(), val_fraction=0.0)
    own = SceneStateDataset(labelled, FakeInstructions(), val_fraction=0.0, positional_phrasings=16)

    def pool(data, s):
        run = data._pool_entries[data._pool_offset[s] : data._pool_offset[s] + data._pool_count[s]]
        return [data.phrasings[i] for i in run]

    lifts = [s for s, task in enumerate(own.segments["task_id"]) if task == "lift"]
    assert len(lifts) == 3
    for s in lifts:  # the pool is the grammar's own draw given the objects' positions at the segment's start
        row = own.frames.scene[own._start[s]]
        where = {
            o: tuple(float(row[FIELDS.index(f"{o}.{k}")]) for k in "xyz")
            for o in SceneLayout.from_fields(FIELDS).objects
        }
        seeds = (f"segment-{own._start[s]}-{k}" for k in range(16))
        assert pool(own, s) == list(positional_pool("lift", "red_cube", PLAY_TABLE, where, seeds))
    by_position = re.compile(r"\b(furthest|farthest|nearest|closest|leftmost|rightmost)\b")
    assert not any(by_position.search(t) for t in pool(shared, lifts[0]))  # the shared pool never says where
    assert any(by_position.search(t) for s in lifts for t in pool(own, s))
    assert len({tuple(pool(own, s)) for s in lifts}) == 3  # one pool per segment: the scenes differ
    draw = own.draw(64, np.random.default_rng(1))
    for seg, text in zip(draw.segment, own.instructions_of(draw), strict=True):
        assert text in pool(own, seg)  # a sample reads its own segment's pool
    # without the option the segments of one (task, args) share one run of the flat pool, as before
    assert len({int(shared._pool_offset[s]) for s in lifts}) == 1
    np.testing.assert_array_equal(shared._pool_entries, np.arange(len(shared.phrasings)))


def test_still_frames_are_pauses_with_the_gripper_command_kept():
    action = np.array([[0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, -1], [0, 0.5, 0, 0, -1], [0, 0, 0, 0.02, -1],
                       [0, 0, 0, 0, -1], [0, 0, 0, 0, 0.4]], np.float32)  # fmt: skip
    first = np.array([True, False, False, False, False, True, False])
    # a pause, a pause, the gripper closing, a move, a turn, a new episode's pause, the gripper opening
    assert still_frames(action, first).tolist() == [True, True, False, False, False, True, False]


def test_skip_still_draws_observation_times_only_where_the_arm_is_told_to_do_something(tmp_path):
    root = _labelled(tmp_path / "play", still=lambda k: k % 4 != 0)  # three pauses after every move
    draws = {}
    for skip in (False, True):
        data = SceneStateDataset(root, FakeInstructions(), chunk_size=4, val_fraction=0.0, skip_still=skip)
        first = np.zeros(len(data.frames.action), bool)
        first[list(data.frames.episode_start.values())] = True
        moving = ~still_frames(data.frames.action, first)
        draws[skip] = data.draw(400, np.random.default_rng(0))
        d = draws[skip]
        assert ((d.t >= data._start[d.segment]) & (d.t < data._end[d.segment])).all()
        assert moving[d.t].all() == skip  # without it, three quarters of the observations are pauses
        # the chunk after an observation still holds the pauses that follow it
        assert not moving[d.action_index].all()
    assert np.array_equal(draws[False].segment, draws[True].segment)  # the same segments, the same rng


def test_the_policy_overfits_a_tiny_batch(labelled):
    torch.manual_seed(0)
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    settings = {"scene_fields": list(FIELDS), "lang_dim": FakeInstructions.dim, "chunk_size": 4, "d_model": 32,
                "n_layers": 1, "n_heads": 2, "dropout": 0.0}  # fmt: skip
    policy = build_policy(PrivilegedStatePolicy, settings)
    policy.set_normalization(data.stats.checkpoint())
    batch = data.sample(8, np.random.default_rng(0))
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss = policy.compute_loss(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def _fit(policy, batch, steps=150):
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = policy.compute_loss(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy.eval()
    with torch.no_grad():
        return policy(policy.normalize(batch))


def test_the_bins_head_picks_one_of_two_modes_where_the_l1_head_stays_between_them(labelled):
    """The same observation twice, once followed by "up" (+0.7) and once by "down" (-0.5): any
    value between them minimises the L1 loss, so the L1 head stays near where it started (0,
    neither mode: the arm waits); the bins head answers one of the two."""
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(1, np.random.default_rng(0))
    batch = {k: v.expand(2, *v.shape[1:]).clone() for k, v in batch.items()}
    batch[B.ACTION_PAD][:] = False
    batch[B.ACTION][:, :, 2] = torch.tensor([0.7, -0.5])[:, None]
    answers = {}
    for head in ("l1", "bins"):
        torch.manual_seed(0)
        answers[head] = _fit(_tiny_policy(data, action_head=head), batch)[0, :, 2]
    modes = torch.tensor([0.7, -0.5])
    assert ((answers["bins"][:, None] - modes).abs().min(-1).values < 0.06).all()
    assert ((answers["l1"][:, None] - modes).abs().min(-1).values > 0.1).all()
    policy = _tiny_policy(data, action_head="bins", action_bins=5)  # bins at -1, -0.5, 0, 0.5, 1
    decoded = policy.decode_bins(torch.tensor([[0.0, 9.0, 9.0, 0.0, 0.0], [0.0, 0.0, 0.0, 9.0, 0.0]]))
    torch.testing.assert_close(decoded, torch.tensor([-0.25, 0.5]), atol=1e-3, rtol=0)  # halfway; one bin


def test_soft_bin_targets_score_a_near_miss_above_a_far_one_and_one_hot_does_not(labelled):
    """``bin_sigma`` > 0 (HL-Gauss): a prediction one bin off costs less than one ten bins off;
    with one-hot targets (0) both miss the recorded bin and cost the same."""
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(1, np.random.default_rng(0))
    batch[B.ACTION_PAD][:] = False
    batch[B.ACTION][:] = 0.0  # bin 20 of 41
    costs = {}
    for sigma in (0.0, 1.0):
        policy = _tiny_policy(data, action_head="bins", bin_sigma=sigma)
        for name, peak in (("near", 21), ("far", 30)):
            logits = torch.zeros(1, 4, 5, 41)
            logits[..., peak] = 8.0
            costs[sigma, name] = float(policy.bin_loss(logits, batch)["loss"])
    assert costs[1.0, "near"] < costs[1.0, "far"] - 1.0
    assert costs[0.0, "near"] == pytest.approx(costs[0.0, "far"])
    with pytest.raises(ValueError, match="policy.bin_sigma=-1"):
        _tiny_policy(data, action_head="bins", bin_sigma=-1)


@pytest.mark.parametrize("bad", [{"action_head": "gmm"}, {"action_head": "bins", "action_bins": 2}])
def test_an_unknown_action_head_or_too_few_bins_is_refused(labelled, bad):
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    with pytest.raises(ValueError, match="policy.action_"):
        _tiny_policy(data, **bad)


def test_the_task_head_learns_which_task_is_asked_and_its_embedding_reaches_the_actions(labelled):
    from robolang.captioning.tasks import TASK_IDS

    torch.manual_seed(0)
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(16, np.random.default_rng(0))
    tasks = data.segments["task_id"].to_numpy()
    assert data.task_ids == tuple(TASK_IDS)
    assert {TASK_IDS[i] for i in batch[B.TASK].tolist()} == set(tasks) == {"open_drawer", "lift"}
    policy = _tiny_policy(data, task_head=True)
    assert policy.config.task_ids == tuple(TASK_IDS)
    _fit(policy, batch, steps=60)
    policy.eval()
    assert policy.compute_loss(batch)["task_accuracy"] == 1.0
    normalized = policy.normalize(batch)
    with torch.no_grad():
        as_asked = policy(normalized)
        policy.task_embedding.data[batch[B.TASK]] += 1.0  # another meaning for the asked task
        assert not torch.allclose(policy(normalized), as_asked)
    with pytest.raises(ValueError, match="task_weight"):
        _tiny_policy(data, task_head=True, task_weight=-1.0)


def test_the_token_task_head_reads_the_instructions_words_not_their_mean(labelled):
    torch.manual_seed(0)
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(16, np.random.default_rng(0))
    policy = _tiny_policy(data, task_head=True, task_tokens=True)
    _fit(policy, batch, steps=60)
    policy.eval()
    assert policy.compute_loss(batch)["task_accuracy"] == 1.0
    normalized = policy.normalize(batch)
    with torch.no_grad():
        logits = policy.task_logits(normalized)
        no_mean = policy.task_logits({**normalized, B.LANG_POOLED: torch.zeros_like(normalized[B.LANG_POOLED])})
        torch.testing.assert_close(no_mean, logits)  # the pooled sentence is not read
        other_words = policy.task_logits({**normalized, B.LANG_TOKENS: normalized[B.LANG_TOKENS].flip(0)})
        assert not torch.allclose(other_words, logits)
    with pytest.raises(ValueError, match="task_tokens=true needs policy.task_head=true"):
        _tiny_policy(data, task_tokens=True)
    with pytest.raises(ValueError, match="policy.task_tokens='yes' is not allowed: it must be true or false"):
        _tiny_policy(data, task_head=True, task_tokens="yes")


def test_pointer_labels_name_each_argument_by_its_object_index_and_none_otherwise():
    objects = ("red_cube", "green_cube", "plate")
    labels = pointer_labels(["red_cube", "green_cube,plate", "", "drawer", "plate,red_cube,green_cube"], objects)
    np.testing.assert_array_equal(labels, [[0, 3], [1, 2], [3, 3], [3, 3], [2, 0]])


def test_batches_carry_which_objects_the_segment_names(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    draw = data.draw(32, np.random.default_rng(1))
    pointer = data.collate(draw)[B.POINTER].numpy()
    objects = SceneLayout.from_fields(FIELDS).objects
    named = data.segments.loc[draw.segment, ["task_id", "args"]].values
    for (task, args), (first, second) in zip(named, pointer, strict=True):
        assert second == len(objects)  # no task of ROWS names two objects
        assert first == (objects.index("red_cube") if task == "lift" else len(objects)), (task, args)


def _tiny_policy(data, **options):
    settings = {"scene_fields": list(FIELDS), "lang_dim": FakeInstructions.dim, "chunk_size": 4, "d_model": 32,
                "n_layers": 1, "n_heads": 2, "dropout": 0.0, **options}  # fmt: skip
    policy = build_policy(PrivilegedStatePolicy, settings)
    policy.set_normalization(data.stats.checkpoint())
    return policy


def test_the_pointer_learns_which_object_is_named_and_its_token_carries_that_objects_offset(labelled):
    torch.manual_seed(0)
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    policy = _tiny_policy(data, pointer=True, lang_tokens=False)
    batch = data.sample(16, np.random.default_rng(0))
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    first = policy.compute_loss(batch)
    for _ in range(150):
        losses = policy.compute_loss(batch)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
    assert float(losses["pointer_ce"]) < 0.1 * float(first["pointer_ce"]) and float(losses["pointer_accuracy"]) == 1
    # the pointed-at token moves with the named object, and with no other
    policy.eval()
    lift = batch[B.POINTER][:, 0] == SceneLayout.from_fields(FIELDS).objects.index("red_cube")
    assert lift.any() and (~lift).any()
    normalized = policy.normalize(batch)
    probe = policy.pointer_logits(normalized).softmax(-1)
    n_objects, n_fixtures = len(policy.layout.objects), len(policy.layout.fixtures)
    before = policy.scene_tokens(normalized, probe)[:, n_objects + n_fixtures]  # the first argument's token
    moved = {**normalized, B.SCENE_STATE: normalized[B.SCENE_STATE].clone()}
    moved[B.SCENE_STATE][..., FIELDS.index("red_cube.x")] += 0.2
    after = policy.scene_tokens(moved, probe)[:, n_objects + n_fixtures]
    changed = (after - before).abs().amax(-1)
    assert changed[lift].min() > 10 * changed[~lift].max()


def _fit_pointer(policy, batch: dict, labels: torch.Tensor, lr: float, steps: int) -> None:
    """Train the pointer alone on one batch (cross-entropy against ``labels`` (B, 2))."""
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(policy.pointer_logits(batch).flatten(0, 1), labels.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_the_token_pointer_tells_x_on_y_from_y_on_x_where_the_pooled_sentence_cannot():
    """Two instructions with the same words in another order (so the same pooled sentence): "red
    on green" and "green on red". Only the pointer that reads the tokens can learn which is which."""
    torch.manual_seed(0)
    words, position = torch.randn(4, 8), torch.randn(4, 8)  # put, red, on, green; a contextual encoder's order
    red_on_green = words[[0, 1, 2, 3]] + position
    green_on_red = words[[0, 3, 2, 1]] + position
    tokens = torch.stack([red_on_green, green_on_red])  # (2, 4, 8)
    objects = SceneLayout.from_fields(FIELDS).objects
    red, green = objects.index("red_cube"), objects.index("green_cube")
    batch = {B.LANG_TOKENS: tokens, B.LANG_PAD: torch.zeros(2, 4, dtype=torch.bool),
             B.LANG_POOLED: torch.stack([words.sum(0), words.sum(0)])}  # fmt: skip
    labels = torch.tensor([[red, green], [green, red]])
    accuracy = {}
    for tokens_read in (False, True):
        policy = build_policy(PrivilegedStatePolicy, {"scene_fields": list(FIELDS), "lang_dim": 8, "d_model": 16,
                              "n_layers": 1, "n_heads": 2, "pointer": True, "pointer_tokens": tokens_read})  # fmt: skip
        _fit_pointer(policy, batch, labels, lr=1e-2, steps=150)
        accuracy[tokens_read] = (policy.pointer_logits(batch).argmax(-1) == labels).float().mean().item()
    assert accuracy == {False: 0.5, True: 1.0}


def test_the_scene_pointer_resolves_a_reference_by_position_which_the_words_alone_cannot():
    """ "The one furthest to the left" / "... to the right": which object that is depends on where
    the objects are (random per sample). The pointer on the words alone can only guess; the one
    that reads the objects too learns it."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, objects = 256, SceneLayout.from_fields(FIELDS).objects
    words = torch.randn(2, 3, 8)  # "the leftmost one", "the rightmost one"
    side = torch.as_tensor(rng.integers(0, 2, n))
    scene = torch.zeros(n, 1, len(FIELDS))
    y = torch.as_tensor(rng.uniform(-0.3, 0.3, (n, len(objects))), dtype=torch.float32)
    for k, name in enumerate(objects):
        scene[:, 0, FIELDS.index(f"{name}.y")] = y[:, k]
        scene[:, 0, FIELDS.index(f"{name}.qw")] = 1.0
    first = torch.where(side == 0, y.argmax(1), y.argmin(1))
    labels = torch.stack([first, torch.full_like(first, len(objects))], dim=1)  # one argument, the second none
    batch = {B.LANG_TOKENS: words[side], B.LANG_PAD: torch.zeros(n, 3, dtype=torch.bool),
             B.LANG_POOLED: words[side].sum(1), B.SCENE_STATE: scene}  # fmt: skip
    accuracy = {}
    for scene_read in (False, True):
        policy = build_policy(PrivilegedStatePolicy, {"scene_fields": list(FIELDS), "lang_dim": 8, "d_model": 32,
                              "n_layers": 1, "n_heads": 2, "dropout": 0.0, "pointer": True, "pointer_tokens": True,
                              "pointer_scene": scene_read})  # fmt: skip
        _fit_pointer(policy, batch, labels, lr=3e-3, steps=300)
        policy.eval()
        accuracy[scene_read] = (policy.pointer_logits(batch).argmax(-1)[:, 0] == first).float().mean().item()
    assert accuracy[False] < 0.5 and accuracy[True] > 0.95, accuracy


def test_the_scene_pointer_needs_the_pointer():
    with pytest.raises(ValueError, match="pointer_scene=true needs policy.pointer=true"):
        build_policy(PrivilegedStatePolicy, {"scene_fields": list(FIELDS), "lang_dim": 8, "pointer_scene": True})
    with pytest.raises(ValueError, match="pointer_layers=0"):
        build_policy(PrivilegedStatePolicy, {"scene_fields": list(FIELDS), "lang_dim": 8, "pointer": True,
                                             "pointer_scene": True, "pointer_layers": 0})  # fmt: skip


def test_the_pooled_language_option_reads_no_instruction_tokens(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    policy = _tiny_policy(data, lang_tokens=False).eval()
    batch = policy.normalize(data.sample(4, np.random.default_rng(0)))
    scrambled = {**batch, B.LANG_TOKENS: torch.randn_like(batch[B.LANG_TOKENS])}
    torch.testing.assert_close(policy(scrambled), policy(batch))
    assert not torch.equal(policy({**batch, B.LANG_POOLED: -batch[B.LANG_POOLED]}), policy(batch))


def test_a_policy_without_the_pointer_is_the_first_measurements_and_a_negative_weight_is_refused(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    policy = _tiny_policy(data)  # the dataclass defaults: checkpoints saved before the pointer load as they were
    assert policy.pointer_head is None and "pointer_ce" not in policy.compute_loss(
        data.sample(4, np.random.default_rng(0))
    )
    with pytest.raises(ValueError, match="pointer_weight"):
        _tiny_policy(data, pointer=True, pointer_weight=-1.0)
    with pytest.raises(ValueError, match="pointer_tokens=true needs policy.pointer=true"):
        _tiny_policy(data, pointer_tokens=True)
    for name in ("pointer", "pointer_tokens", "lang_tokens", "contacts"):
        with pytest.raises(ValueError, match=f"policy.{name}='yes' is not allowed"):
            _tiny_policy(data, **{"pointer": True, name: "yes"})


def test_train_writes_a_privileged_checkpoint_that_loads_back(trained, tmp_path):
    policy = load_policy(trained)
    assert policy.name == "privileged_state" and policy.privileged and policy.scene_fields == FIELDS
    assert policy.observation_features == {"observation.state": (STATE_DIM,), KEY_SCENE_STATE: (len(FIELDS),)}
    assert policy.image_shapes == {} and policy.bundle.step == 4
    config = json.loads((policy.path / "config.json").read_text())
    assert config["_target_"] == "robolang.policy.state_policy.PrivilegedStatePolicy"
    assert config["policy_type"] == "privileged_state" and tuple(config["policy"]["scene_fields"]) == FIELDS
    observation = {"observation.state": np.zeros(STATE_DIM, np.float32), KEY_SCENE_STATE: np.zeros(len(FIELDS))}
    chunk = policy.predict(observation, "open the drawer")
    assert chunk.shape == (4, 5) and np.abs(chunk).max() <= 1
    # round trip: saved again and loaded, the same weights, statistics and predictions
    bundle = load_checkpoint(trained)
    scene_std = bundle.policy.scene_normalizer.std
    assert scene_std[FIELDS.index("red_cube.x")] != 1 and scene_std[FIELDS.index("light.on")] == 1
    again = load_policy(save_checkpoint(tmp_path / "copy", bundle))
    np.testing.assert_array_equal(again.predict(observation, "open the drawer"), chunk)


def test_the_bins_head_relative_yaw_and_task_head_train_save_and_predict_through_robolang_train(labelled, tmp_path):
    out = tmp_path / "bins"
    options = ["policy.action_head=bins", "policy.action_bins=21", "policy.relative_yaw=true", "policy.task_head=true",
               "policy.task_tokens=true"]  # fmt: skip
    assert _train(labelled, out, *options) == 0
    policy = load_policy(out)
    assert policy.config.action_head == "bins" and policy.config.relative_yaw and policy.config.task_head
    assert policy.config.task_tokens
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert "action_ce" in header and "task_accuracy" in header
    observation = {"observation.state": np.zeros(STATE_DIM, np.float32), KEY_SCENE_STATE: np.zeros(len(FIELDS))}
    chunk = policy.predict(observation, "open the drawer")
    assert chunk.shape == (4, 5) and np.abs(chunk).max() <= 1


def test_a_dataset_without_scene_state_is_refused_in_one_line(tmp_path, capsys):
    dataset = _labelled(tmp_path / "real", scene_fields=None)
    capsys.readouterr()
    assert _train(dataset, tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no recorded scene state" in err and "'scene_state'" in err
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def robot():
    yield from connected_robot()


def test_the_deployable_path_refuses_a_privileged_policy(trained, robot):
    """PolicyController hands a policy only the robot's view (cameras, proprioception): a policy
    that reads the scene state fails at its first step, naming why."""
    with pytest.raises(PrivilegedObservationError, match="privileged.*cannot be deployed") as refused:
        run_episode(robot, PolicyController(load_policy(trained)), "open the drawer", "open_drawer", (), 0, 3)
    assert isinstance(refused.value, KeyError) and isinstance(refused.value, RobolangError)
    result = run_episode(robot, PrivilegedController(load_policy(trained)), "open the drawer", "open_drawer", (), 0, 3)
    assert result.steps == 3 and result.judged


def test_a_simulator_with_other_scene_fields_is_refused_naming_the_difference(trained):
    class OtherSim:
        scene_fields = FIELDS[:-1]

        def scene_vector(self):
            return np.zeros(len(self.scene_fields), np.float32)

    with pytest.raises(CheckpointError, match=r"lacks \['contact.plate.button'\]"):
        PrivilegedController(load_policy(trained)).begin_task(OtherSim(), "open_drawer", (), 0)
    assert "another order (entry 0 is 'red_cube.y'" in field_difference(FIELDS, (FIELDS[1], FIELDS[0], *FIELDS[2:]))


def test_robolang_eval_runs_it_through_the_privileged_controller_and_labels_its_row(trained, tmp_path, monkeypatch):
    steps = []
    act = PrivilegedController.act
    monkeypatch.setattr(
        PrivilegedController, "act", lambda self, obs, text: steps.append(set(obs)) or act(self, obs, text)
    )
    out = tmp_path / "eval"
    assert cli.main(["eval", f"controllers={{privileged:{trained}}}", *QUICK, f"out={out}"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["controllers"] == ["privileged", "scripted", "zero"]
    (spec,) = [c for c in results["config"]["controller_specs"] if c["name"] == "privileged"]
    assert spec["about"].startswith("privileged_state policy (PRIVILEGED") and "never deployable" in spec["about"]
    assert results["summary"]["by_split"]["privileged"]["train"]["n"] == 1
    assert steps and all(s == {*CAMERA_NAMES, *STATE_NAMES} for s in steps)  # the rollout hands it the robot's view
    assert "PRIVILEGED" in (out / "report.html").read_text()


def test_bench_ladder_sets_the_privileged_policy_beside_both_bounds_on_honest_starts(trained, tmp_path):
    from helpers.bench_format import assert_same_format

    from robolang import bench

    out = tmp_path / "B.md"
    overrides = [f"bench_out={out}", f"out={tmp_path / 'ladder'}", f"controllers={{privileged:{trained}}}",
                 "tasks=[lift,turn_on_light]", "worlds=[default]", "episodes=1", "chains=1", "chain_length=2",
                 "max_steps=5", "workers=1", "videos=0", *SMALL]  # fmt: skip
    figures = bench.refresh("ladder", load_config("bench_ladder", overrides))
    assert figures["results"]["summary"]["controllers"] == ["privileged", "scripted", "zero"]
    text = assert_same_format(out, "ladder")
    assert "| privileged |" in text and "`privileged` per task" in text and "PRIVILEGED" in text
    assert "start_pose=random" in text and "| lift |" in text


def test_ask_refuses_a_privileged_checkpoint_before_building_a_robot(trained, capsys):
    assert cli.main(["ask", "open the drawer", "--checkpoint", str(trained), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "privileged" in err and "cannot be asked or deployed" in err and err.count("\n") == 1


def test_bench_latency_times_a_privileged_checkpoint_with_a_scene_state_and_labels_it(trained, tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    args = ["bench", "latency", "subjects=[ours]", f"checkpoints.ours={trained}", "image_size=32", "n_warmup=1",
            "n_runs=2", f"bench_out={out}"]  # fmt: skip
    assert cli.main(args) == 0
    assert "PRIVILEGED" in out.read_text()


def test_relative_yaw_reads_the_turn_between_each_object_and_the_gripper(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    policy = _tiny_policy(data, relative_yaw=True)
    raw = data.collate(data.draw(3, np.random.default_rng(0)))[B.SCENE_STATE]
    yaw_columns = torch.as_tensor(policy.layout.pose[:, 7])
    ee_yaw = policy.layout.ee_yaw
    features = policy.object_features(raw, policy.scene_normalizer(raw))
    turn = raw[..., yaw_columns] - raw[..., ee_yaw, None]  # (B, T, O)
    torch.testing.assert_close(features[..., -6], turn.sin())
    torch.testing.assert_close(features[..., -1], (4 * turn).cos())
    turned = raw.clone()  # the whole scene and the gripper turned together: the relative part stays
    turned[..., yaw_columns] += 0.7
    turned[..., ee_yaw] += 0.7
    moved = policy.object_features(turned, policy.scene_normalizer(turned))
    torch.testing.assert_close(moved[..., -6:], features[..., -6:], atol=1e-5, rtol=0)
    assert not torch.allclose(moved[..., 6:8], features[..., 6:8])  # the absolute yaw did change
    assert _tiny_policy(data).object_features(raw, raw).shape[-1] == features.shape[-1] - 6


def test_bench_fit_writes_each_dimension_s_fit_and_the_heads_accuracy(trained, labelled, tmp_path):
    out = tmp_path / "B.md"
    argv = ["bench", "fit", f"controllers={{tiny:{trained}}}", f"dataset={labelled}", "subset=train", "samples=64",
            f"bench_out={out}"]  # fmt: skip
    assert cli.main(argv) == 0
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `tiny`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 15
    r2, sign, heads = cells[1:6], cells[6:11], cells[11:]
    assert all(float(c) <= 1 for c in r2)  # every dimension fitted (a NaN would print as "-")
    assert all(0 <= float(c) <= 1 for c in sign if c != "-")  # a fraction, "-" where nothing moves
    assert all(0 <= float(c) <= 1 for c in heads)  # the recipe has the task head and the pointer


def test_bench_fit_refuses_what_it_cannot_fit(labelled, tmp_path):
    with pytest.raises(RobolangError, match="controllers"):
        cli_bench_fit(["dataset=" + str(labelled)], tmp_path)
    with pytest.raises(RobolangError, match="no dataset there"):
        cli_bench_fit(["controllers={a:/nowhere}", f"dataset={tmp_path}"], tmp_path)
    for bad, said in (
        ("samples=0", "samples"),
        ("subset=test", "subset"),
        ("seed=-1", "seed"),
        ("phrasings=-1", "phrasings"),
    ):
        with pytest.raises(RobolangError, match=said):
            cli_bench_fit(["controllers={a:/nowhere}", f"dataset={labelled}", bad], tmp_path)


def test_bench_fit_scores_the_task_head_on_train_and_held_out_phrasings_against_the_asked_task(trained, labelled):
    from robolang.bench import fit
    from robolang.policy import batch as B

    policy = load_policy(trained)
    model = policy.bundle.policy
    asked = []

    def always(task):
        def logits(batch):
            asked.append(batch[B.LANG_TOKENS].shape[0])
            out = torch.zeros(len(batch[B.LANG_POOLED]), len(model.config.task_ids))
            out[:, model.config.task_ids.index(task)] = 1.0
            return out

        return logits

    model.task_logits = always("lift")
    lift = fit.task_by_split(policy, str(labelled), phrasings=5)
    model.task_logits = always("open_drawer")
    drawer = fit.task_by_split(policy, str(labelled), phrasings=5)
    assert set(lift) == set(drawer) == {"train", "heldout_phrasing"}  # the dataset labels open_drawer and lift
    for split in lift:  # each instruction scored against the task it was phrased for: one of the two is right
        assert 0 < lift[split] < 1 and lift[split] + drawer[split] == pytest.approx(1.0)
    assert asked and max(asked) <= 2 * 5
    assert fit.task_by_split(policy, str(labelled), phrasings=0) == {}
    assert fit.task_by_split(policy, str(labelled), phrasings=5, tasks=["open_drawer"]) == {
        "train": 1.0,
        "heldout_phrasing": 1.0,
    }


def test_bench_fit_refuses_a_policy_that_reads_no_scene_state(labelled, tmp_path):
    from robolang.bench import fit

    class Deployable:
        privileged, name = False, "transformer"

    with pytest.raises(RobolangError, match="privileged state policies only"):
        fit.fit(Deployable(), str(labelled), 8, 0)


def cli_bench_fit(overrides, tmp_path):
    from robolang import bench

    return bench.refresh("fit", load_config("bench_fit", [*overrides, f"bench_out={tmp_path / 'B.md'}"]))


def test_batches_carry_the_scene_as_it_was_when_the_segment_began(labelled):
    data = SceneStateDataset(labelled, FakeInstructions(), n_obs_steps=2, chunk_size=4, val_fraction=0.0)
    draw = data.draw(8, np.random.default_rng(5))
    batch = data.collate(draw)
    start = data._start[draw.segment]  # each sample's segment's first frame
    first = np.isin(start, list(data.frames.episode_start.values()))
    assert batch[B.SCENE_START].shape == (8, len(FIELDS))
    np.testing.assert_array_equal(batch[B.SCENE_START].numpy(), data.frames.scene[start - ~first])  # as seen


def test_the_start_token_lets_the_policy_act_on_the_change_since_the_instruction_began(labelled):
    """The same current scene, two starts: the object already turned far enough (release: -1)
    or not yet (keep turning: +1). Only a policy that reads the start can fit both."""
    data = SceneStateDataset(labelled, FakeInstructions(), chunk_size=4, val_fraction=0.0)
    batch = data.sample(1, np.random.default_rng(0))
    batch = {k: v.expand(2, *v.shape[1:]).clone() for k, v in batch.items()}
    yaw = FIELDS.index("red_cube.yaw")
    batch[B.SCENE_START][0, yaw] = batch[B.SCENE_STATE][0, -1, yaw] - 0.8  # turned 0.8 rad already
    batch[B.SCENE_START][1, yaw] = batch[B.SCENE_STATE][1, -1, yaw]  # not turned yet
    batch[B.ACTION_PAD][:] = False
    batch[B.ACTION][:, :, 3] = torch.tensor([-1.0, 1.0])[:, None]
    answers = {}
    for start in (False, True):
        torch.manual_seed(0)
        answers[start] = _fit(_tiny_policy(data, start_scene=start), batch, steps=600)[:, :, 3].mean(1)
    assert answers[True][0] < -0.8 and answers[True][1] > 0.8
    assert (answers[False] - answers[False].mean()).abs().max() < 0.1  # one answer for both


def test_the_start_is_the_first_observation_since_the_instruction_was_given(labelled, tmp_path):
    out = tmp_path / "start"
    assert _train(labelled, out, "policy.start_scene=true") == 0
    policy = load_policy(out)
    seen = []
    forward = policy.policy.forward
    policy.policy.forward = lambda batch: seen.append(batch[B.SCENE_START].clone()) or forward(batch)

    def observe(value):
        return {"observation.state": np.zeros(STATE_DIM, np.float32), KEY_SCENE_STATE: np.full(len(FIELDS), value)}

    policy.predict(observe(1.0), "open the drawer")
    policy.predict(observe(2.0), "open the drawer")
    policy.predict(observe(3.0), "close the drawer")  # a new instruction, no reset: it starts here
    policy.reset()
    policy.predict(observe(4.0), "close the drawer")  # after a reset: here
    assert [float(s[0, 0]) for s in seen] == [1.0, 1.0, 3.0, 4.0]
