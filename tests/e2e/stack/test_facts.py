"""The facts log on the real stack: a worker SIGKILLed mid-run loses and doubles no fact, and
``nurture facts backfill`` gives back what the live log wrote.

On a stack of this module's own (three signals per run, so leads continue as new often): a
backfill writes facts for every running lead, and the other tests' leads must not add
facts meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nurture.adapters.factlog import open_fact_store
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.domain.factlog import Fact, fact_id
from nurture.testing import ScriptedSmtpServer
from tests.e2e.conftest import api_client, make_project_home, running_stack
from tests.e2e.stack.tools import HEADERS, lead_when, reach_evaluation, wait_until
from workflows import LeadWorkflow

pytestmark = pytest.mark.e2e

TOLD = frozenset({"form_submitted", "event_received", "email_opened", "email_clicked"})
"""Kinds of facts only a message proves: a backfill cannot give them back."""


@pytest.fixture(scope="module")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    env = {"NURTURE_API_KEYS": "e2e-key", "NURTURE_MAX_INBOUND_PER_RUN": "3", "SMTP_TIMEOUT": "5"}
    with running_stack(make_project_home(tmp_path_factory), smtp.port, env) as dev:
        yield dev


@pytest.fixture(scope="module")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client


def store_url(stack: DevStack) -> str:
    return f"sqlite:///{stack.data / 'ledger.sqlite3'}"


async def stored(stack: DevStack, lead_ids: set[str] | None = None) -> list[Fact]:
    """The facts in the stack's store (of these leads, or all)."""
    store = open_fact_store(store_url(stack), stack.home)
    try:
        return [fact async for fact in store.read(lead_ids=lead_ids)]
    finally:
        await store.close()


async def logged(stack: DevStack, lead_id: str) -> list[Fact]:
    """The lead's ``logged_facts`` query."""
    client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
    handle = client.get_workflow_handle_for(LeadWorkflow.run, f"lead-{lead_id}")
    return await handle.query(LeadWorkflow.logged_facts)


async def runs(stack: DevStack, lead_id: str) -> int:
    """How many runs the lead's workflow has had (its continue-as-new chain)."""
    client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
    count, run_id = 0, None
    while True:
        handle = client.get_workflow_handle(f"lead-{lead_id}", run_id=run_id)
        async for first in handle.fetch_history_events():
            started = first.workflow_execution_started_event_attributes
            count, run_id = count + 1, started.continued_execution_run_id
            break
        if not run_id:
            return count


def post_event(api: httpx.Client, lead_id: str, event_id: str) -> None:
    body = {
        "lead_id": lead_id,
        "type": "page_viewed",
        "event_id": event_id,
        "properties": {"section": "product"},
    }
    response = api.post("/v1/events", headers=HEADERS, json=body)
    assert response.status_code == 202, response.text


def meaning(fact: Fact) -> tuple[object, ...]:
    """What happening a fact stands for, whatever its id: two facts with the same meaning
    are one happening logged twice."""
    data = fact.data
    if fact.kind.startswith("email_") and "key" in data and fact.kind not in TOLD:
        return (fact.lead_id, fact.kind, data["key"])
    if fact.kind in ("form_submitted",):
        return (fact.lead_id, fact.kind, data["submission"])
    if fact.kind in ("sequence_entered", "sequence_ended"):
        return (fact.lead_id, fact.kind, data["workflow_id"])
    if fact.kind == "lead_created":
        return (fact.lead_id, fact.kind)
    # A value may be a mapping (an event's properties): compared as its text.
    return (fact.lead_id, fact.kind, fact.at, tuple(sorted((k, str(v)) for k, v in data.items())))


