"""Back-pressure on the real stack: when a campaign's marketing sends back up behind a slow
relay, a new lead's thank-you still leaves first (Temporal task-queue priorities)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from temporalio.api.history.v1 import HistoryEvent

from bench.backlog import campaign_form
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.domain.identity import workflow_id_for
from nurture.domain.sequences.models import sequence_workflow_id
from nurture.testing import ScriptedSmtpServer
from tests.e2e.conftest import api_client, make_project_home, running_stack
from tests.e2e.stack.tools import wait_until

pytestmark = pytest.mark.e2e

CAMPAIGN = 30
"""Leads whose marketing email falls due at about the same moment."""

DELAY = 8.0
"""The campaign form's ``second_conversion_delay``, in seconds."""

SLOW = 2.0
"""Seconds the relay takes to answer each message while the backlog forms."""

URGENT = "urgent@e2e.example"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The end-to-end project folder, plus a form whose welcome email (marketing) is due
    ``DELAY`` seconds after the post."""
    home = make_project_home(tmp_path_factory)
    config = home / "config" / "nurture.toml"
    config.write_text(config.read_text() + campaign_form(DELAY))
    return home


@pytest.fixture(scope="module")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(home: Path, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    # One relay connection: the worker takes one send at a time, so a backlog forms in
    # Temporal's mail queue, where priorities order it.
    env = {"NURTURE_API_KEYS": "e2e-key", "NURTURE_API_PUBLIC_RATE": "off", "SMTP_POOL_SIZE": "1"}
    with running_stack(home, smtp.port, env) as dev:
        yield dev


@pytest.fixture(scope="module")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client


def _post(api: httpx.Client, email: str) -> str:
    """Post the campaign form; the new lead's id."""
    response = api.post("/v1/forms/campaign", data={"email": email})
    assert response.status_code == 202, response.text
    return str(response.json()["lead_id"])


def _template(message: EmailMessage) -> str:
    return str(message["X-Nurture-Template"])


def _to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


async def _priorities(stack: DevStack, workflow_id: str) -> list[tuple[str, int]]:
    """The priority keys a workflow's history records: its start, then each activity."""
    client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
    found: list[tuple[str, int]] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        found += _priority_of(event)
    return found


def _priority_of(event: HistoryEvent) -> list[tuple[str, int]]:
    if event.HasField("workflow_execution_started_event_attributes"):
        started = event.workflow_execution_started_event_attributes
        return [("started", started.priority.priority_key)]
    if event.HasField("activity_task_scheduled_event_attributes"):
        scheduled = event.activity_task_scheduled_event_attributes
        return [(scheduled.activity_type.name, scheduled.priority.priority_key)]
    return []


class TestThankYouFirst:
    """A new lead's thank-you overtakes a campaign's backlog of marketing sends."""

    def test_thank_you_overtakes_marketing_backlog(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """Thirty welcome emails fall due while the relay takes 2 s a message; a form posted
        then has its thank-you sent after at most the send under way and one more, and most
        of the campaign after it."""
        campaign = [f"campaign-{n}@e2e.example" for n in range(CAMPAIGN)]
        for address in campaign:
            _post(api, address)
        wait_until(lambda: _count(smtp, "thank_you") >= CAMPAIGN, within=60)
        # Each welcome falls due DELAY after its lead's thank-you: all of them by then.
        smtp.answer_after = SLOW
        all_due = time.monotonic() + DELAY
        wait_until(lambda: time.monotonic() > all_due + 1, within=DELAY + 5)
        before = len(smtp.messages)
        _post(api, URGENT)
        with contextlib.suppress(AssertionError):  # without priorities it never comes
            wait_until(lambda: any(_to(m) == URGENT for m in smtp.messages), within=2 * SLOW + 2)
        smtp.answer_after = 0
        wait_until(lambda: _count(smtp, "second_conversion", campaign) >= CAMPAIGN, within=60)
        wait_until(lambda: any(_to(m) == URGENT for m in smtp.messages))

        after = smtp.messages[before:]
        at = next(i for i, m in enumerate(after) if _to(m) == URGENT)
        ahead = [f"{_template(m)} to {_to(m)}" for m in after[:at]]
        behind = sum(1 for m in after[at + 1 :] if _to(m) in campaign)
        assert _template(after[at]) == "thank_you"
        assert len(ahead) <= 2, f"{len(ahead)} sends went first, {behind} after: {ahead}"
        assert behind >= CAMPAIGN / 2, f"only {behind} campaign sends were left behind it"

    def test_priorities_recorded_in_history(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """The server records what nurture asked for: the lead at 2 and its thank-you at 1,
        its welcome sequence at 4 and the sequence's marketing send at 5."""
        lead_id = _post(api, "recorded@e2e.example")
        wait_until(
            lambda: any(
                _to(m) == "recorded@e2e.example" and _template(m) == "second_conversion"
                for m in smtp.messages
            ),
            within=DELAY + 30,
        )
        lead = asyncio.run(_priorities(stack, workflow_id_for(lead_id)))
        welcome = asyncio.run(_priorities(stack, sequence_workflow_id(lead_id, "welcome", 1)))
        assert lead[0] == ("started", 2)
        assert ("send_email", 1) in lead
        assert welcome[0] == ("started", 4)
        assert ("send_email", 5) in welcome


def _count(smtp: ScriptedSmtpServer, template: str, to: list[str] | None = None) -> int:
    return sum(1 for m in smtp.messages if _template(m) == template and (not to or _to(m) in to))
