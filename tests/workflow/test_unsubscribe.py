"""Unsubscribing in the middle of a sequence, on the time-skipping server: the scheduled
email never goes out, whether the lead hears of it or only the suppression list does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.temporal.gateway import LeadNotFound, TemporalLeadGateway
from nurture.domain.lead.messages import AddressBounced, LeadMessage
from nurture.domain.lead.view import LeadView
from nurture.services.unsubscribe import unsubscribe
from tests.conftest import Harness
from tests.helpers import SECRET, links, persona_lead
from tests.waiting import view_when
from tests.workflow.test_lead_sequences import reach_evaluation, sent

ADA = persona_lead().email


class Unreachable(TemporalLeadGateway):
    """A gateway whose signals never reach the lead."""

    async def tell(self, lead_id: str, message: LeadMessage) -> None:
        raise LeadNotFound(lead_id)


def token_for(lead_id: str) -> str:
    return links().unsubscribe_token(lead_id, email_hash(ADA, SECRET))


async def first_step_done(h: Harness, lead_id: str) -> LeadView:
    """In the evaluation sequence, the buying guide sent, the webinar due in 4 days."""
    await reach_evaluation(h, lead_id, welcome_after=timedelta(days=30))
    view = await view_when(h, lead_id, lambda v: "buying_guide" in sent(v))
    assert view.sequence is not None
    h.started.append(view.sequence.workflow_id)
    marketing = [m for m in h.mailer.sent if m["List-Unsubscribe-Post"]]
    assert [str(m["X-Nurture-Template"]) for m in marketing] == ["buying_guide"]
    return view


async def test_one_click_stops_the_sequence_and_the_next_email(harness, always_open: Path) -> None:
    """The token of the buying guide's own header unsubscribes: the address is
    suppressed, the lead is unsubscribed with the channel in its history, its sequence is
    stopped, and four days later the webinar invitation has not gone out."""
    async with harness(project_file=always_open) as h:
        await first_step_done(h, "unsub-1")
        header = str(h.mailer.sent[-1]["List-Unsubscribe"])
        token = header.split(",")[0].strip(" <>").rsplit("/", 1)[1]
        assert links().signer.verify(token, UNSUBSCRIBE, datetime.now(UTC))["l"] == "unsub-1"
        done = await unsubscribe(
            token, "one-click", links().signer, h.ledger, h.gateway, await h.now()
        )
        assert done.lead_told
        view = await view_when(h, "unsub-1", lambda v: v.sequence is None)
        assert "unsubscribed" in view.conditions
        change = next(t for t in view.transitions if t.to_value == "unsubscribed")
        assert change.reason == "unsubscribed (one-click)"
        (ended,) = (e for e in view.enrolments if not e.alongside)
        assert ended.result == "stopped" and "unsubscribed" in (ended.detail or "")
        await h.env.sleep(timedelta(days=5))
    assert h.templates() == ["thank_you", "buying_guide"]


async def test_suppression_alone_stops_an_already_scheduled_email(
    harness, always_open: Path
) -> None:
    """The lead's workflow never hears of it (Temporal was unreachable when the person
    clicked, say): the send activity still refuses the webinar invitation at the moment
    it is due, and the sequence records it as skipped and exits."""
    async with harness(project_file=always_open) as h:
        await first_step_done(h, "unsub-2")

        silent = Unreachable(h.client, h.task_queue)
        done = await unsubscribe(
            token_for("unsub-2"), "page", links().signer, h.ledger, silent, await h.now()
        )
        assert not done.lead_told
        await h.env.sleep(timedelta(days=4, hours=1))
        view = await view_when(
            h, "unsub-2", lambda v: any(e.template == "webinar_invite" for e in v.emails)
        )
    webinar = next(e for e in view.emails if e.template == "webinar_invite")
    assert webinar.status == "skipped" and "suppression list" in (webinar.detail or "")
    assert h.templates() == ["thank_you", "buying_guide"]


async def test_reported_bounce_marks_the_lead_and_stops_its_sequence(
    harness, always_open: Path
) -> None:
    """A provider's report (hard bounce) reaches the lead as an address bounced: the lead is
    bounced with the report's words in its history and its sequence stops."""
    async with harness(project_file=always_open) as h:
        await first_step_done(h, "bounce-1")
        reason = "hard bounce: 5.1.1 no such user"
        await h.gateway.tell("bounce-1", AddressBounced(reason=reason, at=await h.now()))
        view = await view_when(h, "bounce-1", lambda v: v.sequence is None)
        await h.env.sleep(timedelta(days=5))
    assert "bounced" in view.conditions
    assert any(t.to_value == "bounced" and t.reason == reason for t in view.transitions)
    assert h.templates() == ["thank_you", "buying_guide"]
