"""End-to-end fixtures: a project folder and a whole stack of real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def project_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder like a user's checkout, with its own .nurture/ data."""
    home = tmp_path_factory.mktemp("home")
    for name in ("worker.py", "config", "templates"):
        (home / name).symlink_to(ROOT / name)
    return home
