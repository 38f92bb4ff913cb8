"""Inference: predict and select_action from a checkpoint that loads alone; the sentence encoder."""

import numpy as np
import pytest
import torch
from test_policy_train import trainer

from robolang.features import STATE_NAMES
from robolang.policy.inference import LanguagePolicy
from robolang.policy.language import (
    EncodedText,
    InstructionCache,
    LanguageError,
    SentenceEncoder,
    resolve_encoder,
)


class HashEncoder:
    """An 8-wide stand-in for the sentence encoder: deterministic per text."""

    dim, reference, max_length = 8, "hash", 16

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = []
        for t in texts:
            g = torch.Generator().manual_seed(sum(map(ord, t)))
            out.append(torch.randn(len(t.split()), 8, generator=g))
        n = max(len(o) for o in out)
        tokens = torch.zeros(len(out), n, 8)
        pad = torch.ones(len(out), n, dtype=torch.bool)
        for i, o in enumerate(out):
            tokens[i, : len(o)], pad[i, : len(o)] = o, False
        return EncodedText(tokens, pad, torch.nn.functional.normalize(tokens.sum(1), dim=-1))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("policy")
    trainer(out, steps=3).fit()
    return out


def observation(seed=0):
    rng = np.random.default_rng(seed)
    obs = {cam: rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for cam in ("static", "wrist")}
    obs.update({n: float(v) for n, v in zip(STATE_NAMES, rng.normal(size=len(STATE_NAMES)), strict=True)})
    return obs


def policy(checkpoint, **kw):
    return LanguagePolicy.load(checkpoint, instructions=InstructionCache(HashEncoder()), **kw)


def test_predict_returns_a_chunk_for_robot_and_dataset_observations(checkpoint):
    p = policy(checkpoint)
    obs = observation()
    chunk = p.predict(obs, "lift the red block")
    assert chunk.shape == (4, 5) and np.all(np.abs(chunk) <= 1)
    p.reset()
    dataset_form = {
        "observation.images.static": obs["static"],
        "observation.images.wrist": obs["wrist"],
        "observation.state": np.array([obs[n] for n in STATE_NAMES]),
    }
    np.testing.assert_allclose(p.predict(dataset_form, "lift the red block"), chunk, atol=1e-6)
    other = p.predict(obs, "open the drawer")
    assert not np.allclose(other, chunk)  # the instruction changes the actions


def test_bad_instructions_and_observations_are_refused(checkpoint):
    p = policy(checkpoint)
    for bad in ("", "   \n", None):
        with pytest.raises(LanguageError):
            p.predict(observation(), bad)
    obs = observation()
    obs["ee.x"] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        p.predict(obs, "lift it")
    del obs["wrist"]
    with pytest.raises(KeyError, match="wrist"):
        p.predict(obs, "lift it")


def test_chunk_execution_replans_every_actions_per_chunk_steps(checkpoint):
    p = policy(checkpoint, actions_per_chunk=2)
    calls = []
    p.policy.register_forward_hook(lambda *a: calls.append(1))
    actions = [p.select_action(observation(i), "push the block left") for i in range(5)]
    assert len(calls) == 3 and all(a.shape == (5,) for a in actions)
    p.select_action(observation(9), "a different instruction")
    assert len(calls) == 4  # a new instruction replans at once


def test_temporal_ensembling_averages_the_chunks_predicted_for_this_step(checkpoint):
    p = policy(checkpoint, execution="ensemble", ensemble_decay=0.5)
    reference = policy(checkpoint)
    first = reference.predict(observation(0), "stack the blocks")
    second = reference.predict(observation(1), "stack the blocks")
    np.testing.assert_allclose(p.select_action(observation(0), "stack the blocks"), first[0], atol=1e-6)
    w = np.exp(-0.5 * np.arange(2))
    expected = (w[0] * first[1] + w[1] * second[0]) / w.sum()
    np.testing.assert_allclose(p.select_action(observation(1), "stack the blocks"), expected, atol=1e-6)


def test_instruction_cache_encodes_each_text_once_and_persists(tmp_path):
    encoder = HashEncoder()
    cache = InstructionCache(encoder, tmp_path / "lang.pt")
    a = cache.encode(["lift the red block", "open the drawer"], length=6)
    cache.encode(["open the drawer"])
    assert encoder.calls == 1 and a.tokens.shape == (2, 6, 8)
    assert a.is_pad[1].tolist() == [False] * 3 + [True] * 3
    cache.save()
    reloaded = InstructionCache(HashEncoder(), tmp_path / "lang.pt")
    assert len(reloaded) == 2
    torch.testing.assert_close(reloaded.encode(["open the drawer"], length=6).tokens, a.tokens[1:])


def test_the_packaged_minilm_encoder_gives_tokens_and_unit_pooled_vectors():
    encoder = SentenceEncoder()
    out = encoder.encode(["put the red block in the drawer", "lift it"])
    assert encoder.dim == 384 and out.tokens.shape[0] == 2 and out.tokens.shape[2] == 384
    assert out.is_pad[1].sum() > 0 and not out.is_pad[0].any()
    torch.testing.assert_close(out.pooled.norm(dim=-1), torch.ones(2))
    near, far = encoder.encode(["pick up the red cube", "close the sliding door"]).pooled
    lift = encoder.encode(["lift the red block"]).pooled[0]
    assert lift @ near > lift @ far  # paraphrases land closer than unrelated instructions
    assert not any(p.requires_grad for p in encoder.model.parameters())


def test_an_encoder_path_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(LanguageError, match="config.json"):
        resolve_encoder(tmp_path)


def test_the_evaluation_loads_a_checkpoint_with_the_chunk_execution_it_is_asked_for(checkpoint, monkeypatch):
    from robolang.evaluation import policies
    from robolang.policy import inference

    monkeypatch.setattr(inference, "SentenceEncoder", lambda *a, **k: HashEncoder())  # no model files here

    p = policies.load_policy(checkpoint, actions_per_chunk=2)
    assert (p.execution, p.actions_per_chunk) == ("chunk", 2)
    assert policies.load_policy(checkpoint).actions_per_chunk == p.chunk_size  # null: the whole chunk
    with pytest.raises(
        policies.ControllerError, match=f"actions_per_chunk=99 is more than its chunk of {p.chunk_size}"
    ):
        policies.load_policy(checkpoint, actions_per_chunk=99)
