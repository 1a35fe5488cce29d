"""What the facts log's workflow tests share: stores that fail on purpose, what a lead's
facts should be, and reading its workflow's history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from nurture.domain.factlog import Fact, facts_of_message
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import LeadMessage
from nurture.testing import MemoryFactStore
from workflows import LeadWorkflow

__all__ = ["FailingStore", "HangingStore", "logged_facts", "message_facts", "writes_per_task"]

_LATER = datetime.max.replace(tzinfo=UTC)
"""Later than any moment a test tells of (time-skipping servers reach the 22nd century)."""


class FailingStore(MemoryFactStore):
    """A memory store whose appends fail while ``failures`` is above zero (each failure
    counts one down; ``None``: fail until told otherwise)."""

    def __init__(self, failures: int | None) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0
        self.batches: list[list[Fact]] = []

    async def append(self, facts: Sequence[Fact]) -> int:
        self.attempts += 1
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise ConnectionError("the facts database is down")
        self.batches.append(list(facts))
        return await super().append(facts)


class HangingStore(MemoryFactStore):
    """A memory store whose appends never return until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.attempts = 0

    async def append(self, facts: Sequence[Fact]) -> int:
        self.attempts += 1
        await self.release.wait()
        return await super().append(facts)


async def logged_facts(client: Client, lead_id: str) -> list[Fact]:
    """The lead's ``logged_facts`` query: every fact its state proves."""
    handle = client.get_workflow_handle_for(LeadWorkflow.run, workflow_id_for(lead_id))
    return await handle.query(LeadWorkflow.logged_facts)


def message_facts(lead_id: str, messages: Sequence[LeadMessage]) -> list[Fact]:
    """The facts these messages prove, dated as told (a test tells of nothing later than
    the lead's clock)."""
    return [fact for m in messages for fact in facts_of_message(lead_id, m, _LATER)]


async def writes_per_task(client: Client, lead_id: str) -> list[int]:
    """For each workflow task the lead's current run completed, how many ``record_facts``
    activities it scheduled."""
    handle = client.get_workflow_handle(workflow_id_for(lead_id))
    counts: list[int] = []
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_completed_event_attributes"):
            counts.append(0)
        elif _activity_type(event) == "record_facts":
            counts[-1] += 1
    return counts


def _activity_type(event: HistoryEvent) -> str | None:
    """The type of the activity an event schedules, or runs locally (a marker)."""
    if event.HasField("activity_task_scheduled_event_attributes"):
        return event.activity_task_scheduled_event_attributes.activity_type.name
    marker = event.marker_recorded_event_attributes
    if event.HasField("marker_recorded_event_attributes") and "data" in marker.details:
        return str(json.loads(marker.details["data"].payloads[0].data).get("activity_type"))
    return None
