"""Reading ``configs/eval.yaml``: every value is checked here, where the config is read.

A bad value stops ``robolang eval`` before anything is loaded or simulated, with the key, the
value and what is allowed (``EvalConfigError``, printed by the command line as one line).
``read_settings`` returns the plain dict the workers receive, with ``controllers`` turned into
a list of specs: the named policies first, then the two reference rows (the scripted expert and
the zero action), which every evaluation has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.errors import RobolangError
from robolang.evaluation.sampler import START_POSES

REFERENCES = {
    "scripted": "scripted expert with privileged state (upper bound)",
    "zero": "zero action every step (lower bound)",
}
SHORT_FORM_NAME = "ours"  # checkpoint=PATH is controllers={ours: PATH}
EXECUTIONS = ("chunk", "ensemble")  # how a robolang checkpoint executes its chunks
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # names become video file names
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")
# key: (smallest value, what the key is) for the whole-number settings
WHOLE_NUMBERS = {
    "episodes": (0, "seeded episodes per task, split and world"),
    "chains": (0, "chains per world and chain split"),
    "chain_length": (1, "instructions per chain"),
    "max_steps": (1, "control steps per instruction"),
    "max_tries": (1, "derived seeds tried per episode"),
    "seed": (0, "the evaluation's seed"),
    "workers": (1, "local processes, or Ray tasks with ray_address"),
    "videos": (0, "successes and failures shown per controller"),
}
FLAGS = ("overwrite", "resume", "match_cameras", "trace", "ground")


class EvalConfigError(RobolangError, ValueError):
    """A value of ``configs/eval.yaml`` (or an override of it) that cannot be used."""


def read_settings(cfg: DictConfig) -> dict:
    """The validated plain config, with ``controllers`` as a list of specs (see module doc)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    for key, (low, what) in WHOLE_NUMBERS.items():
        _whole_number(plain, key, low, what)
    for key in FLAGS:
        if not isinstance(plain.get(key), bool):
            raise EvalConfigError(f"{key}={_shown(plain.get(key))}: expected true or false")
    if plain["overwrite"] and plain["resume"]:
        raise EvalConfigError("overwrite=true and resume=true exclude each other: start over, or continue")
    _choice(plain, "execution", EXECUTIONS)
    per_chunk = plain.get("actions_per_chunk")
    if per_chunk is not None and (isinstance(per_chunk, bool) or not isinstance(per_chunk, int) or per_chunk < 1):
        raise EvalConfigError(
            f"actions_per_chunk={_shown(per_chunk)}: expected null (the whole chunk) or a whole number >= 1"
        )
    _choice(plain, "start_pose", START_POSES)
    away = plain.get("start_away_m")
    if isinstance(away, bool) or not isinstance(away, (int, float)) or not 0 <= away <= 0.4:
        raise EvalConfigError(
            f"start_away_m={_shown(away)}: expected metres in [0, 0.4] (random start poses' distance)"
        )
    if not isinstance(plain.get("torch_device"), str) or not DEVICE_PATTERN.match(plain["torch_device"]):
        raise EvalConfigError(f"torch_device={plain.get('torch_device')!r}: expected cpu, cuda, cuda:N or mps")
    if not isinstance(plain.get("out"), str) or not plain["out"].strip():
        raise EvalConfigError(f"out={plain.get('out')!r}: expected a folder for results.json, report.html, videos/")
    if plain.get("ray_address") is not None and not isinstance(plain["ray_address"], str):
        raise EvalConfigError(f"ray_address={plain['ray_address']!r}: expected auto, ray://host:port, local or null")
    plain["instruction_sets"] = read_instruction_sets(plain.get("instruction_sets"))
    _check_vocabulary(plain)
    _check_grounding(plain)
    plain["controllers"] = controller_specs(
        plain.get("controllers"), plain.pop("checkpoint", None), plain.get("references", list(REFERENCES))
    )
    if not plain["controllers"]:
        raise EvalConfigError("nothing to evaluate: controllers=null and references=[]; name a policy or a reference")
    return plain


def _check_grounding(plain: dict) -> None:
    """``ground=true`` only with splits the task matcher has not seen (see ``robolang.grounding``)."""
    if not plain["ground"]:
        return
    from robolang.captioning.grammar import SPLITS

    held = [s for s in dict.fromkeys([*plain["splits"], *plain["chain_splits"]]) if s in SPLITS and s != "train"]
    if held:
        raise EvalConfigError(
            f"ground=true with held-out splits {held}: the task matcher that grounds instructions holds the "
            "grammar's held-out phrasings and words, so they would not be held out; evaluate them with "
            "ground=false, and ground=true on train and instruction sets (splits=[train,outside] chain_splits=[train])"
        )
    if not isinstance(plain.get("match_cache"), (str, type(None))):
        raise EvalConfigError(f"match_cache={plain.get('match_cache')!r}: expected a folder or null")
    if plain.get("match_tasks") is not None:
        from robolang.captioning.tasks import TASK_IDS

        _names(plain, "match_tasks", list(TASK_IDS), "task ids")


def _shown(value) -> str:
    """A value as it is written in an override (``true``, ``null``, ``'abc'``)."""
    return json.dumps(value) if value is None or isinstance(value, bool) else repr(value)


def _whole_number(plain: dict, key: str, low: int, what: str) -> None:
    value = plain.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EvalConfigError(f"{key}={_shown(value)}: expected a whole number >= {low} ({what})")


