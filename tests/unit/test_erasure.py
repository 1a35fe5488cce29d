"""erase_lead with the in-memory fakes and a real outbox folder: what goes, what stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from nurture.adapters.ledger import LedgerEntry
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.temporal.gateway import LeadNotFound
from nurture.domain.factlog import Fact, fact_id
from nurture.services.erasure import erase_lead
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
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
    report = await erase_lead(gateway, ledger, MemoryFactStore(), outbox, "L1", None, SECRET, NOW)
    assert report.model_dump() == {
        "lead_id": "L1",
        "suppressed": True,
        "workflow_runs_deleted": 1,
        "send_records_deleted": 1,
        "facts_deleted": 0,
        "outbox_messages_deleted": 2,
    }
    assert [p.name for p in outbox.iterdir()] == ["2.eml"]
    assert set(ledger.entries) == {"L2/a/thank_you/1"}
    (kept,) = ledger.suppressions.values()
    assert kept.address_hash == email_hash(ada, SECRET) and kept.reason == "erased"


async def test_unknown_lead_without_address_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(LeadNotFound):
        await erase_lead(
            MemoryLeadGateway(),
            MemoryLedger(),
            MemoryFactStore(),
            None,
            "nobody",
            None,
            SECRET,
            NOW,
        )


async def test_unknown_lead_with_address_is_still_suppressed() -> None:
    ledger = MemoryLedger()
    report = await erase_lead(
        MemoryLeadGateway(),
        ledger,
        MemoryFactStore(),
        None,
        "gone",
        "Gone@Example.com",
        SECRET,
        NOW,
    )
    assert report.suppressed and report.workflow_runs_deleted == 0
    assert email_hash("gone@example.com", SECRET) in ledger.suppressions


def facts_of(lead_id: str, count: int) -> list[Fact]:
    moments = [NOW - timedelta(days=3, minutes=n) for n in range(count)]
    return [
        Fact(
            id=fact_id(lead_id, "event_received", at), lead_id=lead_id, kind="event_received", at=at
        )
        for at in moments
    ]


class TestFacts:
    """Erasure deletes every fact of the lead and leaves one anonymous fact of the day."""

    async def test_facts_deleted(self) -> None:
        """The lead's facts go (and are counted), another lead's stay."""
        gateway, store = MemoryLeadGateway(), MemoryFactStore()
        await gateway.submit_form("L1", submission())
        await store.append([*facts_of("L1", 4), *facts_of("L2", 2)])
        report = await erase_lead(gateway, MemoryLedger(), store, None, "L1", None, SECRET, NOW)
        assert report.facts_deleted == 4
        assert [f.lead_id async for f in store.read(kinds=["event_received"])] == ["L2", "L2"]

    async def test_one_anonymous_erased_fact(self) -> None:
        """The trace names no lead, carries no data and says the day, not the moment."""
        gateway, store = MemoryLeadGateway(), MemoryFactStore()
        await gateway.submit_form("L1", submission())
        late = datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
        await erase_lead(gateway, MemoryLedger(), store, None, "L1", None, SECRET, late)
        (erased,) = [f async for f in store.read()]
        assert (erased.kind, erased.lead_id, erased.data) == ("erased", "", {})
        assert erased.at == datetime(2026, 11, 24, tzinfo=UTC)  # the day in UTC
        assert "L1" not in erased.id and erased.id.startswith("erased:")

    async def test_ids_are_random(self) -> None:
        """Two erasures the same day are two facts, whose ids tell nothing of the leads."""
        gateway, store = MemoryLeadGateway(), MemoryFactStore()
        for lead in ("L1", "L2"):
            await gateway.submit_form(lead, submission())
            await erase_lead(gateway, MemoryLedger(), store, None, lead, None, SECRET, NOW)
        ids = [f.id async for f in store.read(kinds=["erased"])]
        assert len(set(ids)) == 2
        assert not {fact_id(lead, "erased") for lead in ("L1", "L2")} & set(ids)

    async def test_repeated_erasure_counted_once(self) -> None:
        """Erasing again (by address: the workflow is gone) finds nothing and adds nothing."""
        gateway, store = MemoryLeadGateway(), MemoryFactStore()
        await gateway.submit_form("L1", submission())
        await store.append(facts_of("L1", 2))
        ada = str(submission().lead.email)
        first = await erase_lead(gateway, MemoryLedger(), store, None, "L1", ada, SECRET, NOW)
        again = await erase_lead(gateway, MemoryLedger(), store, None, "L1", ada, SECRET, NOW)
        assert (first.facts_deleted, again.facts_deleted) == (2, 0)
        assert len([f async for f in store.read(kinds=["erased"])]) == 1

    async def test_lead_known_only_by_its_facts(self) -> None:
        """A lead whose workflow is gone but whose facts remain is erased and counted."""
        store = MemoryFactStore()
        await store.append(facts_of("L1", 1))
        report = await erase_lead(
            MemoryLeadGateway(), MemoryLedger(), store, None, "L1", "a@b.example", SECRET, NOW
        )
        assert report.facts_deleted == 1
        assert [f.kind async for f in store.read()] == ["erased"]


class FlakyFactStore(MemoryFactStore):
    """A memory store whose first ``forget_lead`` fails, as a locked database would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def forget_lead(self, lead_id: str, erased_at: datetime) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        return await super().forget_lead(lead_id, erased_at)


