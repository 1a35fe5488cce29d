"""The facts store in the ledger's Postgres database, shared by every worker of a
deployment (docker compose)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from nurture.adapters.factlog.sql import READ_BATCH, fact_from_row, fact_values, select_facts
from nurture.domain.factlog import Fact

__all__ = ["PostgresFactStore"]

# "C": text sorts by code point, as on SQLite and in Python (the memory store).
_TABLE = """
CREATE TABLE IF NOT EXISTS facts (
    id TEXT COLLATE "C" PRIMARY KEY,
    lead_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    data JSONB NOT NULL
)
"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS facts_lead_at ON facts (lead_id, at, id)",
    "CREATE INDEX IF NOT EXISTS facts_kind_at ON facts (kind, at)",
)
_SCHEMA_LOCK = 0x6E75727475726500  # "nurture" in ASCII: the advisory lock of schema changes
# One statement for the whole batch: atomic, one round trip, and its row count is the
# number of new facts.
_INSERT = """
INSERT INTO facts (id, lead_id, kind, at, data)
SELECT id, lead_id, kind, at::timestamptz, data::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
    AS batch (id, lead_id, kind, at, data)
ON CONFLICT (id) DO NOTHING
"""


class PostgresFactStore:
    """Facts in a table of the ledger's Postgres database."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """The open connection, reconnecting after a failure."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            # Two processes starting at once must not both create the table.
            async with self._conn.transaction():
                await self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                await self._conn.execute(_TABLE)
                for index in _INDEXES:
                    await self._conn.execute(index)
        return self._conn

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one statement; returns how many were new."""
        if not facts:
            return 0
        columns = [list(column) for column in zip(*map(fact_values, facts), strict=True)]
        async with self._lock:
            conn = await self._connection()
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
            await self._connection()  # the table exists before the first read
        async with (
            await psycopg.AsyncConnection.connect(self._url) as conn,
            conn.cursor(name="nurture_facts_read") as cursor,
        ):
            cursor.itersize = READ_BATCH
            await cursor.execute(sql, params)
            async for row in cursor:
                yield fact_from_row(row)

    async def forget_lead(self, lead_id: str) -> int:
        """Delete every fact of a lead (erasure); returns how many there were."""
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute("DELETE FROM facts WHERE lead_id = %s", (lead_id,))
            return cursor.rowcount

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()
