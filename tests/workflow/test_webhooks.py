"""Outbound webhooks, end to end on the dev server (real time: retries back off in tenths of
a second): a real receiver on 127.0.0.1 gets each event of a lead once, in order, signed,
whatever its first answers were; a refusal becomes a dead letter that holds nothing back
and is delivered on replay; copies of a batch are delivered once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from nurture.adapters.temporal.webhooks import dead_letters, replay_dead_letters
from nurture.domain.factlog import Fact, fact_id
from nurture.domain.webhooks import (
    WebhookStream,
    WebhookSubscription,
    WebhookTiming,
    webhook_workflow_id,
)
from nurture.services.erasure import erase_lead
from tests.conftest import WH_SECRET, Harness
from tests.waiting import eventually, view_when
from tests.webhookreceiver import HANG, WebhookReceiver
from tests.workflow.test_facts_log import post
from workflows.webhooks import WebhookWorkflow

FAST = WebhookTiming(
    first_retry=timedelta(milliseconds=200),
    max_retry_interval=timedelta(seconds=1),
    idle=timedelta(seconds=5),
)
WANTED = ("lead_created", "stage_changed")


def subscription(receiver: WebhookReceiver, **changes: Any) -> dict[str, WebhookSubscription]:
    values = {
        "url": receiver.url,
        "secret_env": "CRM_WEBHOOK_SECRET",
        "events": ["created", "stage_changed"],
        "timeout": 0.5,
        **changes,
    }
    return {"crm": WebhookSubscription.model_validate(values)}


def wanted(h: Harness, lead_id: str) -> list[Fact]:
    """The lead's facts the subscription wants, in the order they happened."""
    facts = [f for f in h.facts.facts.values() if f.lead_id == lead_id and f.kind in WANTED]
    return sorted(facts, key=lambda f: f.at)


def accepted_by_lead(receiver: WebhookReceiver) -> dict[str, list[dict[str, Any]]]:
    by_lead: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request in receiver.accepted:
        by_lead[request.json["lead_id"]].append(request.json)
    return by_lead


async def all_delivered(h: Harness, receiver: WebhookReceiver, leads: list[str]) -> None:
    async def done() -> bool:
        got = accepted_by_lead(receiver)
        return all(wanted(h, lead) and len(got[lead]) >= len(wanted(h, lead)) for lead in leads)

    await eventually(done, 30)


class TestFailingReceiver:
    """A receiver that fails its first answers (a 500, then none) still gets every event
    once, in order per lead, signed."""

    async def test_every_event_once_in_order(self, harness, dev_env) -> None:
        answers = {0: 500, 1: HANG, 2: 500}
        async with WebhookReceiver(lambda n, _: answers.get(n, 200)) as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                leads = ["wh-order-1", "wh-order-2"]
                for lead in leads:
                    await post(h, lead)
                for lead in leads:
                    await view_when(h, lead, lambda v: v.stage == "mql")
                await all_delivered(h, receiver, leads)
                await h.quiet()
        assert [r.status for r in receiver.requests[:3]] == [500, HANG, 500]
        got = accepted_by_lead(receiver)
        for lead in leads:
            assert [p["id"] for p in got[lead]] == [f"crm:{f.id}" for f in wanted(h, lead)]
            sequences = [p["sequence"] for p in got[lead]]
            assert sequences == sorted(set(sequences))
        keys = [r.headers["x-nurture-delivery"] for r in receiver.accepted]
        assert len(keys) == len(set(keys))
        assert all(r.signed_by(WH_SECRET) for r in receiver.requests)
        assert all(r.json["id"] == r.headers["x-nurture-delivery"] for r in receiver.accepted)

    async def test_copies_of_a_batch_go_once(self, harness, dev_env) -> None:
        """The facts' writer publishing a batch again (a retried attempt) sends nothing
        twice."""
        async with WebhookReceiver() as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                await post(h, "wh-copies", views=0)
                await all_delivered(h, receiver, ["wh-copies"])
                assert h.publisher is not None
                for _ in range(3):
                    await h.publisher.publish(wanted(h, "wh-copies"))
                await h.quiet()
                await eventually(lambda: _no_stream_busy(h, "wh-copies"), 10)
        keys = [r.headers["x-nurture-delivery"] for r in receiver.accepted]
        assert keys == [f"crm:{f.id}" for f in wanted(h, "wh-copies")]


