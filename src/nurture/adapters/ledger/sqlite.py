"""The ledger in one SQLite file: the default, for the processes of one machine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from nurture.adapters.ledger.base import LedgerEntry, SendStatus, Suppression
from nurture.adapters.ledger.schema import migrate_sqlite
from nurture.adapters.ledger.sql import (
    SEND_COLUMNS,
    SQLITE_RELEASE,
    SQLITE_SETTLE,
    SUPPRESSION_COLUMNS,
    WIDEN_SUPPRESSION,
    entry_from_row,
    entry_values,
    insert_suppressions,
    suppression_from_row,
    suppression_values,
    utc_text,
)

__all__ = ["SqliteLedger"]


class SqliteLedger:
    """A ledger in one SQLite file (WAL), safe for the processes of one machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA journal_mode=WAL")
        # Durable across a process crash (the case that matters for resends); a power cut
        # may lose the last records, and a lost record means at worst one resend.
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate_sqlite(self._db)
        self._lock = asyncio.Lock()

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        sql = f"SELECT {SEND_COLUMNS} FROM nurture_sends WHERE key = ?"
        async with self._lock:
            row = await asyncio.to_thread(lambda: self._db.execute(sql, (key,)).fetchone())
        return entry_from_row(row)

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; the first record of a key wins."""
        await self.claim(entry)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` unless the key has one: ``None`` if recorded, else that one."""
        insert = f"INSERT OR IGNORE INTO nurture_sends ({SEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        select = f"SELECT {SEND_COLUMNS} FROM nurture_sends WHERE key = ?"

        def run() -> LedgerEntry | None:
            while True:  # an entry released between the two statements: try again
                if self._db.execute(insert, entry_values(entry)).rowcount == 1:
                    return None
                found = entry_from_row(self._db.execute(select, (entry.key,)).fetchone())
                if found is not None:
                    return found

        async with self._lock:
            return await asyncio.to_thread(run)

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key its outcome; False when the claim was no longer there."""
        async with self._lock:
            cursor = await asyncio.to_thread(self._db.execute, SQLITE_SETTLE, (status, key))
        return cursor.rowcount == 1

    async def release(self, key: str) -> bool:
        """Drop a claim that never reached the end of the data; False if it was gone."""
        async with self._lock:
            cursor = await asyncio.to_thread(self._db.execute, SQLITE_RELEASE, (key,))
        return cursor.rowcount == 1

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""
        sql = f"SELECT {SUPPRESSION_COLUMNS} FROM nurture_suppressions WHERE address_hash = ?"
        async with self._lock:
            row = await asyncio.to_thread(lambda: self._db.execute(sql, (address_hash,)).fetchone())
        return suppression_from_row(row)

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""
        sql = (
            f"INSERT INTO nurture_suppressions ({SUPPRESSION_COLUMNS}) VALUES (?, ?, ?, ?) "
            + WIDEN_SUPPRESSION
        )
        async with self._lock:
            await asyncio.to_thread(self._db.execute, sql, suppression_values(entry))
        found = await self.suppression(entry.address_hash)
        assert found is not None
        return found

    async def suppress_many(self, entries: Sequence[Suppression]) -> set[str]:
        """Add or widen many suppressions of distinct addresses; the hashes changed."""
        if not entries:
            return set()
        sql = insert_suppressions(len(entries), "?")
        values = [v for entry in entries for v in suppression_values(entry)]
        async with self._lock:
            rows = await asyncio.to_thread(lambda: self._db.execute(sql, values).fetchall())
        return {row[0] for row in rows}

    async def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's send records (erasure); returns how many there were."""
        sql = "DELETE FROM nurture_sends WHERE lead_id = ?"
        async with self._lock:
            cursor = await asyncio.to_thread(self._db.execute, sql, (lead_id,))
        return int(cursor.rowcount)

    async def count_soft_bounce(
        self, address_hash: str, report_id: str, at: datetime, since: datetime
    ) -> int:
        """Note one soft bounce (once per report id); how many the address had since."""
        insert = (
            "INSERT OR IGNORE INTO nurture_soft_bounces (report_id, address_hash, recorded_at) "
            "VALUES (?, ?, ?)"
        )
        count = (
            "SELECT COUNT(*) FROM nurture_soft_bounces WHERE address_hash = ? AND recorded_at >= ?"
        )

        def run() -> int:
            self._db.execute(insert, (report_id, address_hash, utc_text(at)))
            return int(self._db.execute(count, (address_hash, utc_text(since))).fetchone()[0])

        async with self._lock:
            return await asyncio.to_thread(run)

    async def close(self) -> None:
        """Close the file."""
        self._db.close()
