"""Fixtures of the hand-off tests: the team file, and their Temporal server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.workflow.handoff.handofftools import TEAM


@pytest_asyncio.fixture(loop_scope="session")
async def sales_env(time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The test's own time-skipping server, moved on to the next 09:00 UTC: a server starts
    at the wall clock, and the tests' always-open team still ends its day at
    23:59:59.999999, so a deadline counted across midnight would come a microsecond late
    (and SLA figures would depend on the hour the suite runs)."""
    now = await time_env.get_current_time()
    nine = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    await time_env.sleep(nine - now)
    return time_env


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.toml"
    path.write_text(TEAM)
    return path