class TestRefusingReceiver:
    """A refusal (a 4xx) is a dead letter at once: the lead goes on, the later events are
    delivered, and a replay delivers the dead letter."""

    async def test_dead_letter_then_replay(self, harness, dev_env) -> None:
        refusing = True

        def answer(n: int, payload: dict[str, Any]) -> int:
            return 422 if refusing and payload["kind"] == "lead_created" else 200

        async with WebhookReceiver(answer) as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                await post(h, "wh-dead")
                await view_when(h, "wh-dead", lambda v: v.stage == "mql")

                async def stage_delivered() -> bool:
                    kinds = [p["kind"] for p in accepted_by_lead(receiver)["wh-dead"]]
                    return "stage_changed" in kinds

                await eventually(stage_delivered, 30)
                letters = await dead_letters(h.client, "wh-dead")
                assert [letter.delivery.fact.kind for letter in letters] == ["lead_created"]
                assert letters[0].attempts == 1
                assert "422" in letters[0].error
                listed = await nurture(dev_env, "webhooks", "list")
                assert "wh-dead" in listed and "crm" in listed and "422" in listed
                refusing = False
                replayed = await nurture(dev_env, "webhooks", "replay", "--lead", "wh-dead")
                assert replayed.startswith("1 dead letter queued again")

                async def created_delivered() -> bool:
                    kinds = [p["kind"] for p in accepted_by_lead(receiver)["wh-dead"]]
                    return "lead_created" in kinds

                await eventually(created_delivered, 30)
                assert await dead_letters(h.client, "wh-dead") == []
        accepted = [p["kind"] for p in accepted_by_lead(receiver)["wh-dead"]]
        assert accepted.count("lead_created") == 1


class TestIdleEnd:
    """A lead's webhook workflow ends once idle; its next event starts another, whose
    sequence still goes on increasing."""

    async def test_ends_then_starts_again(self, harness, dev_env) -> None:
        quick = FAST.model_copy(update={"idle": timedelta(seconds=1)})
        async with WebhookReceiver() as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=quick) as h:
                await post(h, "wh-idle", views=0)
                await all_delivered(h, receiver, ["wh-idle"])
                handle = h.client.get_workflow_handle(webhook_workflow_id("wh-idle"))
                first_run = (await handle.describe()).run_id
                await asyncio.wait_for(handle.result(), 10)
                later = Fact(
                    id=fact_id("wh-idle", "stage_changed", "later"),
                    lead_id="wh-idle",
                    kind="stage_changed",
                    at=datetime.now(UTC),
                    data={"from_stage": "new", "to_stage": "mql"},
                )
                assert h.publisher is not None
                await h.publisher.publish([later])
                await eventually(lambda: _accepted_kind(receiver, "stage_changed"), 10)
                assert (await handle.describe()).run_id != first_run
        sequences = [r.json["sequence"] for r in receiver.accepted]
        assert sequences == sorted(sequences) and len(sequences) == 2


class TestContinueAsNew:
    """A run that took its share of notices continues as new once idle: what it saw goes
    with it (a copy sent after is still dropped), and nothing is lost or sent twice."""

    async def test_carries_on(self, harness, dev_env) -> None:
        short = FAST.model_copy(update={"max_notices_per_run": 2})
        async with WebhookReceiver() as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=short) as h:
                await post(h, "wh-chain")
                await view_when(h, "wh-chain", lambda v: v.stage == "mql")
                await all_delivered(h, receiver, ["wh-chain"])
                handle = h.client.get_workflow_handle(webhook_workflow_id("wh-chain"))

                async def continued() -> bool:
                    started = (await handle.fetch_history()).events[0]
                    attributes = started.workflow_execution_started_event_attributes
                    return bool(attributes.continued_execution_run_id)

                await eventually(continued, 10)
                assert h.publisher is not None
                for _ in range(3):  # copies, to the new run
                    await h.publisher.publish(wanted(h, "wh-chain"))
                await asyncio.sleep(1)
                await eventually(lambda: _no_stream_busy(h, "wh-chain"), 10)
        keys = [r.headers["x-nurture-delivery"] for r in receiver.accepted]
        assert keys == [f"crm:{f.id}" for f in wanted(h, "wh-chain")]


class TestGivingUp:
    """A receiver failing for longer than ``give_up_after`` leaves a dead letter naming the
    attempts and the last error; the queue goes on."""

    async def test_dead_letter_after_the_window(self, harness, dev_env) -> None:
        def answer(n: int, payload: dict[str, Any]) -> int:
            return 503 if payload["kind"] == "lead_created" else 200

        async with WebhookReceiver(answer) as receiver:
            hooks = subscription(receiver)
            short = {"crm": hooks["crm"].model_copy(update={"give_up_after": timedelta(seconds=2)})}
            async with harness(env=dev_env, webhooks=short, webhook_timing=FAST) as h:
                await post(h, "wh-window")
                await view_when(h, "wh-window", lambda v: v.stage == "mql")

                async def given_up() -> bool:
                    return bool(await dead_letters(h.client, "wh-window"))

                await eventually(given_up, 20)
                [letter] = await dead_letters(h.client, "wh-window")
                await eventually(lambda: _accepted_kind(receiver, "stage_changed"), 20)
        assert letter.delivery.fact.kind == "lead_created"
        assert letter.attempts is not None and letter.attempts >= 2
        assert "503" in letter.error
        refused = [r for r in receiver.requests if r.json["kind"] == "lead_created"]
        assert len(refused) == letter.attempts


