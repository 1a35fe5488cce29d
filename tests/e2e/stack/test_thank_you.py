"""A form on the real stack: the thank-you arrives, the lead is listed in the UI."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from temporalio.client import Client

from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    mail_to,
    post_form,
    wait_until,
)

pytestmark = pytest.mark.e2e


class TestFormToThankYou:
    """A plain HTML form post becomes one personalised thank-you, fast."""

    def test_thank_you_arrives_with_name_and_link(
        self, api: httpx.Client, smtp: ScriptedSmtpServer
    ) -> None:
        """Name and promised link in the mail, within a couple of seconds."""
        started = time.monotonic()
        post_form(api, "grace@e2e.example", first_name="Grace", last_name="Hopper")
        wait_until(lambda: bool(mail_to(smtp, "grace@e2e.example")), within=10)
        elapsed = time.monotonic() - started
        body = mail_to(smtp, "grace@e2e.example")[0]
        assert "Hello Grace," in body
        assert "https://www.example.com/guides/buying-guide.pdf" in body
        assert elapsed < 5, f"thank-you took {elapsed:.2f}s"

    async def test_lead_found_by_stage_in_visibility(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """A visibility query on stage and score finds the lead, and its read view agrees."""
        lead_id = post_form(
            api,
            "linus@e2e.example",
            first_name="Linus",
            job_title="Growth marketing lead",
            company_size="30",
        )
        wait_until(lambda: bool(mail_to(smtp, "linus@e2e.example")))
        client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
        query = (
            f"WorkflowId = 'lead-{lead_id}' AND NurtureStage = 'new' AND NurtureScore = 8 "
            "AND ExecutionStatus = 'Running'"
        )
        found = await _list_eventually(client, query)
        assert found == [f"lead-{lead_id}"]
        async with httpx.AsyncClient(base_url=str(api.base_url)) as http:
            response = await http.get(f"/v1/leads/{lead_id}", headers={"X-API-Key": "e2e-key"})
        view = response.json()
        assert (view["stage"], view["score"]) == ("new", 8)
        assert [e["template"] for e in view["emails"]] == ["thank_you"]


async def _list_eventually(client: Client, query: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        found = [wf.id async for wf in client.list_workflows(query)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)
