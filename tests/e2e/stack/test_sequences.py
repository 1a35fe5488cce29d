"""A lead's sequences on the dev server, and its continue-as-new chain."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    HEADERS,
    lead_when,
    mail_to,
    reach_evaluation,
    wait_until,
)

pytestmark = pytest.mark.e2e


class TestSequencesOnTheDevServer:
    """A lead that reaches evaluation runs the evaluation sequence, counted by the CLI."""

    def test_enrolment_visible_and_counted(self, api: httpx.Client, stack: DevStack) -> None:
        """Form + six product-page visits over HTTP → evaluation v1 running for that lead."""
        headers = HEADERS
        lead_id = reach_evaluation(api, "alan")
        views: list[dict[str, object]] = []

        def enrolled() -> bool:
            views[:] = [api.get(f"/v1/leads/{lead_id}", headers=headers).json()]
            return bool(views[0].get("sequence"))

        wait_until(enrolled)
        assert views[0]["buying_stage"] == "evaluation"
        env = {**stack.env(), "TEMPORAL_ADDRESS": f"127.0.0.1:{stack.ports.temporal}"}
        done = subprocess.run(
            [sys.executable, "-m", "nurture.cli", "sequences", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        rows = {(r["sequence"], r["version"]): r for r in json.loads(done.stdout)}
        assert rows[("evaluation", 1)]["running"] >= 1
        assert rows[("evaluation", 1)]["newest"] is True

    def test_sequence_and_lead_stay_linked_across_continue_as_new(
        self, api: httpx.Client, smtp: ScriptedSmtpServer, stack: DevStack
    ) -> None:
        """Seven signals at three per run: the sequence's first email still lands on the
        lead; a click sent to the lead still reaches the sequence (the case study follows);
        and a demo request, a hand-raise, makes the lead an SQL that stops the sequence."""
        headers = HEADERS
        lead_id = reach_evaluation(api, "edsger")

        def templates(view: dict[str, Any]) -> list[str]:
            return [e["template"] for e in view["emails"]]

        lead_when(api, lead_id, lambda v: "buying_guide" in templates(v))
        assert len(mail_to(smtp, "edsger@e2e.example")) == 2  # thank-you and buying guide
        api.post(
            "/v1/events",
            headers=headers,
            json={
                "lead_id": lead_id,
                "type": "email_clicked",
                "event_id": "edsger-click",
                "properties": {"template": "buying_guide"},
            },
        ).raise_for_status()
        lead_when(api, lead_id, lambda v: "case_study" in templates(v))
        api.post(
            "/v1/events",
            headers=headers,
            json={"lead_id": lead_id, "type": "demo_requested", "event_id": "edsger-demo"},
        ).raise_for_status()
        lead = lead_when(api, lead_id, lambda v: v["sequence"] is None and v["stage"] == "sql")
        tracks = [e for e in lead["enrolments"] if not e["alongside"]]
        assert [(e["sequence"], e["result"]) for e in tracks] == [("evaluation", "stopped")]
        assert asyncio.run(_runs_of(stack, f"lead-{lead_id}")) >= 2, "no continue-as-new"


async def _runs_of(stack: DevStack, workflow_id: str) -> int:
    """How many runs the workflow has had (continue-as-new chain length)."""
    client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    runs = 1
    while run_id := history.events[
        0
    ].workflow_execution_started_event_attributes.continued_execution_run_id:
        runs += 1
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return runs