def _choice(plain: dict, key: str, allowed) -> None:
    if plain.get(key) not in allowed:
        raise EvalConfigError(f"{key}={plain.get(key)!r}: expected one of {', '.join(allowed)}")


def _names(plain: dict, key: str, allowed, what: str, empty_ok: bool = False) -> None:
    value = plain.get(key)
    if not isinstance(value, list) or (not value and not empty_ok):
        raise EvalConfigError(f"{key}={value!r}: expected a list of {what}, e.g. {key}=[{allowed[0]}]")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise EvalConfigError(f"{key}: unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")


def _check_vocabulary(plain: dict) -> None:
    """Worlds, tasks and splits name things that exist."""
    from robolang.captioning.grammar import SPLITS
    from robolang.captioning.tasks import TASK_IDS
    from robolang.config import config_dir

    worlds = sorted(p.stem for p in (config_dir() / "world").glob("*.yaml"))
    _names(plain, "worlds", worlds, "worlds (configs/world/*.yaml)")
    if plain.get("tasks") is not None:
        _names(plain, "tasks", list(TASK_IDS), "task ids")
    splits = [*SPLITS, *plain["instruction_sets"]]
    _names(plain, "splits", splits, "splits (the grammar's, or an instruction set's name)")
    _names(plain, "chain_splits", splits, "splits (the grammar's, or an instruction set's name)", empty_ok=True)


def read_instruction_sets(sets) -> dict[str, list[dict]]:
    """``instruction_sets`` (name -> JSON-lines file) read into name -> rows, for splits that say
    people's own sentences instead of the grammar's (``sampler.set_sentences``). A relative path
    is looked up from the working folder, then from the project's root (where ``tests/data`` is)."""
    from robolang.captioning.grammar import SPLITS
    from robolang.task_match_eval import InstructionSetError, load

    if sets is None:
        return {}
    if not isinstance(sets, Mapping):
        raise EvalConfigError(f"instruction_sets={sets!r}: expected a map name -> JSON-lines file, or null")
    out = {}
    for name, path in sets.items():
        if name in SPLITS or not NAME_PATTERN.match(str(name)):
            raise EvalConfigError(
                f"instruction_sets: {name!r} cannot name a set (it must be a plain name other than {', '.join(SPLITS)})"
            )
        if not isinstance(path, str) or not path.strip():
            raise EvalConfigError(f"instruction_sets.{name}={path!r}: expected the path of a JSON-lines file")
        found = Path(path)
        if not found.is_absolute() and not found.is_file():
            found = Path(__file__).resolve().parents[2] / path
        try:
            out[name] = load(found if found.is_file() else path)
        except InstructionSetError as e:
            raise EvalConfigError(f"instruction_sets.{name}: {e}") from None
    return out


def controller_specs(controllers, checkpoint=None, references=tuple(REFERENCES)) -> list[dict]:
    """``[{"name", "kind", "path", "target", "about"}]`` (kind ``checkpoint``: a folder the policy
    package loads, whatever it holds; ``target``: built from a config map): the named policies in the order given
    (``checkpoint``, the short form, first as ``ours``), then the ``references`` rows asked for."""
    if (
        not isinstance(references, (list, tuple))
        or not set(references) <= set(REFERENCES)
        or (len(set(references)) != len(references))
    ):
        raise EvalConfigError(
            f"references={references!r}: expected a list of distinct names from {', '.join(REFERENCES)} ([] for none)"
        )
    if controllers is None:
        controllers = {}
    if not isinstance(controllers, Mapping):
        raise EvalConfigError(
            f"controllers={controllers!r}: expected a map of names to checkpoints, "
            "e.g. controllers={ours: runs/policy, act: runs/act}"
        )
    named = dict(controllers)
    if checkpoint is not None:
        if named.get(SHORT_FORM_NAME, checkpoint) != checkpoint:
            raise EvalConfigError(
                f"checkpoint={checkpoint} and controllers.{SHORT_FORM_NAME}={named[SHORT_FORM_NAME]} both name "
                f"'{SHORT_FORM_NAME}'; give one of them"
            )
        named = {SHORT_FORM_NAME: checkpoint, **named}
    specs = [policy_spec(str(name), value) for name, value in named.items()]
    return specs + [{"name": k, "kind": k, "path": None, "target": None, "about": REFERENCES[k]} for k in references]


def policy_spec(name: str, value) -> dict:
    """One named policy: a folder (its kind read from its contents) or a ``{_target_: ...}`` map."""
    if not NAME_PATTERN.match(name) or name in REFERENCES:
        raise EvalConfigError(
            f"controllers.{name}: a name is letters, digits, '_', '.', '-' and not one of the reference rows "
            f"({', '.join(REFERENCES)})"
        )
    if isinstance(value, Mapping):
        if not isinstance(value.get("_target_"), str):
            raise EvalConfigError(f"controllers.{name}: a map needs _target_ (a class with predict), got {value!r}")
        about = f"{value['_target_']} (built from the config)"
        return {"name": name, "kind": "target", "path": None, "target": dict(value), "about": about}
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise EvalConfigError(f"controllers.{name}={value!r}: expected a checkpoint folder or a {{_target_: ...}} map")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise EvalConfigError(
            f"controllers.{name}: no checkpoint at {path} (no such folder); give a checkpoint, a training run "
            "folder or a LeRobot ACT pretrained_model folder"
        )
    return {"name": name, "kind": "checkpoint", "path": str(path), "target": None, "about": f"policy: {path}"}
