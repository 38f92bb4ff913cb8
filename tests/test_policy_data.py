"""The data pipeline: frame cache (built once, rebuilt on change, crash-safe) and the segment sampler."""

import json
import os
from typing import NamedTuple

import numpy as np
import pytest
import torch
from helpers import synthetic

from robolang.captioning import annotations, grammar
from robolang.captioning.states import SCENE_FILE
from robolang.dataset_tools import episode_frames
from robolang.features import ACTION_DIM, STATE_DIM
from robolang.policy import batch as B
from robolang.policy import frame_cache
from robolang.policy.data import Augment, DataPipelineError, NormStats, PolicyDataset
from robolang.policy.frame_cache import FrameCache
from robolang.policy.protocol import StateNormalizer
from robolang.testing.scene_states import PLAY_TABLE

EPISODES, FRAMES = 3, 30


class Encoded(NamedTuple):
    tokens: torch.Tensor
    is_pad: torch.Tensor
    pooled: torch.Tensor


class FakeInstructions:
    """InstructionCache's interface: one token per word, values fixed by the text."""

    dim = 8

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, length=None, dtype=torch.float32):
        self.encoded += texts
        length = length or max(len(t.split()) for t in texts)
        tokens, is_pad = torch.zeros(len(texts), length, self.dim), torch.ones(len(texts), length, dtype=torch.bool)
        for i, t in enumerate(texts):
            n = min(len(t.split()), length)
            g = torch.Generator().manual_seed(sum(map(ord, t)))
            tokens[i, :n], is_pad[i, :n] = torch.randn(n, self.dim, generator=g), False
        return Encoded(tokens.to(dtype), is_pad, tokens.sum(1))


def row(episode, start, end, task="lift", args="red_cube", text="lift the red block", split="train"):
    return {
        "episode_index": episode, "start_frame": start, "end_frame": end, "task_id": task, "args": args,
        "instruction": text, "source": "oracle", "split": split, "captioner_version": "test-1",
    }  # fmt: skip


