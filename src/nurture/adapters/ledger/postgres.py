"""The ledger in Postgres, shared by every worker of a deployment (docker compose)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nurture.adapters.ledger.base import LedgerEntry, SendStatus, Suppression
from nurture.adapters.ledger.schema import PostgresClient
from nurture.adapters.ledger.sql import (
    RELEASE,
    SEND_COLUMNS,
    SETTLE,
    SUPPRESSION_COLUMNS,
    WIDEN_SUPPRESSION,
    entry_from_row,
    entry_values,
    insert_suppressions,
    suppression_from_row,
    suppression_values,
    utc_text,
)

__all__ = ["PostgresLedger"]


class PostgresLedger(PostgresClient):
    """A ledger in Postgres, shared by every worker of a deployment."""

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        sql = f"SELECT {SEND_COLUMNS} FROM nurture_sends WHERE key = %s"
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(sql, (key,))
            return entry_from_row(await cursor.fetchone())

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; the first record of a key wins."""
        await self.claim(entry)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` unless the key has one: ``None`` if recorded, else that one."""
        insert = (
            f"INSERT INTO nurture_sends ({SEND_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (key) DO NOTHING"
        )
        select = f"SELECT {SEND_COLUMNS} FROM nurture_sends WHERE key = %s"
        async with self._lock:
            conn = await self._connection()
            while True:  # an entry released between the two statements: try again
                if (await conn.execute(insert, entry_values(entry))).rowcount == 1:
                    return None
                found = entry_from_row(await (await conn.execute(select, (entry.key,))).fetchone())
                if found is not None:
                    return found

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key its outcome; False when the claim was no longer there."""
        async with self._lock:
            conn = await self._connection()
            return (await conn.execute(SETTLE, (status, key))).rowcount == 1

    async def release(self, key: str) -> bool:
        """Drop a claim that never reached the end of the data; False if it was gone."""
        async with self._lock:
            conn = await self._connection()
            return (await conn.execute(RELEASE, (key,))).rowcount == 1

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""
        sql = f"SELECT {SUPPRESSION_COLUMNS} FROM nurture_suppressions WHERE address_hash = %s"
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(sql, (address_hash,))
            return suppression_from_row(await cursor.fetchone())

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""
        sql = (
            f"INSERT INTO nurture_suppressions ({SUPPRESSION_COLUMNS}) "
            "VALUES (%s, %s, %s, %s) " + WIDEN_SUPPRESSION
        )
        async with self._lock:
            conn = await self._connection()
            await conn.execute(sql, suppression_values(entry))
        found = await self.suppression(entry.address_hash)
        assert found is not None
        return found

    async def suppress_many(self, entries: Sequence[Suppression]) -> set[str]:
        """Add or widen many suppressions of distinct addresses; the hashes changed."""
        if not entries:
            return set()
        sql = insert_suppressions(len(entries), "%s")
        values = [v for entry in entries for v in suppression_values(entry)]
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(sql, values)
            return {row[0] for row in await cursor.fetchall()}

    async def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's send records (erasure); returns how many there were."""
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute("DELETE FROM nurture_sends WHERE lead_id = %s", (lead_id,))
            return cursor.rowcount

    async def count_soft_bounce(
        self, address_hash: str, report_id: str, at: datetime, since: datetime
    ) -> int:
        """Note one soft bounce (once per report id); how many the address had since."""
        async with self._lock:
            conn = await self._connection()
            await conn.execute(
                "INSERT INTO nurture_soft_bounces (report_id, address_hash, recorded_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (report_id) DO NOTHING",
                (report_id, address_hash, utc_text(at)),
            )
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM nurture_soft_bounces "
                "WHERE address_hash = %s AND recorded_at >= %s",
                (address_hash, utc_text(since)),
            )
            row = await cursor.fetchone()
            return int(row[0]) if row else 0
