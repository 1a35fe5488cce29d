"""An erased lead stays erased in the facts store, on SQLite, on a real throwaway Postgres
and in memory: a fact write still in flight when the lead was erased is dropped when it
lands, while the person signing up again later is logged anew."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio

from nurture.adapters.factlog import FactStore, open_fact_store
from nurture.domain.factlog import Fact, fact_id
from nurture.services.erasure import erase_lead
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger

ERASED_AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
SECRET = b"k" * 32


def fact(lead: str, minutes: float, kind: str = "event_received") -> Fact:
    """A fact of ``lead`` stamped ``minutes`` after the erasure (negative: before)."""
    at = ERASED_AT + timedelta(minutes=minutes)
    data = {"type": "v"} if kind == "event_received" else {"source": "inbound"}
    return Fact(id=fact_id(lead, kind, at), lead_id=lead, kind=kind, at=at, data=data)


@pytest_asyncio.fixture(params=["sqlite", "postgres", "memory"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[FactStore, str | None]]:
    """A store of each kind on an empty database, and the database's URL (None: memory)."""
    if request.param == "memory":
        yield MemoryFactStore(), None
        return
    url = f"sqlite:///{tmp_path / 'facts.sqlite3'}"
    if request.param == "postgres":
        url = request.getfixturevalue("fresh_postgres_url")
    store = open_fact_store(url, tmp_path)
    yield store, url
    await store.close()


async def facts_of(store: FactStore, lead: str) -> list[Fact]:
    return [f async for f in store.read(lead_ids=[lead])]


class TestTombstone:
    """After ``forget_lead``, the lead's facts stamped up to its erasure never come back."""

    async def test_late_write_dropped(self, backend: tuple[FactStore, str | None]) -> None:
        """A batch of the erased lead stamped before its erasure stores nothing; another
        lead's facts in the same batch are stored."""
        store, _ = backend
        await store.append([fact("L1", -30)])
        assert await store.forget_lead("L1", ERASED_AT) == 1
        assert await store.append([fact("L1", -20), fact("L1", 0), fact("L2", -20)]) == 1
        assert await facts_of(store, "L1") == []
        assert len(await facts_of(store, "L2")) == 1

    async def test_signing_up_again(self, backend: tuple[FactStore, str | None]) -> None:
        """Facts stamped after the erasure (the person came back) are stored."""
        store, _ = backend
        await store.forget_lead("L1", ERASED_AT)
        later = [fact("L1", 1, "lead_created"), fact("L1", 2)]
        assert await store.append(later) == 2
        assert await facts_of(store, "L1") == later

    async def test_the_later_erasure_holds(self, backend: tuple[FactStore, str | None]) -> None:
        """Erased again, the lead's erasure moment only moves later."""
        store, _ = backend
        await store.forget_lead("L1", ERASED_AT + timedelta(minutes=10))
        await store.forget_lead("L1", ERASED_AT)
        assert await store.append([fact("L1", 5)]) == 0
        assert await store.append([fact("L1", 11)]) == 1

    async def test_no_lead_id_kept(self, backend: tuple[FactStore, str | None]) -> None:
        """The database keeps the SHA-256 of the lead id, never the id."""
        store, url = backend
        if url is None:
            pytest.skip("the memory store keeps nothing on disk")
        await store.forget_lead("lead-secret-id", ERASED_AT)
        rows = rows_of(url, "SELECT lead_hash FROM nurture_erased_leads")
        assert rows == [(hashlib.sha256(b"lead-secret-id").hexdigest(),)]


def rows_of(url: str, sql: str) -> list[tuple[object, ...]]:
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


class DelayedStore:
    """A store whose appends wait ``delay`` first: a fact write (a ``record_facts``
    attempt) already running on the worker while the lead is erased."""

    def __init__(self, store: FactStore, delay: float) -> None:
        self.store, self.delay = store, delay

    async def append(self, facts: Sequence[Fact]) -> int:
        await asyncio.sleep(self.delay)
        return await self.store.append(facts)


class TestErasureRace:
    """An erasure that overtakes a fact write of the lead leaves nothing of the lead."""

    async def test_write_landing_after_the_erasure(
        self, backend: tuple[FactStore, str | None]
    ) -> None:
        store, _ = backend
        gateway, moment = MemoryLeadGateway(), datetime.now(UTC)
        gateway.addresses["L1"] = "ann@example.com"
        created = Fact(
            id=fact_id("L1", "lead_created"),
            lead_id="L1",
            kind="lead_created",
            at=moment - timedelta(milliseconds=5),
            data={"source": "inbound", "country": "FR"},
        )
        writing = asyncio.create_task(DelayedStore(store, 0.2).append([created]))
        await asyncio.sleep(0.05)  # the attempt is under way
        report = await erase_lead(gateway, MemoryLedger(), store, None, "L1", None, SECRET, moment)
        assert report.workflow_runs_deleted == 1
        assert await writing == 0
        assert await facts_of(store, "L1") == []
        assert [f.kind async for f in store.read()] == ["erased"]

    async def test_signing_up_after_the_erasure(
        self, backend: tuple[FactStore, str | None]
    ) -> None:
        """The same person erased, then back a day later: the new facts are logged."""
        store, _ = backend
        gateway = MemoryLeadGateway()
        gateway.addresses["L1"] = "ann@example.com"
        await store.append([fact("L1", -60, "lead_created")])
        await erase_lead(
            gateway,
            MemoryLedger(),
            store,
            None,
            "L1",
            None,
            SECRET,
            ERASED_AT,
            clock=lambda: ERASED_AT + timedelta(seconds=2),
        )
        again = [fact("L1", 24 * 60, "lead_created")]
        assert await store.append(again) == 1
        assert await facts_of(store, "L1") == again
