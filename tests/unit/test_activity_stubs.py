"""The typed stubs the workflows call (``workflows/activities.py``) match the activities the
worker registers, no workflow calls an activity by its name as a string, and only
``workflows/mail.py`` starts the send activity."""

from __future__ import annotations

import ast
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity

import workflows
from activities import (
    ConfigActivities,
    EmailActivities,
    FactActivities,
    SalesActivities,
    WebhookActivities,
)
from workflows import activities as stubs

IMPLEMENTATIONS = (
    ConfigActivities,
    EmailActivities,
    FactActivities,
    SalesActivities,
    WebhookActivities,
)
WORKFLOWS = Path(workflows.__file__).parent
EXECUTE = {"execute_activity", "start_activity", "execute_local_activity", "start_local_activity"}


def definition(fn: Callable[..., Any]) -> Any:
    # The SDK's own reading of the decorator (name, argument and result types) is what a
    # workflow call and the worker's registration use, so that is what is compared.
    return activity._Definition.must_from_callable(fn)


def implementations() -> dict[str, Callable[..., Any]]:
    """Every activity the worker registers, by activity name."""
    found: dict[str, Callable[..., Any]] = {}
    for cls in IMPLEMENTATIONS:
        for _, member in inspect.getmembers(cls, inspect.isfunction):
            if hasattr(member, "__temporal_activity_definition"):
                found[definition(member).name] = member
    return found


def declared() -> dict[str, Callable[..., Any]]:
    """Every stub, by activity name."""
    return {definition(fn).name: fn for fn in (getattr(stubs, n) for n in stubs.__all__)}


def parameters(fn: Callable[..., Any]) -> list[tuple[inspect._ParameterKind, Any]]:
    """Kind and type of each parameter after ``self``, then the return type."""
    hints = typing.get_type_hints(fn)
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    return [*((p.kind, hints[p.name]) for p in params), (None, hints["return"])]


class TestStubsMatchImplementations:
    """Each stub has the name, parameter types and result type of a registered activity."""

    def test_one_stub_per_registered_activity(self) -> None:
        assert sorted(declared()) == sorted(implementations())

    @pytest.mark.parametrize("name", sorted(declared()))
    def test_same_signature(self, name: str) -> None:
        stub, implementation = declared()[name], implementations()[name]
        assert parameters(stub) == parameters(implementation)
        assert definition(stub).arg_types == definition(implementation).arg_types
        assert definition(stub).ret_type == definition(implementation).ret_type

    def test_a_drifted_stub_is_caught(self) -> None:
        @activity.defn(name="forget_sends")
        async def forget_sends(lead_id: int) -> int:
            raise NotImplementedError

        assert parameters(forget_sends) != parameters(implementations()["forget_sends"])

    async def test_a_stub_never_runs(self) -> None:
        with pytest.raises(NotImplementedError, match="stub"):
            await stubs.forget_sends("lead-1")


def activity_calls(source: str) -> list[tuple[int, ast.expr | None]]:
    """Each call that starts an activity: its line and what it passes as the activity."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in EXECUTE:
            calls.append((node.lineno, node.args[0] if node.args else None))
    return calls


def string_named_calls(source: str) -> list[int]:
    """Lines where an activity is started by a string name."""
    return [line for line, what in activity_calls(source) if isinstance(what, ast.Constant)]


def sends(source: str) -> list[int]:
    """Lines where the send activity is started."""
    return [
        line
        for line, what in activity_calls(source)
        if what is not None and ast.unparse(what).endswith("send_email")
    ]


class TestCalledByReference:
    """Workflows start activities through the stubs, never by a name mypy cannot check."""

    @pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")), ids=lambda p: p.name)
    def test_no_activity_called_by_name(self, path: Path) -> None:
        assert string_named_calls(path.read_text()) == []

    def test_a_call_by_name_is_found(self) -> None:
        source = 'async def f():\n    await workflow.execute_activity("send_email", x)\n'
        assert string_named_calls(source) == [2]


class TestOneSendPath:
    """Only ``workflows/mail.py`` starts the send activity; everyone else calls it."""

    @pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")), ids=lambda p: p.name)
    def test_only_mail_sends(self, path: Path) -> None:
        found = sends(path.read_text())
        assert bool(found) == (path == WORKFLOWS / "mail.py"), found

    def test_a_send_elsewhere_is_found(self) -> None:
        source = "async def f():\n    await workflow.execute_activity(activities.send_email, x)\n"
        assert sends(source) == [2]
