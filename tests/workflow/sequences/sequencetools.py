"""What the sequence tests share: a lead snapshot, starting a SequenceWorkflow, waiting for its
sends and reading when each went out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHandle

from nurture.domain.models import LeadEvent
from nurture.domain.sequences.models import LeadSnapshot, SequenceInput, SequenceStatus
from tests.conftest import Harness
from tests.waiting import eventually
from workflows import SequenceWorkflow

__all__ = [
    "event",
    "offsets",
    "saturday_before_spring_change",
    "snapshot",
    "start",
    "status_when",
]


def snapshot(lead_id: str, **changes: object) -> LeadSnapshot:
    fields: dict[str, object] = {
        "lead_id": lead_id,
        "email": f"{lead_id}@seq.example",
        "full_name": "Ada Lovelace",
        "timezone": "Europe/Paris",
        "attributes": {"first_name": "Ada", "full_name": "Ada Lovelace"},
        **changes,
    }
    return LeadSnapshot.model_validate(fields)


async def start(
    h: Harness, lead: LeadSnapshot, name: str = "evaluation", version: int = 1
) -> WorkflowHandle[SequenceWorkflow, object]:
    workflow_id = f"seq-test-{uuid.uuid4().hex[:8]}"
    h.started.append(workflow_id)
    return await h.client.start_workflow(
        SequenceWorkflow.run,
        SequenceInput(name=name, version=version, enrolment=1, lead=lead),
        id=workflow_id,
        task_queue=h.task_queue,
    )


async def status_when(
    handle: WorkflowHandle[SequenceWorkflow, object], sent: int
) -> SequenceStatus:
    box: list[SequenceStatus] = []

    async def check() -> bool:
        box[:] = [await handle.query(SequenceWorkflow.get_status)]
        return len([e for e in box[0].emails if e.status == "sent"]) >= sent

    await eventually(check)
    return box[0]


def event(kind: str, at: datetime, **properties: object) -> LeadEvent:
    return LeadEvent.model_validate(
        {"id": uuid.uuid4().hex, "type": kind, "occurred_at": at, "properties": properties}
    )


def offsets(status: SequenceStatus, t0: datetime) -> list[tuple[str, timedelta]]:
    """(template, time after t0 rounded to the minute) for each email sent."""
    return [
        (e.template, timedelta(minutes=round((e.at - t0).total_seconds() / 60)))
        for e in status.emails
    ]


def saturday_before_spring_change(now: datetime) -> datetime:
    """10:00 UTC on the Saturday before the last Sunday of March (EU clocks go forward)
    after ``now``: the timing tests and the simulation's test start there."""
    year = now.year + (1 if now.month >= 3 else 0)
    last_sunday = max(
        datetime(year, 3, d, tzinfo=UTC)
        for d in range(25, 32)
        if datetime(year, 3, d, tzinfo=UTC).isoweekday() == 7
    )
    return last_sunday - timedelta(days=1) + timedelta(hours=10)