ROWS = [
    row(0, 2, 12),
    row(0, 2, 12, text="hoist the red block", split="heldout_phrasing"),
    row(0, 20, 29, task="open_drawer", args="", text="open the drawer"),
    row(1, 0, 8, task="stack", args="red_cube,green_cube", text="stack the red block on the green cube"),
    row(1, 5, 25),
    row(2, 10, 30, task="open_drawer", args="", text="open the drawer"),
    row(2, 3, 9, task="push_left", args="blue_bar", text="push the bar left", split="heldout_composition"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy_data") / "play"
    synthetic.record(synthetic.store(root), episodes=EPISODES, frames=FRAMES)
    annotations.save(root, annotations.rows_from(ROWS), extra_files={SCENE_FILE: json.dumps(PLAY_TABLE).encode()})
    return root


def make(dataset, tmp_path, **kw):
    kw = {
        "n_obs_steps": 2,
        "chunk_size": 5,
        "val_fraction": 0.0,
        "cache_dir": tmp_path / "cache",
        "progress": False,
    } | kw
    return PolicyDataset(dataset, kw.pop("instructions", FakeInstructions()), **kw)


def count_decodes(monkeypatch) -> list:
    calls, decode = [], frame_cache._decode_camera
    monkeypatch.setattr(frame_cache, "_decode_camera", lambda *a: (calls.append(a[3]), decode(*a)))
    return calls


def test_cache_holds_every_decoded_frame_and_is_reused(dataset, tmp_path, monkeypatch):
    calls = count_decodes(monkeypatch)
    cache = FrameCache.open(dataset, tmp_path / "c", progress=False)
    assert len(calls) == 2 and cache.build_s > 0 and len(cache) == EPISODES * FRAMES
    frames = np.stack(episode_frames(dataset, 1, "observation.images.wrist")).transpose(0, 3, 1, 2)
    start = cache.episode_start[1]
    np.testing.assert_array_equal(cache.images["wrist"][start : start + FRAMES], frames)
    np.testing.assert_array_equal(cache.gather("wrist", np.arange(start, start + FRAMES)), frames)
    shifted = cache.gather("wrist", np.array([start]), dy=1, dx=-1)[0]  # content down 1, left 1, edges replicated
    np.testing.assert_array_equal(shifted[:, 1:, :-1], frames[0, :, :-1, 1:])
    np.testing.assert_array_equal(shifted[:, 0, :-1], frames[0, :, 0, 1:])
    again = FrameCache.open(dataset, tmp_path / "c", progress=False)
    assert len(calls) == 2 and again.build_s == 0  # reused: nothing decoded
    assert make(dataset, tmp_path, cache_dir=tmp_path / "c").frames.build_s == 0


def test_cache_is_rebuilt_when_the_dataset_changes_but_not_when_labels_do(tmp_path, monkeypatch):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=1, frames=10)
    calls = count_decodes(monkeypatch)
    FrameCache.open(root, tmp_path / "c", progress=False)
    annotations.save(root, annotations.rows_from([row(0, 1, 5)]))  # a new snapshot, same videos (hard links)
    FrameCache.open(root, tmp_path / "c", progress=False)
    assert len(calls) == 2
    synthetic.record(synthetic.store(root, resume=True), episodes=1, frames=7, seed=1)
    cache = FrameCache.open(root, tmp_path / "c", progress=False)
    assert len(calls) == 4 and len(cache) == 17 and cache.episode_length == {0: 10, 1: 7}


def test_a_crash_while_building_leaves_no_cache_behind(dataset, tmp_path, monkeypatch):
    def crash(*a):
        raise KeyboardInterrupt  # e.g. Ctrl-C half way through decoding

    monkeypatch.setattr(frame_cache, "_decode_file", crash)
    dest = tmp_path / "c"
    with pytest.raises(KeyboardInterrupt):
        FrameCache.open(dataset, dest, progress=False)
    assert not dest.exists() and os.listdir(tmp_path) == [".c.lock"]
    monkeypatch.undo()
    (tmp_path / ".c.tmp-12345").mkdir()  # what a SIGKILL would leave: removed, never used
    (tmp_path / ".c.tmp-12345" / "static.npy").write_bytes(b"half")
    assert len(FrameCache.open(dataset, dest, progress=False)) == EPISODES * FRAMES
    assert sorted(os.listdir(tmp_path)) == [".c.lock", "c"]


def test_batches_follow_the_contract(dataset, tmp_path):
    ds = make(dataset, tmp_path, max_lang_tokens=12)
    batch = ds.sample(6, np.random.default_rng(0))
    assert set(batch) == {*B.IMAGE_KEYS, B.STATE, B.LANG_TOKENS, B.LANG_PAD, B.LANG_POOLED, B.ACTION, B.ACTION_PAD}
    for key in B.IMAGE_KEYS:
        assert batch[key].shape == (6, 2, 3, 32, 32) and batch[key].dtype == torch.float32
        assert batch[key].min() >= 0 and batch[key].max() <= 1
    assert batch[B.STATE].shape == (6, 2, STATE_DIM) and batch[B.STATE].dtype == torch.float32
    assert batch[B.LANG_TOKENS].shape == (6, 12, FakeInstructions.dim) and batch[B.LANG_PAD].dtype == torch.bool
    assert batch[B.LANG_POOLED].shape == (6, FakeInstructions.dim)
    assert (batch[B.LANG_TOKENS][batch[B.LANG_PAD]] == 0).all() and not batch[B.LANG_PAD][:, 0].any()
    assert batch[B.ACTION].shape == (6, 5, ACTION_DIM) and batch[B.ACTION].dtype == torch.float32
    assert batch[B.ACTION_PAD].shape == (6, 5) and batch[B.ACTION_PAD].dtype == torch.bool


def test_windows_stay_inside_their_episode_and_pad_past_the_segment(dataset, tmp_path):
    ds = make(dataset, tmp_path, n_obs_steps=4, chunk_size=8)
    d = ds.draw(500, np.random.default_rng(1))
    seg = ds.segments.iloc[d.segment]
    episode = ds.frames.episode_index
    start = seg["start_frame"].to_numpy() + np.array([ds.frames.episode_start[e] for e in seg["episode_index"]])
    end = start + (seg["end_frame"] - seg["start_frame"]).to_numpy()
    assert ((start <= d.t) & (d.t < end)).all()
    assert (episode[d.obs_index] == episode[d.t][:, None]).all()  # never crosses into another episode
    assert (d.obs_index[:, -1] == d.t).all() and (np.diff(d.obs_index, axis=1) >= 0).all()
    assert ((d.obs_index == d.t[:, None] - np.arange(3, -1, -1)) | (ds.frames.frame_index[d.obs_index] == 0)).all()
    ahead = d.t[:, None] + np.arange(8)
    np.testing.assert_array_equal(d.action_is_pad, ahead >= end[:, None])
    np.testing.assert_array_equal(d.action_index, np.minimum(ahead, end[:, None] - 1))  # pad repeats the last action
    assert d.action_is_pad.any() and (~d.action_is_pad).any()
    batch = ds.collate(d)
    np.testing.assert_array_equal(batch[B.ACTION].numpy(), ds.frames.action[d.action_index])
    assert torch.equal(batch[B.ACTION_PAD], torch.from_numpy(d.action_is_pad))


def test_only_train_phrasings_of_the_segment_are_sampled(dataset, tmp_path):
    ds = make(dataset, tmp_path, phrasings_per_task=6)
    d = ds.draw(400, np.random.default_rng(2))
    for (task, args), texts in (
        ds.segments.iloc[d.segment].assign(text=ds.instructions_of(d)).groupby(["task_id", "args"])["text"]
    ):
        phrasings = grammar.enumerate_phrasings(task, args.split(",") if args else (), PLAY_TABLE, pairs=())
        train = {p.text for p in phrasings if p.split == "train"}
        assert set(texts) <= train and 1 < len(set(texts)) <= 6
    sampled = set(ds.instructions_of(d))
    assert "hoist the red block" not in sampled and "push the bar left" not in sampled
    assert set(ds.segments["task_id"]) == {"lift", "open_drawer", "stack"}  # held-out compositions never train


def test_the_same_rng_gives_the_same_batch(dataset, tmp_path):
    ds = make(dataset, tmp_path)
    one = ds.sample(8, np.random.default_rng(7))
    two = make(dataset, tmp_path, threads=1).sample(8, np.random.default_rng(7))
    assert all(torch.equal(one[k], two[k]) for k in one)
    other = ds.sample(8, np.random.default_rng(8))
    assert not torch.equal(one[B.IMAGE_KEYS[0]], other[B.IMAGE_KEYS[0]])


def test_train_and_val_segments_share_no_frame(dataset, tmp_path):
    kw = {"val_fraction": 0.3, "val_block_frames": 15}
    train, val = make(dataset, tmp_path, **kw), make(dataset, tmp_path, subset="val", **kw)

    def frames(ds):
        return {(r.episode_index, f) for r in ds.segments.itertuples() for f in range(r.start_frame, r.end_frame)}

    assert len(train.segments) and len(val.segments) and not frames(train) & frames(val)
    assert val.augment is None and train.augment is not None
    d = val.draw(4, np.random.default_rng(0))
    raw = val.frames.gather("static", d.obs_index.reshape(-1)).reshape(4, 2, 3, 32, 32)
    np.testing.assert_allclose(val.collate(d)[B.IMAGE_KEYS[0]].numpy(), raw / 255, atol=1e-6)  # no augmentation
    with pytest.raises(DataPipelineError, match="no val segments"):
        make(dataset, tmp_path, subset="val", val_fraction=0.0)


def test_augmentation_shifts_and_jitters_each_sample(dataset, tmp_path):
    ds = make(dataset, tmp_path, augment=Augment(shift=1 / 32, brightness=0.0, contrast=0.0), n_obs_steps=1)
    d = ds.draw(16, np.random.default_rng(3))
    params = Augment(shift=1 / 32).params(16, 32, torch.Generator().manual_seed(d.augment_seed))
    expected = ds.frames.gather("static", d.obs_index.reshape(-1), params.dy, params.dx) / 255
    np.testing.assert_allclose(ds.collate(d)[B.IMAGE_KEYS[0]][:, 0].numpy(), expected, atol=1e-6)
    assert set(np.abs(params.dy)) | set(np.abs(params.dx)) <= {0, 1}
    jittered = make(dataset, tmp_path, augment=Augment(shift=0.0), n_obs_steps=1).collate(d)[B.IMAGE_KEYS[0]]
    plain = ds.frames.gather("static", d.obs_index.reshape(-1)) / 255
    assert not np.allclose(jittered[:, 0].numpy(), plain, atol=1e-3)
    with pytest.raises(ValueError, match="border"):
        make(dataset, tmp_path, augment=Augment(shift=0.25))


def test_batches_carry_raw_state_and_the_policy_normalizes_it_with_stats_that_round_trip(dataset, tmp_path):
    ds = make(dataset, tmp_path)
    assert NormStats.from_dict(json.loads(json.dumps(ds.stats.to_dict()))) == ds.stats
    batch = ds.sample(4, np.random.default_rng(0))
    d = ds.draw(4, np.random.default_rng(0))
    np.testing.assert_array_equal(batch[B.STATE].numpy(), ds.frames.state[d.obs_index])  # raw, not normalised
    normalizer = StateNormalizer(STATE_DIM)
    normalizer.set(**ds.stats.checkpoint()[B.STATE])
    normalized = normalizer(torch.from_numpy(ds.frames.state)).numpy()
    np.testing.assert_allclose(normalized.mean(0), 0, atol=1e-4)
    constant = StateNormalizer(STATE_DIM)
    stats = NormStats.from_states(np.ones((5, STATE_DIM)))
    constant.set(stats.state_mean, stats.state_std)
    assert min(stats.state_std) == NormStats.STD_FLOOR and torch.isfinite(constant(torch.zeros(STATE_DIM))).all()


def test_pools_come_from_the_table_when_the_grammar_cannot_phrase_a_task(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=1, frames=20)
    annotations.save(root, annotations.rows_from([row(0, 1, 9, task="wave", args="", text="wave hello")]))
    ds = make(root, tmp_path)  # no scene file, unknown task: the labelled text is the pool
    assert ds.phrasings == ["wave hello"]


def test_unlabelled_or_missing_datasets_are_refused_clearly(tmp_path):
    root = tmp_path / "raw"
    synthetic.record(synthetic.store(root), episodes=1, frames=8)
    with pytest.raises(DataPipelineError, match=f"run `robolang caption {root}` first"):
        make(root, tmp_path)
    with pytest.raises(FileNotFoundError, match="no dataset"):
        make(tmp_path / "nowhere", tmp_path)


SCENE = ("red_cube.x", "red_cube.y", "red_cube.z", "ee.x", "ee.y", "ee.z", "blue_bar.x", "blue_bar.y", "blue_bar.z")


def test_target_offsets_are_the_first_object_relative_to_the_gripper_as_the_sampled_frame_saw_it(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = tmp_path / "play"
    synthetic.record(synthetic.store(root, scene_fields=SCENE), episodes=EPISODES, frames=FRAMES)
    annotations.save(root, annotations.rows_from(ROWS), extra_files={SCENE_FILE: json.dumps(PLAY_TABLE).encode()})
    ds = make(root, tmp_path, target_offsets=True)
    draw = ds.draw(64, np.random.default_rng(0))
    batch = ds.collate(draw)
    recorded = LeRobotDataset("test/play", root=root)
    tasks = ds.segments["task_id"].to_numpy()[draw.segment]
    assert {"lift", "stack", "open_drawer"} <= set(tasks)
    starts = set(ds.frames.episode_start.values())
    for i, t in enumerate(draw.t):
        # the scene the frame's images show: recorded on the frame before (the recorder stores a
        # frame's scene state after its action), an episode's first frame its own
        scene = recorded[int(t) - (int(t) not in starts)]["scene_state"].numpy()
        if tasks[i] == "open_drawer":  # a fixture: nothing to point at
            assert not batch[B.TARGET_VALID][i] and not batch[B.TARGET][i].any()
        else:  # lift red_cube, stack red_cube on green_cube: the first object, red_cube
            assert batch[B.TARGET_VALID][i]
            expected = (scene[0:3] - scene[3:6]) / B.TARGET_SCALE_M
            np.testing.assert_allclose(batch[B.TARGET][i].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_target_offsets_need_a_recorded_gripper_and_objects(dataset, tmp_path):
    with pytest.raises(DataPipelineError, match="policy/aux=none"):
        make(dataset, tmp_path, target_offsets=True)  # this recording's scene state has no ee.x
