"""Checks of the registered sequences against the configuration, for start-up and
``nurture config check``: plain functions returning the problems, one sentence each.

It lives with the configuration, not with the workflows: it reads the sequences' source,
which the workflow sandbox has no business doing, and compares it with what the
configuration declares.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Collection

import workflows.sequences  # noqa: F401  (registers every shipped sequence)
from nurture.domain.tracking import CLICKED, OPENED
from workflows.sequences.base import REGISTRY, Sequence, goals_of

__all__ = ["event_types_used", "undeclared_event_types"]

_HELPERS = {"opened": OPENED, "clicked": CLICKED}
"""Sequence methods that wait on a tracking event of their own."""


def event_types_used(cls: type[Sequence]) -> set[str]:
    """The event types a sequence names: its goals, what it waits for (``wait_for`` with a
    type, or a predicate comparing ``.type``), ``any_event_except`` and ``opened``/``clicked``."""
    used = {goal for goal in goals_of(cls) if isinstance(goal, str)}
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            used |= _called_with(node)
        elif isinstance(node, ast.Compare):
            used |= _compared_to(node)
    return used


def undeclared_event_types(declared: Collection[str]) -> list[str]:
    """One problem per event type a registered sequence waits for that the configuration
    does not declare (:mod:`nurture.domain.vocabulary`): the API would refuse such events, so the
    step could never see one."""
    problems = []
    for (name, version), cls in sorted(REGISTRY.items()):
        for event_type in sorted(event_types_used(cls) - set(declared)):
            problems.append(
                f"sequence {name!r} v{version} waits on event type {event_type!r}, which no "
                "configuration declares (the API refuses it): add it to `events` in "
                "config/nurture.toml"
            )
    return problems


def _called_with(call: ast.Call) -> set[str]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in _HELPERS:
        return {_HELPERS[name]}
    if name == "wait_for":
        return _strings(call.args[:1])
    if name == "any_event_except":
        return _strings(call.args)
    return set()


def _compared_to(compare: ast.Compare) -> set[str]:
    """``e.type == "a"``, and ``e.type in ("a", "b")`` (a tuple, list or set of them)."""
    sides = [compare.left, *compare.comparators]
    if not any(isinstance(s, ast.Attribute) and s.attr == "type" for s in sides):
        return set()
    collections = [s.elts for s in sides if isinstance(s, ast.Tuple | ast.List | ast.Set)]
    return _strings(sides) | {t for elts in collections for t in _strings(elts)}


def _strings(nodes: Collection[ast.expr]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}
