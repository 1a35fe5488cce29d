"""Erasure on the real stack: no trace but the suppression hash."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest
from temporalio.api.history.v1 import History
from temporalio.client import Client

from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    HEADERS,
    lead_when,
    post_form,
    reach_evaluation,
    wait_until,
)

pytestmark = pytest.mark.e2e


async def history_bytes(client: Client, workflow_id: str, run_id: str | None = None) -> bytes:
    """A run's whole history as protobuf bytes: payloads (JSON) appear in it verbatim."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return History(events=history.events).SerializeToString()


class TestErasure:
    """Issue 5's bar: erasure leaves no trace but the suppression hash."""

    async def test_erase_leaves_nothing_findable_by_email(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """A lead with a running sequence (several runs: three signals per run here) is
        erased over HTTP. Then no workflow of it is left, no history in the namespace holds
        its address, the ledger file holds neither its address nor its send records, the
        suppression list holds its keyed hash, and a new form for the address gets no
        marketing mail."""
        email = "erin@e2e.example"
        lead_id = reach_evaluation(api, "erin")
        wait_until(
            lambda: any(
                m["X-Nurture-Template"] == "buying_guide" for m in smtp.messages if email in m["To"]
            ),
            within=20,
        )
        client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
        # The search below can find the address: it is in the lead's own history now.
        assert email.encode() in await history_bytes(client, f"lead-{lead_id}")
        # And another lead lives on, so the search after erasure looks at something.
        post_form(api, "bystander@e2e.example", first_name="Bea")
        response = await asyncio.to_thread(
            api.post, "/v1/leads/erase", headers=HEADERS, json={"email": email}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["suppressed"] and report["send_records_deleted"] == 2
        assert report["workflow_runs_deleted"] >= 3  # lead runs and the sequence

        # Deletion is asynchronous on the server: on the dev server a deleted run can take
        # half a minute to go.
        deadline = time.monotonic() + 90
        while True:
            left = [
                wf.id
                async for wf in client.list_workflows(f'WorkflowId STARTS_WITH "lead-{lead_id}"')
            ]
            if not left or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert left == []
        checked = 0
        async for wf in client.list_workflows():
            assert email.encode() not in await history_bytes(client, wf.id, wf.run_id), wf.id
            checked += 1
        assert checked > 0
        gone = await asyncio.to_thread(api.get, f"/v1/leads/{lead_id}", headers=HEADERS)
        assert gone.status_code == 404

        ledger = (stack.data / "ledger.sqlite3").read_bytes()
        assert email.encode() not in ledger and lead_id.encode() not in ledger
        with sqlite3.connect(stack.data / "ledger.sqlite3") as db:
            rows = db.execute("SELECT reason FROM nurture_suppressions").fetchall()
        assert ("erased",) in rows

        # The person fills a form again: the thank-you is what they asked for, but the
        # suppression (scope: all) stops even that; nothing reaches the relay.
        before = len(smtp.messages)
        post_form(api, email, first_name="Erin")
        view = lead_when(api, lead_id, lambda v: bool(v["emails"]), 20)
        assert view["emails"][0]["status"] == "skipped"
        assert len(smtp.messages) == before
