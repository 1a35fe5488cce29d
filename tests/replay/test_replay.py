"""Every saved history replays on today's code: no change breaks a lead in flight."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import LeadWorkflow, SequenceWorkflow

HISTORIES = sorted(Path(__file__).parent.glob("*.json"))
TEXTS = {path: path.read_text() for path in HISTORIES}


def test_histories_exist() -> None:
    """A LeadWorkflow history is kept, and one for every shipped sequence."""
    from workflows.sequences import REGISTRY

    assert any(p.name.startswith("lead_workflow") for p in HISTORIES)
    for name, version in REGISTRY:
        assert any(p.name == f"sequence_{name}_v{version}.json" for p in HISTORIES), name


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replays(path: Path) -> None:
    """The saved history replays without a non-determinism error."""
    history = WorkflowHistory.from_json(path.stem, TEXTS[path])
    replayer = Replayer(
        workflows=[LeadWorkflow, SequenceWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    assert len(history.events) > 10, "a history this short proves little"
