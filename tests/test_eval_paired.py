"""``robolang eval compare=[...]``: evaluations paired on their shared episodes, nothing run."""

import json

import pytest

from robolang import cli
from robolang.evaluation.paired import CompareError, compare, load_arms, mcnemar_exact


def _single(controller, task, index, success, split="train"):
    return {"kind": "single", "world": "default", "split": split, "task": task, "index": index, "seed": 100 + index,
            "args": ["red_cube"], "controller": controller, "success": success}  # fmt: skip


def _write(folder, outcomes: dict[str, list[bool]], chains: dict[str, int] | None = None):
    """An evaluation folder: per controller its outcomes on lift episodes 0.., plus references."""
    episodes = [_single(c, "lift", i, s) for c, row in outcomes.items() for i, s in enumerate(row)]
    episodes += [_single("scripted", "lift", i, True) for i in range(len(next(iter(outcomes.values()))))]
    for c, done in (chains or {}).items():
        episodes.append({"kind": "chain", "world": "default", "split": "train", "index": 0, "seed": 7,
                         "controller": c, "completed": done})  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"episodes": episodes}))
    return folder


def test_mcnemar_exact_is_the_two_sided_binomial_tail_of_the_discordant_episodes():
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)


def test_two_evaluations_are_paired_episode_by_episode(tmp_path, capsys):
    a = _write(tmp_path / "a", {"ours": [True, True, True, True, True, False]}, {"ours": 3})
    b = _write(tmp_path / "b", {"ours": [False, False, False, False, True, True]}, {"ours": 1})
    assert cli.main(["eval", f"compare=[{a},{b}]"]) == 0
    out = capsys.readouterr().out
    assert "paired on 6 single episodes and 1 chains" in out
    assert "5/6 (83%)" in out and "2/6 (33%)" in out and "3.00" in out and "1.00" in out
    assert "4 / 1" in out and "0.375" in out  # 4 only under a, 1 only under b
    assert "lift 5->2/6" in out and "scripted" not in out  # references are not arms


def test_one_evaluation_of_several_controllers_gives_one_arm_each_and_the_agreement(tmp_path):
    both = _write(tmp_path / "both", {"x": [True, False, True], "y": [True, False, False]})
    third = _write(tmp_path / "third", {"z": [False, False, True]})
    arms = load_arms([both, third])
    assert [a.name for a in arms] == [f"{both} [x]", f"{both} [y]", str(third)]
    text = compare(arms)
    assert "episodes solved by k of the 3: 0: 1, 1: 0, 2: 2, 3: 0" in text


def test_what_cannot_be_compared_is_refused_naming_why(tmp_path, capsys):
    a = _write(tmp_path / "a", {"ours": [True]})
    other = tmp_path / "other"
    other.mkdir()
    episodes = [{**_single("ours", "open_drawer", 0, True), "seed": 999}]
    (other / "results.json").write_text(json.dumps({"episodes": episodes}))
    with pytest.raises(CompareError, match="share no episode"):
        compare(load_arms([a, other]))
    with pytest.raises(CompareError, match="two or more"):
        compare(load_arms([a]))
    assert cli.main(["eval", f"compare=[{a},{tmp_path / 'missing'}]"]) == 2
    assert "missing does not exist" in capsys.readouterr().err
    assert cli.main(["eval", "compare=runs"]) == 2
    assert "compare= must be a list" in capsys.readouterr().err


def _chains_only(folder, completed: list[int], first_seed: int = 50):
    """An evaluation of chains alone (``episodes=0``): chain i completed ``completed[i]`` instructions."""
    episodes = [{"kind": "chain", "world": "default", "split": "train", "index": i, "seed": first_seed + i,
                 "controller": "ours", "completed": n} for i, n in enumerate(completed)]  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"episodes": episodes}))
    return folder


def test_chains_are_paired_with_the_sign_test_and_chains_alone_compare(tmp_path, capsys):
    a = _chains_only(tmp_path / "a", [5, 3, 2, 0, 4, 4])
    b = _chains_only(tmp_path / "b", [1, 0, 2, 0, 0, 0])  # shorter on 4 chains, longer on none, 2 ties
    assert cli.main(["eval", f"compare=[{a},{b}]"]) == 0
    out = capsys.readouterr().out
    assert "paired on 0 single episodes and 6 chains" in out
    assert "3.00" in out and "0.50" in out
    assert "4 / 0" in out and "0.125" in out  # the sign test: 2 / 2**4
    assert "tasks that moved" not in out  # no single episode to move


def test_a_chain_only_evaluation_pairs_with_the_chains_of_a_full_one(tmp_path):
    full = _write(tmp_path / "full", {"ours": [True, False]}, {"ours": 1})
    alone = _chains_only(tmp_path / "alone", [4], first_seed=7)  # the chain `_write` records, seed 7
    text = compare(load_arms([full, alone]))
    assert "paired on 0 single episodes and 1 chains" in text
    assert "0 / 1" in text and "1.000" in text  # longer on the one shared chain: no evidence either way


def test_episodes_no_controller_ran_are_not_an_arm(tmp_path):
    """An episode with no feasible start is recorded once, with no controller (``unavailable``): it is
    neither an arm nor a shared episode (it made two controllers of one evaluation "share no episode")."""
    both = _write(tmp_path / "both", {"x": [True, False], "y": [False, False]})
    results = json.loads((both / "results.json").read_text())
    results["episodes"].append({"kind": "single", "world": "default", "task": "push_forward", "split": "train",
                                "index": 5, "seed": 9, "controller": None, "unavailable": True})  # fmt: skip
    (both / "results.json").write_text(json.dumps(results))
    arms = load_arms([both])
    assert [a.name for a in arms] == [f"{both} [x]", f"{both} [y]"]
    assert "paired on 2 single episodes" in compare(arms) and "1 / 0" in compare(arms)


def test_a_folder_whose_episodes_no_controller_ran_is_refused_saying_so(tmp_path):
    folder = tmp_path / "unrun"
    folder.mkdir()
    episodes = [{"kind": "single", "world": "default", "task": "take_from_drawer", "split": "train", "index": i,
                 "seed": i, "controller": None, "unavailable": True} for i in range(3)]  # fmt: skip
    (folder / "results.json").write_text(json.dumps({"episodes": episodes}))
    with pytest.raises(CompareError, match="no controller ran any of its 3 episodes"):
        load_arms([folder])
    episodes.append(_single("scripted", "lift", 0, True))
    (folder / "results.json").write_text(json.dumps({"episodes": episodes}))
    with pytest.raises(CompareError, match="no controller other than the references"):
        load_arms([folder])
