"""Every module says what it exports, and everything it says it exports exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import activities
import nurture
import workflows


def modules() -> list[str]:
    names = ["activities", "workflows"]
    for package in (nurture, activities, workflows):
        prefix = f"{package.__name__}."
        names += [m.name for m in pkgutil.walk_packages(package.__path__, prefix)]
    return sorted(set(names) | {"nurture"})


@pytest.mark.parametrize("name", modules())
def test_module_declares_its_exports(name: str) -> None:
    """``__all__`` is present, and each name in it resolves."""
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing objects: {missing}"


def test_testing_fakes_are_public() -> None:
    """Users can build their own tests on the fakes nurture ships."""
    from nurture import testing

    assert {"MemoryLedger", "RecordingMailer", "MemoryLeadGateway", "ScriptedSmtpServer"} <= set(
        testing.__all__
    )
