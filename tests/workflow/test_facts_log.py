"""The lead's workflow writes its facts log: every fact its state proves and every fact of
the messages it applied, at most one write per workflow task, never holding back an email
or an event, whatever the store does."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner

from nurture.domain.factlog import Fact
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived, FormPosted, LeadMessage
from nurture.domain.sequences.models import assign_variant
from tests.conftest import Harness
from tests.helpers import event, persona_lead, submission
from tests.waiting import eventually, sent, view_when
from tests.workflow.facttools import (
    FailingStore,
    HangingStore,
    logged_facts,
    message_facts,
    writes_per_task,
)
from workflows.lead_facts import FACTS_TIMEOUT
from workflows.sequences import REGISTRY, Sequence, sequence


async def post(h: Harness, lead_id: str, views: int = 6) -> list[LeadMessage]:
    """A persona's form, its thank-you, then ``views`` product-page visits (six make it an
    MQL); returns what was told."""
    now = await h.now()
    form = submission(persona_lead(f"{lead_id}@globex.example"), at=now)
    await h.gateway.submit_form(lead_id, form)
    await view_when(h, lead_id, lambda v: sent(v, "thank_you"))
    told: list[LeadMessage] = [FormPosted(form=form)]
    for _ in range(views):
        told.append(EventReceived(event=event("page_viewed", at=now, section="product")))
        await h.gateway.tell(lead_id, told[-1])
    return told


async def expected(h: Harness, lead_id: str, told: list[LeadMessage]) -> dict[str, Fact]:
    """What the lead must have logged: its state's facts and its messages'."""
    facts = [*await logged_facts(h.client, lead_id), *message_facts(lead_id, told)]
    return {fact.id: fact for fact in facts}


async def settled(
    h: Harness, lead_id: str, told: list[LeadMessage], within: float = 20
) -> dict[str, Fact]:
    """What the lead must have logged, once the store holds exactly that (the lead's
    sequences may still add facts meanwhile: each check asks again)."""
    want: dict[str, Fact] = {}

    async def same() -> bool:
        want.clear()
        want.update(await expected(h, lead_id, told))
        return dict(h.facts.facts) == want

    try:
        await eventually(same, within)
    except AssertionError as exc:
        have = dict(h.facts.facts)
        missing = sorted(want[i].kind for i in set(want) - set(have))
        extra = sorted(have[i].kind for i in set(have) - set(want))
        changed = sorted(have[i].kind for i in set(have) & set(want) if have[i] != want[i])
        raise AssertionError(f"missing {missing}, extra {extra}, changed {changed}") from exc
    return want


class TestLiveFacts:
    """A form and events give the facts the lead's state and messages prove, written as
    they happen. (On a server of their own: a lead terminated while in a sequence has been
    seen to leave a shared time-skipping server unable to skip time, facts or none.)"""

    async def test_form_events_stage_and_email(self, harness, time_env) -> None:
        """Creation, the form, six visits, the buying stage, the MQL, the thank-you planned
        and sent, the evaluation track entered: in the store exactly as the state and the
        messages prove them."""
        async with harness(env=time_env) as h:
            told = await post(h, "facts-live")
            await view_when(h, "facts-live", lambda v: v.stage == "mql")
            want = await settled(h, "facts-live", told)
            required = Counter(
                [
                    "lead_created",
                    "form_submitted",
                    *["event_received"] * 6,
                    "buying_stage_changed",
                    "stage_changed",
                    "email_planned",
                    "email_sent",
                    "sequence_entered",
                ]
            )
            # And, when the send window is open at the server's hour, the track's first email.
            assert required <= Counter(f.kind for f in want.values())

    async def test_at_most_one_write_per_workflow_task(self, harness, time_env) -> None:
        """However many passes and messages, no workflow task makes two writes, and the
        store saw no more writes than the lead had workflow tasks."""
        async with harness(env=time_env) as h:
            told = await post(h, "facts-tasks", views=8)
            await settled(h, "facts-tasks", told)
            await h.quiet()
            counts = await writes_per_task(h.client, "facts-tasks")
            assert max(counts) == 1
            assert 1 <= sum(counts) <= h.facts.appends <= len(counts)


class TestFailingStore:
    """A store that fails never holds the lead back; once it is back, every fact is written,
    once. (Real time, on the dev server: retries back off in seconds.)"""

    async def test_fails_twice_then_works(self, harness, dev_env) -> None:
        """The thank-you goes at once; two failed writes later every fact is there, each
        written by one successful batch."""
        store = FailingStore(failures=2)
        async with harness(env=dev_env, fact_store=store) as h:
            started = time.monotonic()
            told = await post(h, "facts-flaky", views=0)
            assert time.monotonic() - started < 5
            want = await settled(h, "facts-flaky", told)
            assert store.attempts >= 3
            ids = [fact.id for batch in store.batches for fact in batch]
            assert sorted(ids) == sorted(want)

    async def test_a_dead_store_stops_nothing(self, harness, dev_env) -> None:
        """The store never works: the lead still thanks, and takes each event at once
        (no retry waits inside its workflow task): six visits make it an MQL in seconds."""
        store = FailingStore(failures=None)
        async with harness(env=dev_env, fact_store=store) as h:
            await post(h, "facts-dead", views=0)
            await eventually(lambda: _holds(store.attempts >= 2))
            started = time.monotonic()
            await post_views(h, "facts-dead", 6)
            await view_when(h, "facts-dead", lambda v: v.stage == "mql")
            assert time.monotonic() - started < 3
            assert store.facts == {}

    async def test_a_hanging_store_holds_an_event_back_one_attempt_at_most(
        self, harness, dev_env
    ) -> None:
        """A write that hangs holds the lead's workflow task until the attempt times out:
        an event told meanwhile is applied within that, not after the store is back."""
        store = HangingStore()
        async with harness(env=dev_env, fact_store=store) as h:
            await post(h, "facts-hang", views=0)
            await eventually(lambda: _holds(store.attempts >= 1))
            started = time.monotonic()
            told = await post_views(h, "facts-hang", 1)
            await view_when(h, "facts-hang", lambda v: v.last_activity_at == told)
            assert time.monotonic() - started < FACTS_TIMEOUT.total_seconds() + 1.5
            assert store.facts == {}
            store.release.set()
            await eventually(lambda: _holds(bool(store.facts)), within=15)


@pytest.fixture
def split_sequence(always_open: Path) -> Iterator[Path]:
    """A sequence that splits its leads twice and sends, entered by every new lead (a
    rule in the project file returned); registered for the test only."""

    @sequence("split-test", version=1)
    class SplitTest(Sequence):
        async def steps(self) -> None:
            self.split("offer", ["x"], holdout=0.5)
            self.split("subject", ["a", "b"])
            await self.send("buying_guide")

    rule = '\n[[enrolment]]\nsequence = "split-test"\npriority = 100\nstages = ["new"]\n'
    always_open.write_text(always_open.read_text() + rule)
    yield always_open
    del REGISTRY[("split-test", 1)]


class TestSplit:
    """A sequence's A/B assignments reach the lead and the log: one fact per experiment
    (the holdout as no variant), and its emails say the variants they went out in."""

    async def test_assignments_and_the_email_they_shaped(
        self, harness, split_sequence, time_env
    ) -> None:
        # Unsandboxed: the sandbox would import the sequences afresh, without this one.
        runner = UnsandboxedWorkflowRunner()
        async with harness(project_file=split_sequence, workflow_runner=runner, env=time_env) as h:
            told = await post(h, "facts-split", views=0)
            want = await settled(h, "facts-split", told)
            variants = {
                "offer": assign_variant("facts-split", "offer", {"x": 1}, 0.5),
                "subject": assign_variant("facts-split", "subject", {"a": 1, "b": 1}),
            }
            assigned = [f.data for f in want.values() if f.kind == "variant_assigned"]
            assert {d["experiment"]: d["variant"] for d in assigned} == variants
            assert {(d["sequence"], d["version"], d["enrolment"]) for d in assigned} == {
                ("split-test", 1, 1)
            }
            (mail,) = [
                f.data
                for f in want.values()
                if f.kind == "email_sent" and f.data["template"] == "buying_guide"
            ]
            assert (mail["sequence"], mail["version"], mail["step"]) == ("split-test", 1, 1)
            assert mail["variant"] == variants


class TestContinueAsNew:
    """Facts not yet written when the lead continues as new are carried into the next run
    and written there."""

    async def test_unwritten_facts_are_carried(self, harness, dev_env) -> None:
        store = FailingStore(failures=None)
        async with harness(env=dev_env, fact_store=store, max_inbound_per_run=3) as h:
            told = await post(h, "facts-carry")
            await view_when(h, "facts-carry", lambda v: v.stage == "mql")
            carried = await _carried(h, "facts-carry")
            assert {"lead_created", "form_submitted", "email_sent"} <= set(carried)
            store.failures = 0
            await settled(h, "facts-carry", told, within=40)


async def post_views(h: Harness, lead_id: str, views: int) -> object:
    """``views`` visits to the product page now; returns when they happened."""
    now = await h.now()
    for _ in range(views):
        await h.gateway.tell(
            lead_id, EventReceived(event=event("page_viewed", at=now, section="product"))
        )
    return now


async def _carried(h: Harness, lead_id: str) -> list[str]:
    """The kinds of the facts the lead's latest run was started with, unwritten, once it
    is a run continued as new (the lead answers queries before its task completes)."""
    handle = h.client.get_workflow_handle(workflow_id_for(lead_id))
    kinds: list[str] = []

    async def continued() -> bool:
        async for first in handle.fetch_history_events():
            started = first.workflow_execution_started_event_attributes
            if not started.continued_execution_run_id:
                return False
            payload = json.loads(started.input.payloads[0].data)
            kinds[:] = [fact["kind"] for fact in payload["unwritten_facts"]]
            return True
        return False

    await eventually(continued)
    return kinds


async def _holds(value: bool) -> bool:
    return value
