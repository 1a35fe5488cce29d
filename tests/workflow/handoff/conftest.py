"""Fixtures of the hand-off tests: one time-skipping server for the whole package, and the
team file; and the order the package's tests run in on that server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_time_skipping
from tests.workflow.handoff.handofftools import TEAM


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def sales_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for this package's router traffic. The shared one has been seen
    to stop skipping time after these tests (updates to a router terminated at clean-up are
    the suspect), which stalls every test after them; the real server is not affected.
    Package-scoped: the hand-off tests span several modules and share one server."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the recycling test last of this package, on the same server, as it ran in the one
    module these tests came from. After it this server no longer skips time; and on a fresh
    server its own first skip times out about one run in two, on the code before the split
    too: a time-skipping server quirk not understood yet. The hook sees the whole session,
    so only this package's slots are reordered."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if item.path.parent == here]
    ours = sorted((items[i] for i in slots), key=lambda item: item.path.name == "test_recycling.py")
    for i, item in zip(slots, ours, strict=True):
        items[i] = item


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.toml"
    path.write_text(TEAM)
    return path
