"""``nurture facts backfill``'s loop: every lead asked once, a few at a time, its answers
written per batch of leads; a lead that cannot answer is named and the others written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from temporalio.client import WorkflowQueryFailedError

from nurture.cli.facts import backfill_facts
from nurture.domain.factlog import Fact, fact_id
from nurture.testing import MemoryFactStore
from tests.helpers import T0


def facts_of(workflow_id: str) -> list[Fact]:
    lead = workflow_id.removeprefix("lead-")
    data = {"source": "inbound", "form": "white-paper"}
    return [
        Fact(id=fact_id(lead, "lead_created"), lead_id=lead, kind="lead_created", at=T0, data=data)
    ]


class Leads:
    """A stand-in for the Temporal client: each lead answers ``logged_facts`` with one
    fact, but for the ones told to fail; it notes how many queries ran at once."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.running = 0
        self.most = 0

    def get_workflow_handle_for(self, _run: Any, workflow_id: str) -> Any:
        leads = self

        class Handle:
            async def query(self, *_: Any, **__: Any) -> list[Fact]:
                leads.running += 1
                leads.most = max(leads.most, leads.running)
                await asyncio.sleep(0.01)
                leads.running -= 1
                if workflow_id in leads.failing:
                    raise WorkflowQueryFailedError("[TMPRL1100] Nondeterminism error")
                return facts_of(workflow_id)

        return Handle()


async def ids(n: int) -> AsyncIterator[str]:
    for i in range(n):
        yield f"lead-L{i}"


class TestBackfillLoop:
    """The loop behind the command, on a stand-in client and a memory store."""

    async def test_every_lead_once_in_batches_a_few_at_a_time(self) -> None:
        leads, store, asked = Leads(), MemoryFactStore(), []
        done = await backfill_facts(
            leads,
            store,
            ids(25),
            concurrency=4,
            batch=10,
            advance=lambda: asked.append(1),
        )
        assert (done.leads, done.facts, done.new, done.failed) == (25, 25, 25, [])
        assert store.appends == 3 and len(asked) == 25
        assert leads.most == 4

    async def test_again_adds_nothing(self) -> None:
        store = MemoryFactStore()
        await backfill_facts(Leads(), store, ids(5))
        again = await backfill_facts(Leads(), store, ids(5))
        assert (again.leads, again.facts, again.new) == (5, 5, 0)

    async def test_a_lead_that_cannot_answer_is_named(self) -> None:
        store = MemoryFactStore()
        leads = Leads(failing=frozenset({"lead-L1"}))
        done = await backfill_facts(leads, store, ids(3))
        assert (done.leads, done.new, done.failed) == (2, 2, ["lead-L1"])
        assert {f.lead_id for f in store.facts.values()} == {"L0", "L2"}
