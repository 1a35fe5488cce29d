"""The facts store in the ledger's Postgres database, shared by every worker of a
deployment (docker compose)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import aclosing, suppress
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from nurture.adapters.factlog.base import erased_lead_hash
from nurture.adapters.factlog.sql import READ_BATCH, fact_from_row, fact_values, select_facts
from nurture.adapters.ledger.schema import PostgresClient
from nurture.domain.factlog import FACT_KINDS, Fact

__all__ = ["PostgresFactStore"]

# One statement for the whole batch, whose row count is the number of new facts; a fact
# of an erased lead stamped at or before its erasure is not inserted.
_INSERT = """
INSERT INTO nurture_facts (id, lead_id, kind, at, data)
SELECT b.id, b.lead_id, b.kind, b.at::timestamptz, b.data::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
    AS b (id, lead_id, kind, at, data, lead_hash)
WHERE NOT EXISTS (
    SELECT 1 FROM nurture_erased_leads AS e
    WHERE e.lead_hash = b.lead_hash AND e.erased_at >= b.at::timestamptz
)
ON CONFLICT (id) DO NOTHING
"""
# An append holds a shared lock per lead of its batch, an erasure the exclusive lock of its
# lead, until they commit: an append that began before an erasure is committed when the
# erasure deletes, and one that begins after it sees the erasure (each statement of a
# read-committed transaction sees what was committed before it began). Two-key advisory
# locks: their keys never meet the one-key lock of the schema's migrations.
_LOCKS = 0x6E757274  # "nurt"
_LOCK_LEADS = """
SELECT pg_advisory_xact_lock_shared(%s, key)
FROM (SELECT DISTINCT hashtext(lead) AS key FROM unnest(%s::text[]) AS lead ORDER BY key) AS k
"""
_LOCK_LEAD = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
_ERASED = """
INSERT INTO nurture_erased_leads (lead_hash, erased_at) VALUES (%s, %s)
ON CONFLICT (lead_hash)
DO UPDATE SET erased_at = GREATEST(nurture_erased_leads.erased_at, EXCLUDED.erased_at)
"""


# The newest moment, by a probe of the kinds' index per kind (max(at) alone reads the table).
_HIGH_WATER = """
SELECT max(newest) FROM unnest(%s::text[]) AS k (kind),
    LATERAL (SELECT max(at) AS newest FROM nurture_facts AS f WHERE f.kind = k.kind) AS n
"""


async def _batches(cursor: psycopg.AsyncServerCursor[Any]) -> AsyncGenerator[list[Any]]:
    """The cursor's rows a batch at a time, the next batch asked for before one is handed
    out: Postgres prepares it while the reader works on this one."""
    fetching = asyncio.ensure_future(cursor.fetchmany(READ_BATCH))
    try:
        while rows := await fetching:
            fetching = asyncio.ensure_future(cursor.fetchmany(READ_BATCH))
            await asyncio.sleep(0)  # it sends its FETCH
            yield rows
    finally:
        with suppress(Exception):  # the connection closes with no command under way
            await fetching


class PostgresFactStore(PostgresClient):
    """Facts in a table of the ledger's Postgres database."""

    # Read committed whatever the database's default: the erasure locks rely on it.
    _read_committed = True

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one transaction, but those of an erased lead stamped at or
        before its erasure; returns how many were new."""
        if not facts:
            return 0
        hashes = {lead: erased_lead_hash(lead) for lead in {fact.lead_id for fact in facts}}
        rows = [(*v, hashes[v[1]]) for v in map(fact_values, facts)]
        columns = [list(column) for column in zip(*rows, strict=True)]
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                await conn.execute(_LOCK_LEADS, (_LOCKS, list(hashes)))
                return (await conn.execute(_INSERT, columns)).rowcount

    async def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        """The matching facts, ordered by lead, moment and id, streamed through a
        server-side cursor on a connection of their own (a long read never holds up an
        append)."""
        sql, params = select_facts("postgres", kinds, since, until, lead_ids)
        async with self._lock:
            await self._connection()  # the schema is up to date before the first read
        async with (
            await psycopg.AsyncConnection.connect(self._url) as conn,
            conn.cursor(name="nurture_facts_read") as cursor,
        ):
            # ``data`` as its text, which ``fact_from_row`` decodes in one step: twice as
            # fast as the driver's decoding of a jsonb (bytes, their encoding detected).
            cursor.adapters.register_loader("jsonb", TextLoader)
            # The read goes to its end: planned for its first rows (the default for a
            # cursor), Postgres would walk the lead index and visit every fact to check
            # its kind, instead of picking the report's kinds and sorting them. Moments
            # come in UTC, as facts hold them, with no conversion each.
            await conn.execute("SET LOCAL cursor_tuple_fraction = 1.0; SET LOCAL TimeZone = 'UTC'")
            await cursor.execute(sql, params)
            async with aclosing(_batches(cursor)) as batches:  # closed before the cursor
                async for rows in batches:
                    for row in rows:
                        yield fact_from_row(row)

    async def forget_lead(self, lead_id: str, erased_at: datetime) -> int:
        """Delete every fact of a lead and remember its erasure, in one transaction;
        returns how many facts there were."""
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCKS, lead_id)
                )
                await conn.execute(_ERASED, (erased_lead_hash(lead_id), erased_at))
                cursor = await conn.execute(
                    "DELETE FROM nurture_facts WHERE lead_id = %s", (lead_id,)
                )
                return cursor.rowcount

    async def high_water_mark(self) -> str:
        """The newest fact's moment: new facts move it. A fact stamped before it (a late
        write, a backfill) and an erasure (its marker is stamped at midnight) do not: they
        are seen when a newer fact comes."""
        async with self._lock:
            conn = await self._connection()
            row = await (await conn.execute(_HIGH_WATER, (list(FACT_KINDS),))).fetchone()
        return "" if row is None or row[0] is None else row[0].isoformat()
