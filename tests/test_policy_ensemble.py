"""Several trained policies as one checkpoint (``robolang ensemble``): written, loaded like one policy,
their bin probabilities averaged; members that read or write different things are refused."""

import json
import shutil

import numpy as np
import pytest
import torch
from test_policy_state import FIELDS, _labelled, _train

from robolang import cli
from robolang.features import KEY_SCENE_STATE, KEY_STATE, STATE_DIM
from robolang.policy import CheckpointError, load_policy
from robolang.policy.ensemble import PolicyEnsemble


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny state policies: two seeds, one with two frames of history and the hand's turn, one
    with a longer chunk."""
    root = tmp_path_factory.mktemp("ensemble")
    play = _labelled(root / "play")
    options = {"a": [], "b": ["train.seed=1"], "history": ["policy.n_obs_steps=2", "policy.grasp_turn=true"],
               "long_chunk": ["policy.chunk_size=6"], "l1": ["policy.action_head=l1"],
               "l1_b": ["policy.action_head=l1", "train.seed=1"]}  # fmt: skip
    for name, extra in options.items():
        assert _train(play, root / name, *extra) == 0
    return root


def _observation(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {KEY_STATE: rng.normal(size=STATE_DIM).astype(np.float32),
            KEY_SCENE_STATE: rng.normal(size=len(FIELDS)).astype(np.float32)}  # fmt: skip


def test_an_ensemble_loads_as_one_privileged_policy_and_decodes_its_members_mean_bin_probabilities(runs):
    out = runs / "abh"
    members = f"members=[{runs / 'a'},{runs / 'b'},{runs / 'history'}]"
    assert cli.main(["ensemble", members, f"out={out}"]) == 0
    manifest = json.loads((out / "ensemble.json").read_text())
    assert manifest["kind"] == "ensemble" and len(manifest["members"]) == 3
    assert not any((out / "members" / str(i) / "training").exists() for i in range(3))  # no optimizer state
    policy = load_policy(out)
    assert isinstance(policy.policy, PolicyEnsemble) and policy.name == "ensemble of 3 privileged_state"
    assert policy.privileged and policy.n_obs_steps == 2 and policy.chunk_size == 4
    assert policy.scene_fields == FIELDS
    for step in range(3):  # the history fills: the two-frame member reads two frames, the others the last
        chunk = policy.predict(_observation(step), "lift the red cube")
    batch = policy._batch("lift the red cube")
    with torch.no_grad():
        assert batch[KEY_STATE].shape[1] == 2
        ensemble = policy.policy
        probabilities = [m.action_logits(ensemble._member_batch(m, batch)).softmax(-1) for m in ensemble.members]
        assert [p.shape for p in probabilities] == [(1, 4, 5, 41)] * 3
        expected = ensemble.members[0].decode_bins(torch.stack(probabilities).mean(0).log())[0].numpy()
        np.testing.assert_allclose(chunk, np.clip(expected, -1, 1), atol=1e-6)
        single = [m.decode_bins(p.log())[0].numpy() for m, p in zip(ensemble.members, probabilities, strict=True)]
        assert not all(np.allclose(chunk, s) for s in single)  # not one member's answer


def test_a_policy_ensembled_with_itself_acts_exactly_as_it_does_alone(runs):
    out = runs / "aa"
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'a'}]", f"out={out}"]) == 0
    alone, twice = load_policy(runs / "a"), load_policy(out)
    for step in range(3):
        observation = _observation(10 + step)
        np.testing.assert_allclose(
            twice.predict(observation, "open the drawer"), alone.predict(observation, "open the drawer"), atol=1e-5
        )


def test_with_an_l1_head_the_members_chunks_are_averaged(runs):
    out = runs / "l1_ab"
    assert cli.main(["ensemble", f"members=[{runs / 'l1'},{runs / 'l1_b'}]", f"out={out}"]) == 0
    ensemble, members = load_policy(out), [load_policy(runs / "l1"), load_policy(runs / "l1_b")]
    observation = _observation(20)
    chunks = [m.predict(observation, "lift the red cube") for m in members]
    assert not np.allclose(chunks[0], chunks[1])
    np.testing.assert_allclose(ensemble.predict(observation, "lift the red cube"), np.mean(chunks, 0), atol=1e-5)


def test_members_that_do_not_fit_together_are_refused_naming_the_difference_and_nothing_is_written(runs, capsys):
    out = runs / "refused"
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'long_chunk'}]", f"out={out}"]) == 2
    assert "differ in policy.chunk_size: 4 vs 6" in capsys.readouterr().err
    assert cli.main(["ensemble", f"members=[{runs / 'a'}]", f"out={out}"]) == 2
    assert "members must be a list of >= 2" in capsys.readouterr().err
    assert cli.main(["ensemble", f"out={out}"]) == 2  # members not given
    assert "members=None is not allowed" in capsys.readouterr().err
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'l1'}]", f"out={out}"]) == 2
    assert "differ in policy.action_head: 'bins' vs 'l1'" in capsys.readouterr().err
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'nothing_here'}]", f"out={out}"]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    assert not out.exists() and not (runs / ".refused.tmp").exists()
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'b'}]", f"out={runs / 'ab'}"]) == 0
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'b'}]", f"out={runs / 'ab'}"]) == 2
    assert "exists" in capsys.readouterr().err
    assert cli.main(["ensemble", f"members=[{runs / 'ab'},{runs / 'a'}]", f"out={out}"]) == 2
    assert "itself an ensemble" in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="at least 2 members"):
        PolicyEnsemble([load_policy(runs / "a").policy])


def test_a_damaged_ensemble_folder_is_refused_naming_the_file(runs):
    out = runs / "damaged"
    assert cli.main(["ensemble", f"members=[{runs / 'a'},{runs / 'b'}]", f"out={out}"]) == 0
    (out / "ensemble.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="ensemble.json is damaged"):
        load_policy(out)
    (out / "ensemble.json").write_text('{"kind": "ensemble", "members": ["x", "y"]}')
    shutil.rmtree(out / "members" / "1")
    with pytest.raises(CheckpointError, match="no checkpoint at .*members/1"):
        load_policy(out)
