"""Paired comparison of evaluations on the same episodes (``robolang eval compare=[A,B,...]``).

Two policies evaluated with the same settings and seed meet the same episodes (start state,
instruction, seed), so the comparison that counts is per episode: how many succeed under one and
not the other, and McNemar's exact test on those two counts (the episodes both solve or both fail
say nothing about the difference). With more than two, also how many episodes succeed under k of
the n: whether the policies fail on the same episodes (what they cannot do) or on different ones
(each its own slips, what averaging or more seeds can remove). Chains are paired the same way: on
how many shared chains each arm went further than the first and on how many less, with the sign
test on those two counts (an evaluation of chains alone, ``episodes=0``, compares on its chains).

An arm is one controller of one evaluation's ``results.json`` (the reference rows ``scripted`` and
``zero`` are left out); a folder holding several controllers gives one arm each. Nothing is run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

from robolang.errors import RobolangError
from robolang.evaluation.settings import REFERENCES


class CompareError(RobolangError, ValueError):
    """Results that cannot be compared: missing, damaged, or with no episode in common."""


@dataclass
class Arm:
    """One controller's outcomes: single episodes by key, chains by key (instructions completed)."""

    name: str
    single: dict[tuple, bool] = field(default_factory=dict)
    chains: dict[tuple, int] = field(default_factory=dict)


def load_arms(paths: list[str | Path]) -> list[Arm]:
    """The arms of each evaluation folder (or its ``results.json``), in order."""
    arms = []
    for path in map(Path, paths):
        file = path / "results.json" if path.is_dir() else path
        try:
            episodes = json.loads(file.read_text())["episodes"]
        except FileNotFoundError:
            raise CompareError(f"{file} does not exist: give an evaluation's out folder or its results.json") from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise CompareError(f"{file} is not an evaluation's results.json ({e})") from None
        found: dict[str, Arm] = {}
        unrun = sum(e.get("controller") is None for e in episodes)
        for e in episodes:
            if e.get("controller") in REFERENCES or e.get("controller") is None:
                continue  # a reference row, or an episode no controller ran (no feasible start: `unavailable`)
            arm = found.setdefault(e["controller"], Arm(e["controller"]))
            if e.get("kind") == "chain":
                arm.chains[(e["world"], e["split"], e["index"], e["seed"])] = int(e["completed"])
            elif "success" in e:
                arm.single[(e["world"], e["split"], e["task"], e["index"], e["seed"], str(e.get("args")))] = bool(
                    e["success"]
                )
        if not found and unrun == len(episodes) > 0:
            raise CompareError(f"{file}: no controller ran any of its {unrun} episodes (none had a feasible start)")
        if not found:
            raise CompareError(f"{file} holds no controller other than the references ({', '.join(REFERENCES)})")
        for arm in found.values():
            arm.name = f"{path}" if len(found) == 1 else f"{path} [{arm.name}]"
        arms.extend(found.values())
    return arms


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p: the smaller discordant count against Binomial(n, 1/2) (for chains, the
    sign test on the chains one arm took further and those the other did)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n)


def compare(arms: list[Arm]) -> str:
    """The comparison as text: per arm its successes per split on the shared episodes, its chains, and
    against the first arm the episodes only one of them solves, McNemar's p and the tasks that moved."""
    if len(arms) < 2:
        raise CompareError(f"compare needs two or more evaluated controllers, got {len(arms)}")
    keys = sorted(set.intersection(*(set(a.single) for a in arms)))
    chains = sorted(set.intersection(*(set(a.chains) for a in arms)))
    if not keys and not chains:
        raise CompareError("the evaluations share no episode: were they run with the same seed, tasks and splits?")
    splits = sorted({k[1] for k in keys})
    lines = [f"paired on {len(keys)} single episodes and {len(chains)} chains present in all {len(arms)} evaluations"]
    header = ["arm", *splits, "chains", "only first / only this", "McNemar p", "chain shorter / longer", "sign p"]
    rows = []
    first = arms[0]
    for arm in arms:
        cells = [arm.name] + [_count(arm, [k for k in keys if k[1] == s]) for s in splits]
        cells.append(f"{sum(arm.chains[c] for c in chains) / len(chains):.2f}" if chains else "-")
        if arm is first:
            cells += ["", "", "", ""]
            rows.append(cells)
            continue
        if keys:
            only_first = sum(first.single[k] and not arm.single[k] for k in keys)
            only_this = sum(arm.single[k] and not first.single[k] for k in keys)
            cells += [f"{only_first} / {only_this}", f"{mcnemar_exact(only_first, only_this):.3f}"]
        else:
            cells += ["-", "-"]
        if chains:  # the sign test: chains this arm ended earlier than the first / went further
            shorter = sum(arm.chains[c] < first.chains[c] for c in chains)
            longer = sum(arm.chains[c] > first.chains[c] for c in chains)
            cells += [f"{shorter} / {longer}", f"{mcnemar_exact(shorter, longer):.3f}"]
        else:
            cells += ["-", "-"]
        rows.append(cells)
    lines += _table(header, rows)
    for arm in arms[1:] if keys else []:
        moved = _tasks_moved(first, arm, keys)
        lines.append(f"tasks that moved, first -> {arm.name}: {moved or 'none'}")
    if len(arms) > 2 and keys:
        agree = Counter(sum(a.single[k] for a in arms) for k in keys)
        lines.append(
            f"episodes solved by k of the {len(arms)}: "
            + ", ".join(f"{k}: {agree.get(k, 0)}" for k in range(len(arms) + 1))
        )
    return "\n".join(lines)


def _count(arm: Arm, keys: list[tuple]) -> str:
    won = sum(arm.single[k] for k in keys)
    return f"{won}/{len(keys)} ({100 * won / len(keys):.0f}%)" if keys else "-"


def _tasks_moved(first: Arm, arm: Arm, keys: list[tuple]) -> str:
    by_task: dict[str, list[int]] = {}
    for k in keys:
        counts = by_task.setdefault(k[2], [0, 0, 0])
        counts[0] += first.single[k]
        counts[1] += arm.single[k]
        counts[2] += 1
    return " ".join(f"{task} {a}->{b}/{n}" for task, (a, b, n) in sorted(by_task.items()) if a != b)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
