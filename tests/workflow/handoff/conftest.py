"""Fixtures of the hand-off tests: the team file, and the name of their Temporal server."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflow.handoff.handofftools import TEAM


@pytest.fixture
def sales_env(time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The test's own time-skipping server (the name the hand-off tests have always used)."""
    return time_env


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.toml"
    path.write_text(TEAM)
    return path
