"""The facts store in the ledger's SQLite file: the default, for the processes of one
machine (the worker appends, the API and the CLI read)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from nurture.adapters.factlog.sql import (
    FACT_COLUMNS,
    READ_BATCH,
    fact_from_row,
    fact_values,
    select_facts,
)
from nurture.domain.factlog import Fact

__all__ = ["SqliteFactStore"]

_TABLE = """
CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
)
"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS facts_lead_at ON facts (lead_id, at, id)",
    "CREATE INDEX IF NOT EXISTS facts_kind_at ON facts (kind, at)",
)
_INSERT = f"INSERT INTO facts ({FACT_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
# Another process (the API, a second worker) may hold the write lock for a moment.
_BUSY_TIMEOUT_MS = 30_000


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, patient when
    another connection holds the write lock."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    # A crash of the process loses nothing; a power cut may lose the last appends, which
    # the workflows write again (their activity retries, the backfill).
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class SqliteFactStore:
    """Facts in a table of one SQLite file (WAL): one writer at a time, readers beside it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = _connect(path)
        self._db.execute(_TABLE)
        for index in _INDEXES:
            self._db.execute(index)
        self._lock = asyncio.Lock()

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one transaction; returns how many were new."""
        rows = [fact_values(fact) for fact in facts]

        def run() -> int:
            # IMMEDIATE takes the write lock first (waiting up to the busy timeout), so the
            # transaction never fails halfway on a lock another process holds.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                added = self._db.executemany(_INSERT, rows).rowcount
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return int(added)

        if not rows:
            return 0
        async with self._lock:
            return await asyncio.to_thread(run)

    async def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        """The matching facts, ordered by lead, moment and id, fetched a batch at a time
        through a connection of their own (a long read never holds up an append)."""
        sql, params = select_facts("sqlite", kinds, since, until, lead_ids)
        db = await asyncio.to_thread(_connect, self._path)
        try:
            cursor = await asyncio.to_thread(db.execute, sql, params)
            while rows := await asyncio.to_thread(cursor.fetchmany, READ_BATCH):
                for row in rows:
                    yield fact_from_row(row)
        finally:
            db.close()

    async def forget_lead(self, lead_id: str) -> int:
        """Delete every fact of a lead (erasure); returns how many there were."""
        async with self._lock:
            cursor = await asyncio.to_thread(
                self._db.execute, "DELETE FROM facts WHERE lead_id = ?", (lead_id,)
            )
        return int(cursor.rowcount)

    async def close(self) -> None:
        """Close the file."""
        self._db.close()