class FlakyLedger(MemoryLedger):
    """A memory ledger whose first ``forget_lead`` fails, after the workflows are gone."""

    failures = 1

    async def forget_lead(self, lead_id: str) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        return await super().forget_lead(lead_id)


async def sent_to(ledger: MemoryLedger, lead_id: str) -> None:
    await ledger.record(
        LedgerEntry(
            key=f"{lead_id}/a/thank_you/1",
            lead_id=lead_id,
            template="thank_you",
            message_id="<m@x>",
            status="sent",
            recorded_at=NOW,
        )
    )


class TestRetry:
    """An erasure that failed halfway is retried by the lead's id alone and finishes the
    job, even once the lead's workflow is gone."""

    async def test_facts_step_failed(self) -> None:
        """The store fails first: the retry finds the lead and deletes every fact."""
        gateway, ledger, store = MemoryLeadGateway(), MemoryLedger(), FlakyFactStore()
        await gateway.submit_form("L1", submission())
        await store.append(facts_of("L1", 3))
        with pytest.raises(OSError, match="locked"):
            await erase_lead(gateway, ledger, store, None, "L1", None, SECRET, NOW)
        report = await erase_lead(gateway, ledger, store, None, "L1", None, SECRET, NOW)
        assert report.facts_deleted == 3
        assert [f.kind async for f in store.read()] == ["erased"]

    async def test_workflows_already_gone(self) -> None:
        """The ledger fails after the workflows were deleted: the retry (the workflow is
        not found any more) still deletes the send records, and counts the erasure."""
        gateway, ledger, store = MemoryLeadGateway(), FlakyLedger(), MemoryFactStore()
        await gateway.submit_form("L1", submission())
        await sent_to(ledger, "L1")
        with pytest.raises(OSError, match="locked"):
            await erase_lead(gateway, ledger, store, None, "L1", None, SECRET, NOW)
        assert "L1" not in gateway.addresses  # the workflow is gone
        report = await erase_lead(gateway, ledger, store, None, "L1", None, SECRET, NOW)
        assert (report.workflow_runs_deleted, report.send_records_deleted) == (0, 1)
        assert not report.suppressed  # done by the first attempt, which knew the address
        assert ledger.entries == {}
        assert [f.kind async for f in store.read()] == ["erased"]

    async def test_facts_left_without_workflow_or_address(self) -> None:
        """Facts alone are enough to find the lead by its id."""
        store = MemoryFactStore()
        await store.append(facts_of("L1", 2))
        report = await erase_lead(
            MemoryLeadGateway(), MemoryLedger(), store, None, "L1", None, SECRET, NOW
        )
        assert report.facts_deleted == 2 and not report.suppressed
        assert [f.kind async for f in store.read()] == ["erased"]
