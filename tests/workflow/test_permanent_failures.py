"""A permanent failure never wedges a lead: an email that cannot be sent is recorded as
failed with its reason, logged for an operator, and the lead goes on (time-skipping server,
real SMTP server)."""

from __future__ import annotations

import logging

import pytest

from nurture.adapters.mail.smtp import SmtpMailer
from nurture.domain.lead.messages import EventReceived
from nurture.testing import ScriptedSmtpServer
from tests.conftest import MailerFor
from tests.helpers import event, persona_lead, submission
from tests.waiting import view_when


@pytest.fixture
def mailer(smtp: ScriptedSmtpServer, mailer_for: MailerFor) -> SmtpMailer:
    """A mailer for a relay that does not offer SMTPUTF8, as many do not."""
    return mailer_for(smtp.port)


class TestUndeliverableAddress:
    """``josé@…`` through a relay without SMTPUTF8: failed once, and the lead lives on."""

    async def test_the_lead_keeps_scoring_after_its_thank_you_failed(
        self, harness, mailer: SmtpMailer, smtp: ScriptedSmtpServer, caplog
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
                await h.gateway.tell(
                    "wf-jose", EventReceived(event=event("webinar_registered", at=now))
                )
            view = await view_when(h, "wf-jose", lambda v: v.score > before)
            assert view.score == before + 9
        assert smtp.attempts == 0
        assert any("SMTPUTF8" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
