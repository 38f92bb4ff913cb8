"""The caption tasks: each one object with its predicate, its phrasing and its verbs.

A task says *what changed*, never how (CALVIN's ``tasks.py``): ``Task.holds(states, t0, t1,
args, cfg)`` compares the scene at frame ``t0`` with the scene at frame ``t1``; its
``phrasing`` (``grammar_vocab.templates``) gives the verbs, patterns and goals the grammar
builds instructions from. Tasks are grouped by family, one module each, in the vocabulary's
order: ``holding`` (lift, grasp, put down), ``placement`` (plate, drawer), ``motion`` (push,
rotate, bring to a side, topple), ``arrangement`` (stack, unstack, next to / in front of /
behind) and ``fixtures`` (drawer, door, light, button, the plate itself).

Adding a task is one ``register(Task(...))``: in a family module, in a new module of this
package (imported here automatically, after the families), or anywhere else at run time::

    from robolang.captioning.grammar_vocab import templates
    from robolang.captioning.tasks import Slot, Task, register

    register(Task("tap", (Slot("object"),), tapped, "object", "X touched and let go",
                  templates("X is tapped", {"tap": ("tap {x}",), "touch": "touch {x}"}, ("{x} needs a tap",))))

The captioner, the phrasing grammar (phrasings, held-out splits, version), evaluation and the
expert read the one registry; ``unregister(task_id)`` (or ``with registered(task): ...``)
restores it. ``TASK_IDS`` and ``TASKS`` are read from the registry each time they are looked
up here (``tasks.TASK_IDS``); ``BY_ID`` is a live read-only mapping.
"""

from __future__ import annotations

import importlib
import pkgutil

from robolang.captioning.tasks.base import (
    FIXTURES,
    KINDS,
    REGISTRY,
    Predicate,
    Slot,
    Task,
    TaskError,
    graspable,
    instances,
    phrasing_slots,
    register,
    registered,
    thresholds,
    unregister,
    validate,
)

FAMILIES = ("holding", "placement", "motion", "arrangement", "fixtures")  # the vocabulary's order
_HELPERS = ("base", "common")

for _name in FAMILIES:
    importlib.import_module(f"{__name__}.{_name}")
for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _module.name not in FAMILIES + _HELPERS and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")  # a family added later: no edit here

BY_ID = REGISTRY.by_id

__all__ = [
    "BY_ID",
    "FAMILIES",
    "FIXTURES",
    "KINDS",
    "REGISTRY",
    "TASKS",
    "TASK_IDS",
    "Predicate",
    "Slot",
    "Task",
    "TaskError",
    "get",
    "graspable",
    "instances",
    "phrasing_slots",
    "register",
    "registered",
    "thresholds",
    "unregister",
    "validate",
]


def get(task_id: str) -> Task:
    """The registered task with this id (``TaskError`` listing the known ids otherwise)."""
    return REGISTRY.get(task_id)


def __getattr__(name: str):
    """``TASK_IDS`` and ``TASKS``: the registered ids and tasks, in order, as they are now."""
    if name == "TASK_IDS":
        return REGISTRY.ids()
    if name == "TASKS":
        return tuple(REGISTRY)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