class TestWorkerKilled:
    """A worker SIGKILLed while leads take forms and events, restarted: every fact the
    leads' states and messages prove is in the log, once."""

    def test_no_fact_missing_none_doubled(self, api: httpx.Client, stack: DevStack) -> None:
        told: dict[str, set[str]] = {}
        for name in ("kim", "kat", "kip"):
            response = api.post(
                "/v1/forms/white-paper",
                data={"email": f"{name}@e2e.example", "first_name": name.title()},
            )
            assert response.status_code == 202, response.text
            answer = response.json()
            lead_id = answer["lead_id"]
            told[lead_id] = {fact_id(lead_id, "form_submitted", f"form:{answer['submission_id']}")}
        for n in range(8):
            for lead_id in told:
                post_event(api, lead_id, f"{lead_id[:6]}-{n}")
                told[lead_id].add(fact_id(lead_id, "event_received", f"{lead_id[:6]}-{n}"))
            if n in (2, 5):  # mid-stream: the worker is applying, sending, writing
                stack.get("worker").kill()
                time.sleep(0.5)
                stack.start_worker()
        for lead_id in told:
            lead_when(api, lead_id, lambda v: v["stage"] == "mql", within=60)
        proved: dict[str, Fact] = {}
        have: list[Fact] = []

        def complete() -> bool:
            # The store read in the same check as the states: a sequence may send its next
            # email at any moment, and a later read would hold a fact these states lack.
            proved.clear()
            for lead_id in told:
                proved.update((f.id, f) for f in asyncio.run(logged(stack, lead_id)))
            have[:] = asyncio.run(stored(stack, set(told)))
            return {f.id for f in have} == set(proved).union(*told.values())

        wait_until(complete, within=60)
        assert [f for f in have if f.kind not in TOLD] == sorted(proved.values(), key=_order)
        assert sorted(f.kind for f in have if f.kind in TOLD) == sorted(
            ["form_submitted"] * 3 + ["event_received"] * 24
        )
        doubled = [m for m, n in Counter(map(meaning, have)).items() if n > 1]
        assert doubled == []
        assert stack.dead() == []
        # Nine messages, three per run: each lead continued as new, with facts to carry.
        assert all(asyncio.run(runs(stack, lead_id)) >= 2 for lead_id in told)


class TestBackfill:
    """``nurture facts backfill`` writes, from the leads' states, the facts the live log
    wrote (ids and data), and a second run adds nothing."""

    def test_backfill_gives_the_live_facts_back(
        self, api: httpx.Client, stack: DevStack, tmp_path: Path
    ) -> None:
        leads = [reach_evaluation(api, name) for name in ("bo", "bea")]
        for lead_id in leads:
            lead_when(api, lead_id, lambda v: v["stage"] == "mql" and bool(v["sequence"]), 30)

        everyone: set[str] = set()

        def states() -> dict[str, Fact]:
            """The facts every lead's state proves, by id."""
            return {f.id: f for lead_id in everyone for f in asyncio.run(logged(stack, lead_id))}

        def settled() -> bool:
            # Every lead of the shared stack, not only these two: the backfill reads them
            # all, and one still writing (its sequence's email, say) would differ.
            everyone.update(leads, (f.lead_id for f in asyncio.run(stored(stack))))
            have = {f.id: f for f in asyncio.run(stored(stack, everyone)) if f.kind not in TOLD}
            return have == states()

        # A sequence may send its next email at any moment (its send window opens at the
        # wall clock's mercy): a round in which a lead moved between the two reads proves
        # nothing and is run again; one in which none moved must give the live log back.
        for _ in range(5):
            wait_until(settled, within=30)
            live = asyncio.run(stored(stack))
            assert {"lead_created", "stage_changed"} <= {f.kind for f in live}
            before = states()
            asyncio.run(_forget(stack, {f.lead_id for f in live}))
            assert asyncio.run(stored(stack)) == []
            first = self.backfill(stack)
            back = asyncio.run(stored(stack))
            if states() == before:
                break
        else:
            pytest.fail("the leads never stayed still through a backfill")
        assert {f.id: f for f in back} == {f.id: f for f in live if f.kind not in TOLD}
        assert first.endswith(f"{len(back)} new")
        assert self.backfill(stack).endswith(" 0 new")

    def backfill(self, stack: DevStack) -> str:
        """``nurture facts backfill`` against the stack; its last line."""
        done = subprocess.run(
            [sys.executable, "-m", "nurture.cli", "facts", "backfill"],
            env={**stack.env(), "TEMPORAL_ADDRESS": f"127.0.0.1:{stack.ports.temporal}"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]


async def _forget(stack: DevStack, lead_ids: set[str]) -> None:
    """Delete the leads' facts as a database from before the facts log lacks them: a plain
    delete, not an erasure (which would also refuse their facts from then on)."""

    def delete() -> None:
        with sqlite3.connect(stack.data / "ledger.sqlite3") as db:
            db.executemany("DELETE FROM nurture_facts WHERE lead_id = ?", [(i,) for i in lead_ids])

    await asyncio.to_thread(delete)


def _order(fact: Fact) -> tuple[str, object, str]:
    """The store's reading order: by lead, then moment, then id."""
    return (fact.lead_id, fact.at, fact.id)