class TestReplayEveryLead:
    """``replay_dead_letters`` with no lead finds every lead's through visibility."""

    async def test_every_lead(self, harness, dev_env) -> None:
        refusing = True

        def answer(n: int, payload: dict[str, Any]) -> int:
            return 400 if refusing else 200

        async with WebhookReceiver(answer) as receiver:
            hooks = subscription(receiver, events=["created"])
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                leads = ["wh-all-1", "wh-all-2"]
                for lead in leads:
                    await post(h, lead, views=0)

                async def listed() -> bool:
                    found = {
                        letter.delivery.fact.lead_id for letter in await dead_letters(h.client)
                    }
                    return set(leads) <= found

                await eventually(listed, 20)
                refusing = False
                assert await replay_dead_letters(h.client) >= 2
                await eventually(lambda: _accepted_leads(receiver, leads), 20)


async def _accepted_leads(receiver: WebhookReceiver, leads: list[str]) -> bool:
    return set(leads) <= {r.json["lead_id"] for r in receiver.accepted}


class TestNoWorker:
    """With no worker to answer, the command says so in a sentence and exits 1."""

    async def test_list_without_worker(self, dev_env) -> None:
        handle = await dev_env.client.start_workflow(
            WebhookWorkflow.run,
            WebhookStream(lead_id="wh-orphan"),
            id=webhook_workflow_id("wh-orphan"),
            task_queue="nobody-polls-this",
        )
        try:
            code, _, err = await run_nurture(dev_env, "webhooks", "list", "--lead", "wh-orphan")
        finally:
            await handle.terminate()
        assert code == 1
        assert err.startswith("A webhook workflow did not answer")
        assert "Traceback" not in err


async def run_nurture(env: WorkflowEnvironment, *argv: str) -> tuple[int, str, str]:
    """Run the ``nurture`` command in a process of its own (it leaves by ``os._exit``)
    against ``env``'s server, while this test's worker answers: its status and output."""
    address = env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nurture.cli",
        *argv,
        env={**os.environ, "TEMPORAL_ADDRESS": address, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def nurture(env: WorkflowEnvironment, *argv: str) -> str:
    """The command's output; it must succeed."""
    code, out, err = await run_nurture(env, *argv)
    assert code == 0, err
    return out


class TestErasure:
    """Erasing a lead drops what its webhooks had queued and sends the erasure alone, with
    the lead's id; a fact of the lead published late is never sent."""

    async def test_erased_event_alone(self, harness, dev_env) -> None:
        erased = False

        def answer(n: int, payload: dict[str, Any]) -> int:
            return 200 if erased else 503

        async with WebhookReceiver(answer) as receiver:
            hooks = subscription(receiver, events=["created", "stage_changed", "erased"])
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                await post(h, "wh-erased", views=0)
                await eventually(lambda: _has_requests(receiver), 10)
                late = wanted(h, "wh-erased")
                assert h.publisher is not None
                await erase_lead(
                    h.gateway,
                    h.ledger,
                    h.facts,
                    None,
                    "wh-erased",
                    None,
                    b"secret",
                    datetime.now(UTC),
                    announce=h.publisher.publish_erasure,
                )
                erased = True
                await eventually(lambda: _has_accepted(receiver), 10)
                await h.publisher.publish(late)  # a write still in flight at the erasure
                await asyncio.sleep(2)  # more than the longest retry wait of FAST
                assert await _no_stream_busy(h, "wh-erased")
        payloads = [r.json for r in receiver.accepted]
        assert [(p["kind"], p["lead_id"], p["data"]) for p in payloads] == [
            ("erased", "wh-erased", {})
        ]

    async def test_late_fact_dropped_without_erased_subscription(self, harness, dev_env) -> None:
        """No subscription wants ``erased``: nothing is posted for it, and a fact of the
        lead published after the erasure is dropped all the same."""
        async with WebhookReceiver() as receiver:
            hooks = subscription(receiver)
            async with harness(env=dev_env, webhooks=hooks, webhook_timing=FAST) as h:
                await post(h, "wh-gone", views=0)
                await all_delivered(h, receiver, ["wh-gone"])
                late = Fact(
                    id=fact_id("wh-gone", "stage_changed", "late"),
                    lead_id="wh-gone",
                    kind="stage_changed",
                    at=datetime.now(UTC),
                    data={"from_stage": "new", "to_stage": "mql"},
                )
                assert h.publisher is not None
                await erase_lead(
                    h.gateway,
                    h.ledger,
                    h.facts,
                    None,
                    "wh-gone",
                    None,
                    b"secret",
                    datetime.now(UTC),
                    announce=h.publisher.publish_erasure,
                )
                await h.publisher.publish([late])
                await asyncio.sleep(2)
                assert await _no_stream_busy(h, "wh-gone")
        assert [r.json["kind"] for r in receiver.requests] == ["lead_created"]


async def _has_requests(receiver: WebhookReceiver) -> bool:
    return bool(receiver.requests)


async def _accepted_kind(receiver: WebhookReceiver, kind: str) -> bool:
    return any(r.json["kind"] == kind for r in receiver.accepted)


async def _has_accepted(receiver: WebhookReceiver) -> bool:
    return bool(receiver.accepted)


async def _no_stream_busy(h: Harness, lead_id: str) -> bool:
    handle = h.client.get_workflow_handle_for(WebhookWorkflow.run, webhook_workflow_id(lead_id))
    return not await handle.query(WebhookWorkflow.get_queued)
