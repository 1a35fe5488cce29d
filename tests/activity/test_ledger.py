"""The send ledger, on SQLite and on a real throwaway Postgres (as used in docker-compose)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from nurture.adapters.ledger import LedgerEntry, SendLedger, SqliteLedger, Suppression, open_ledger
from nurture.testing import MemoryLedger


@pytest_asyncio.fixture(params=["sqlite", "postgres", "memory"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SendLedger]:
    """Each backend, and the in-memory fake the workflow tests use (it must agree)."""
    if request.param == "sqlite":
        store: SendLedger = SqliteLedger(tmp_path / "ledger.sqlite3")
    elif request.param == "memory":
        store = MemoryLedger()
    else:
        store = open_ledger(request.getfixturevalue("postgres_url"), tmp_path)
    yield store
    await store.close()


def entry(key: str, status: str = "sent") -> LedgerEntry:
    return LedgerEntry.model_validate(
        {
            "key": key,
            "lead_id": "L1",
            "template": "thank_you",
            "message_id": f"<{key}@x>",
            "status": status,
            "recorded_at": datetime(2026, 3, 2, 9, tzinfo=UTC),
        }
    )


class TestLedger:
    """Both backends remember keys, keep the first record, and know nothing else."""

    async def test_unknown_key(self, ledger: SendLedger) -> None:
        """A key never recorded is not found."""
        assert await ledger.find("nobody/x/y/1") is None

    async def test_round_trip(self, ledger: SendLedger) -> None:
        """What is recorded is found, aware datetime included."""
        await ledger.record(entry("L1/a/b/1"))
        assert await ledger.find("L1/a/b/1") == entry("L1/a/b/1")

    async def test_first_record_wins(self, ledger: SendLedger) -> None:
        """Recording a key again (a retry racing a timeout) keeps the original entry."""
        await ledger.record(entry("L1/a/b/2", "sent"))
        await ledger.record(entry("L1/a/b/2", "bounced"))
        found = await ledger.find("L1/a/b/2")
        assert found is not None and found.status == "sent"


def other_lead(key: str, status: str) -> LedgerEntry:
    """An entry of a lead no other test counts (forget_lead is tested on L1)."""
    return entry(key, status).model_copy(update={"lead_id": "L-claims"})


def fresh_key() -> str:
    """A key no other test used (the Postgres database lives for the whole module)."""
    return f"L1/claims/{uuid.uuid4().hex}/1"


class TestClaims:
    """One attempt at a time holds a key while its message is handed over."""

    async def test_only_the_first_claim_holds(self, ledger: SendLedger) -> None:
        key = fresh_key()
        assert await ledger.claim(other_lead(key, "sending")) is None
        holder = await ledger.claim(other_lead(key, "sending"))
        assert holder == other_lead(key, "sending")

    async def test_settle_gives_the_claim_its_outcome_once(self, ledger: SendLedger) -> None:
        key = fresh_key()
        await ledger.claim(other_lead(key, "sending"))
        assert await ledger.settle(key, "sent") is True
        assert await ledger.settle(key, "unconfirmed") is False  # too late: the outcome stays
        found = await ledger.find(key)
        assert found is not None and found.status == "sent"

    async def test_release_frees_the_key_for_a_retry(self, ledger: SendLedger) -> None:
        key = fresh_key()
        await ledger.claim(other_lead(key, "sending"))
        assert await ledger.release(key) is True
        assert await ledger.find(key) is None
        assert await ledger.claim(other_lead(key, "sending")) is None

    async def test_release_never_drops_an_outcome(self, ledger: SendLedger) -> None:
        key = fresh_key()
        await ledger.record(other_lead(key, "sent"))
        assert await ledger.release(key) is False
        assert await ledger.find(key) == other_lead(key, "sent")


def suppression(reason: str, day: int = 2, address_hash: str = "h1") -> Suppression:
    return Suppression.model_validate(
        {
            "address_hash": address_hash,
            "reason": reason,
            "recorded_at": datetime(2026, 3, day, 9, tzinfo=UTC),
        }
    )


class TestSuppressions:
    """The suppression list: by keyed hash, widened but never narrowed."""

    async def test_unknown_address(self, ledger: SendLedger) -> None:
        assert await ledger.suppression("nobody") is None

    async def test_unsubscribe_blocks_marketing_only(self, ledger: SendLedger) -> None:
        kept = await ledger.suppress(suppression("unsubscribed"))
        assert kept == suppression("unsubscribed")
        assert kept.blocks(marketing=True) and not kept.blocks(marketing=False)
        assert await ledger.suppression("h1") == kept

    async def test_wider_scope_wins_and_stays(self, ledger: SendLedger) -> None:
        """Unsubscribed, then erased: nothing goes any more; a later unsubscribe (a second
        click) does not narrow it back; a repeat keeps the first record."""
        await ledger.suppress(suppression("unsubscribed", day=2))
        erased = await ledger.suppress(suppression("erased", day=3))
        assert erased.reason == "erased" and erased.blocks(marketing=False)
        again = await ledger.suppress(suppression("unsubscribed", day=4))
        assert again == erased
        twice = await ledger.suppress(suppression("erased", day=5))
        assert twice.recorded_at.day == 3

    async def test_many_at_once_says_which_changed(self, ledger: SendLedger) -> None:
        """An imported list: new ones and widened ones change, narrower or equal ones not."""
        await ledger.suppress(suppression("unsubscribed", address_hash="m1"))
        await ledger.suppress(suppression("hard_bounce", address_hash="m2"))
        batch = [
            suppression("hard_bounce", day=3, address_hash="m1"),
            suppression("unsubscribed", day=3, address_hash="m2"),
            suppression("complaint", day=3, address_hash="m3"),
        ]
        assert await ledger.suppress_many(batch) == {"m1", "m3"}
        assert await ledger.suppression("m1") == batch[0]
        assert await ledger.suppression("m2") == suppression("hard_bounce", address_hash="m2")
        assert await ledger.suppression("m3") == batch[2]
        assert await ledger.suppress_many([*batch]) == set()
        assert await ledger.suppress_many([]) == set()

    async def test_forget_lead_deletes_its_sends_only(self, ledger: SendLedger) -> None:
        await ledger.record(entry("L1/a/b/1"))
        await ledger.record(entry("L1/a/b/2"))
        other = entry("L2/a/b/1").model_copy(update={"lead_id": "L2"})
        await ledger.record(other)
        assert await ledger.forget_lead("L1") == 2
        assert await ledger.find("L1/a/b/1") is None and await ledger.find("L2/a/b/1") == other
        assert await ledger.forget_lead("L1") == 0


class TestSoftBounces:
    """Soft bounces counted per address within a window, once per report."""

    async def test_counts_within_the_window_once_per_report(self, ledger: SendLedger) -> None:
        t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
        since = datetime(2026, 3, 1, tzinfo=UTC)
        old = datetime(2026, 2, 1, tzinfo=UTC)
        assert await ledger.count_soft_bounce("h1", "r0", old, since) == 0
        assert await ledger.count_soft_bounce("h1", "r1", t0, since) == 1
        assert await ledger.count_soft_bounce("h1", "r1", t0, since) == 1  # a repeat
        assert await ledger.count_soft_bounce("h2", "r2", t0, since) == 1  # another address
        assert await ledger.count_soft_bounce("h1", "r3", t0, since) == 2


def test_unsupported_url_is_explained(tmp_path: Path) -> None:
    """A ledger URL of an unknown kind names the setting and the accepted forms."""
    with pytest.raises(ValueError, match=r"NURTURE_LEDGER_URL.*sqlite:///"):
        open_ledger("mysql://x", tmp_path)
