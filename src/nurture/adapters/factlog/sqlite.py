"""The facts store in the ledger's SQLite file: the default, for the processes of one
machine (the worker appends, the API and the CLI read)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from nurture.adapters.factlog.base import erased_lead_hash
from nurture.adapters.factlog.sql import (
    FACT_COLUMNS,
    READ_BATCH,
    fact_from_row,
    fact_values,
    moment_text,
    select_facts,
)
from nurture.adapters.ledger.schema import SQLITE_BUSY_TIMEOUT_MS, migrate_sqlite
from nurture.domain.factlog import Fact

__all__ = ["SqliteFactStore"]

# A fact of an erased lead stamped at or before its erasure is not inserted (the WHERE
# also tells SQLite's parser that ON CONFLICT is the upsert clause).
_INSERT = f"""
INSERT INTO nurture_facts ({FACT_COLUMNS}) SELECT ?, ?, ?, ?, ?
WHERE NOT EXISTS (
    SELECT 1 FROM nurture_erased_leads WHERE lead_hash = ? AND erased_at >= ?
)
ON CONFLICT (id) DO NOTHING
"""
_ERASED = """
INSERT INTO nurture_erased_leads (lead_hash, erased_at) VALUES (?, ?)
ON CONFLICT (lead_hash) DO UPDATE SET erased_at = max(erased_at, excluded.erased_at)
"""


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, patient when
    another connection holds the write lock."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    # A crash of the process (a SIGKILLed worker) loses no committed append; a power cut
    # may lose the last ones, the price of not syncing the disk at every workflow task.
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class SqliteFactStore:
    """Facts in a table of one SQLite file (WAL): one writer at a time, readers beside it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = _connect(path)
        migrate_sqlite(self._db)
        self._lock = asyncio.Lock()

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one transaction, but those of an erased lead stamped at or
        before its erasure; returns how many were new."""
        hashes = {lead: erased_lead_hash(lead) for lead in {fact.lead_id for fact in facts}}
        rows = [(*v, hashes[v[1]], v[3]) for v in map(fact_values, facts)]
        if not rows:
            return 0
        async with self._lock:
            return await asyncio.to_thread(self._write, lambda db: db.executemany(_INSERT, rows))

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

    async def forget_lead(self, lead_id: str, erased_at: datetime) -> int:
        """Delete every fact of a lead and remember its erasure, in one transaction;
        returns how many facts there were."""

        def forget(db: sqlite3.Connection) -> sqlite3.Cursor:
            db.execute(_ERASED, (erased_lead_hash(lead_id), moment_text(erased_at)))
            return db.execute("DELETE FROM nurture_facts WHERE lead_id = ?", (lead_id,))

        async with self._lock:
            return await asyncio.to_thread(self._write, forget)

    def _write(self, change: Callable[[sqlite3.Connection], sqlite3.Cursor]) -> int:
        """Run ``change`` in one transaction; the number of rows it changed."""
        # IMMEDIATE takes the write lock first (waiting up to the busy timeout), so the
        # transaction never fails halfway on a lock another process holds.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            changed = change(self._db).rowcount
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(changed)

    async def high_water_mark(self) -> str:
        """The last row id: every append that adds a fact moves it up. An erasure moves it
        when its marker is appended, unless the lead's facts held the newest row alone."""
        async with self._lock:
            row = await asyncio.to_thread(
                lambda: self._db.execute("SELECT max(rowid) FROM nurture_facts").fetchone()
            )
        return str(row[0] or 0)

    async def close(self) -> None:
        """Close the file."""
        self._db.close()
