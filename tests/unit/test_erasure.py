"""erase_lead with the in-memory fakes and a real outbox folder: what goes, what stays."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from nurture.adapters.ledger import LedgerEntry
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.temporal.gateway import LeadNotFound
from nurture.services.erasure import erase_lead
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.helpers import SECRET, submission

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def outbox_with(folder: Path, *messages: tuple[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for n, (to, lead) in enumerate(messages):
        message = EmailMessage()
        message["To"] = to
        message["X-Nurture-Lead"] = lead
        message.set_content("hello")
        (folder / f"{n}.eml").write_bytes(message.as_bytes())


async def test_erases_workflows_sends_and_outbox_keeps_the_hash(tmp_path: Path) -> None:
    """The lead's mail and the alert about it go; another lead's mail stays."""
    gateway, ledger = MemoryLeadGateway(), MemoryLedger()
    await gateway.submit_form("L1", submission())
    ada = str(submission().lead.email)
    for key, lead in (("L1/a/thank_you/1", "L1"), ("L2/a/thank_you/1", "L2")):
        await ledger.record(
            LedgerEntry(
                key=key,
                lead_id=lead,
                template="thank_you",
                message_id="<m@x>",
                status="sent",
                recorded_at=NOW,
            )
        )
    outbox = tmp_path / "outbox"
    outbox_with(outbox, (ada, "L1"), ("rep@example.com", "L1"), ("bob@example.com", "L2"))
    report = await erase_lead(gateway, ledger, outbox, "L1", None, SECRET, NOW)
    assert report.model_dump() == {
        "lead_id": "L1",
        "suppressed": True,
        "workflow_runs_deleted": 1,
        "send_records_deleted": 1,
        "outbox_messages_deleted": 2,
    }
    assert [p.name for p in outbox.iterdir()] == ["2.eml"]
    assert set(ledger.entries) == {"L2/a/thank_you/1"}
    (kept,) = ledger.suppressions.values()
    assert kept.address_hash == email_hash(ada, SECRET) and kept.reason == "erased"


async def test_unknown_lead_without_address_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(LeadNotFound):
        await erase_lead(MemoryLeadGateway(), MemoryLedger(), None, "nobody", None, SECRET, NOW)


async def test_unknown_lead_with_address_is_still_suppressed() -> None:
    ledger = MemoryLedger()
    report = await erase_lead(
        MemoryLeadGateway(), ledger, None, "gone", "Gone@Example.com", SECRET, NOW
    )
    assert report.suppressed and report.workflow_runs_deleted == 0
    assert email_hash("gone@example.com", SECRET) in ledger.suppressions
