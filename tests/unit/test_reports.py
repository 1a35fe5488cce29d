"""Bounce and complaint reports, with the in-memory fakes: what each kind does, and that
repeats and policy rejections suppress nobody twice or wrongly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from nurture.adapters.links.tokens import email_hash
from nurture.domain.identity import lead_id_for
from nurture.domain.lead.messages import AddressBounced, OptOut
from nurture.services.mail_reports import MailReport, apply_report
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.helpers import SECRET, submission

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
ADA = str(submission().lead.email)


def report(report_id: str = "r1", **fields: object) -> MailReport:
    return MailReport.model_validate(
        {"report_id": report_id, "type": "bounce", "email": ADA, **fields}
    )


@pytest.fixture
async def known() -> tuple[MemoryLedger, MemoryLeadGateway]:
    gateway = MemoryLeadGateway()
    await gateway.submit_form(lead_id_for(ADA, SECRET), submission())
    return MemoryLedger(), gateway


async def test_complaint_unsubscribes(known: tuple[MemoryLedger, MemoryLeadGateway]) -> None:
    ledger, gateway = known
    outcome = await apply_report(report(type="complaint"), ledger, gateway, SECRET, NOW)
    assert outcome.action == "unsubscribed" and outcome.lead_told
    assert ledger.suppressions[email_hash(ADA, SECRET)].reason == "complaint"
    [(_, opt_out)] = gateway.received(OptOut)
    assert (opt_out.reason, opt_out.channel) == ("complaint", "webhook")


async def test_hard_bounce_suppresses_all_mail(
    known: tuple[MemoryLedger, MemoryLeadGateway],
) -> None:
    ledger, gateway = known
    outcome = await apply_report(
        report(bounce_type="hard", status="5.1.1", diagnostic="no such user"),
        ledger,
        gateway,
        SECRET,
        NOW,
    )
    assert outcome.action == "suppressed" and "5.1.1 no such user" in outcome.detail
    kept = ledger.suppressions[email_hash(ADA, SECRET)]
    assert kept.reason == "hard_bounce" and kept.blocks(marketing=False)
    [(_, bounced)] = gateway.received(AddressBounced)
    assert bounced.reason == "hard bounce: 5.1.1 no such user"


async def test_soft_bounces_counted_then_suppressed(
    known: tuple[MemoryLedger, MemoryLeadGateway],
) -> None:
    """Three soft bounces within 30 days suppress; a repeated report counts once; one
    older than the window does not count."""
    ledger, gateway = known
    old = report("r0", bounce_type="soft", occurred_at=NOW - timedelta(days=40))
    assert (await apply_report(old, ledger, gateway, SECRET, NOW)).action == "counted"
    actions = []
    for report_id in ("r1", "r1", "r2", "r3"):
        soft = report(report_id, bounce_type="soft", status="4.2.2", diagnostic="mailbox full")
        actions.append((await apply_report(soft, ledger, gateway, SECRET, NOW)).action)
    assert actions == ["counted", "counted", "counted", "suppressed"]
    assert ledger.suppressions[email_hash(ADA, SECRET)].reason == "soft_bounces"


async def test_policy_rejection_alerts_only(
    known: tuple[MemoryLedger, MemoryLeadGateway],
) -> None:
    ledger, gateway = known
    outcome = await apply_report(
        report(bounce_type="hard", status="5.7.1", diagnostic="DMARC policy"),
        ledger,
        gateway,
        SECRET,
        NOW,
    )
    assert outcome.action == "alerted"
    assert ledger.suppressions == {} and gateway.received(AddressBounced) == []


async def test_unknown_address_still_suppressed() -> None:
    ledger = MemoryLedger()
    outcome = await apply_report(
        report(bounce_type="hard"), ledger, MemoryLeadGateway(), SECRET, NOW
    )
    assert outcome.action == "suppressed" and not outcome.lead_told
    assert email_hash(ADA, SECRET) in ledger.suppressions


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bounce_type": None}, "bounce_type is required for a bounce"),
        ({"type": "complaint", "bounce_type": "hard"}, "bounce_type only goes with a bounce"),
        ({"bounce_type": "hard", "status": "550"}, "String should match pattern"),
        ({"bounce_type": "hard", "occurred_at": "2026-11-23T09:00:00"}, "timezone"),
    ],
)
def test_bad_reports_say_why(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        report(**fields)
