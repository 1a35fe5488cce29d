"""A permanent failure never wedges a lead: an email that cannot be sent is recorded as
failed with its reason, logged for an operator, and the lead goes on (time-skipping server,
real SMTP server)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from nurture.mailer import SmtpMailer
from nurture.settings import SmtpSettings
from nurture.testing import ScriptedSmtpServer
from tests.helpers import event, persona_lead, submission
from tests.waiting import view_when


@pytest.fixture
def relay() -> Iterator[ScriptedSmtpServer]:
    """A relay that does not offer SMTPUTF8, as many do not."""
    with ScriptedSmtpServer() as server:
        yield server


@pytest_asyncio.fixture
async def mailer(relay: ScriptedSmtpServer) -> AsyncIterator[SmtpMailer]:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=relay.port, timeout=5))
    yield mailer
    await mailer.close()


class TestUndeliverableAddress:
    """``josé@…`` through a relay without SMTPUTF8: failed once, and the lead lives on."""

    async def test_the_lead_keeps_scoring_after_its_thank_you_failed(
        self, harness, mailer: SmtpMailer, relay: ScriptedSmtpServer, caplog
    ) -> None:
        caplog.set_level(logging.ERROR)
        lead = persona_lead("josé@globex.example")
        async with harness(mailer=mailer) as h:
            now = await h.now()
            await h.gateway.submit_form("wf-jose", submission(lead, at=now))
            view = await view_when(h, "wf-jose", lambda v: bool(v.emails))
            (thank_you,) = view.emails
            assert (thank_you.template, thank_you.status) == ("thank_you", "failed")
            assert thank_you.detail and "SMTPUTF8" in thank_you.detail
            before = view.score
            for _ in range(3):
                await h.gateway.record_event("wf-jose", event("webinar_registered", at=now))
            view = await view_when(h, "wf-jose", lambda v: v.score > before)
            assert view.score == before + 9
        assert relay.attempts == 0
        assert any("SMTPUTF8" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
