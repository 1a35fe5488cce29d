"""The send ledger: which idempotency keys were already delivered, and who must not be mailed.

The send activity looks a key up before sending, claims it (status ``sending``) just before
the relay gets the end of the message, and settles it with the relay's answer: ``sent``,
``bounced``, or ``unconfirmed`` when the answer never came; a definite refusal (4xx)
releases the claim for the retry. Only one attempt can hold a key's claim, so only one ever
completes a message to the relay. Beside it, the suppression list: keyed hashes of
addresses that must get no more marketing mail (unsubscribed, complained) or no mail at all
(hard bounce, erased), checked by the send activity itself, so an email scheduled before
the unsubscribe never goes out. SQLite (a file) is the default; Postgres serves a
docker-compose deployment with several workers. ``nurture.testing.MemoryLedger`` is the
in-memory fake.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import psycopg
from pydantic import AwareDatetime, BaseModel

__all__ = [
    "LedgerEntry",
    "PostgresLedger",
    "SendLedger",
    "SendStatus",
    "SqliteLedger",
    "Suppression",
    "SuppressionReason",
    "open_ledger",
    "stronger",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nurture_sends (
    key TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    template TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL
)
"""
_SUPPRESSIONS = """
CREATE TABLE IF NOT EXISTS nurture_suppressions (
    address_hash TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL
)
"""
_SOFT_BOUNCES = """
CREATE TABLE IF NOT EXISTS nurture_soft_bounces (
    report_id TEXT PRIMARY KEY,
    address_hash TEXT NOT NULL,
    recorded_at TEXT NOT NULL
)
"""
_COLUMNS = "key, lead_id, template, message_id, status, recorded_at"
_SUPPRESSION_COLUMNS = "address_hash, scope, reason, recorded_at"

SuppressionReason = Literal["unsubscribed", "complaint", "hard_bounce", "soft_bounces", "erased"]
_SCOPE: dict[str, Literal["marketing", "all"]] = {
    "unsubscribed": "marketing",
    "complaint": "marketing",
    "hard_bounce": "all",
    "soft_bounces": "all",
    "erased": "all",
}


class Suppression(BaseModel):
    """An address (by keyed hash) that gets no marketing mail, or no mail at all."""

    address_hash: str
    reason: SuppressionReason
    recorded_at: AwareDatetime

    @property
    def scope(self) -> Literal["marketing", "all"]:
        """``marketing``: transactional mail (what the person asked for) still goes;
        ``all``: nothing goes (the address bounces, or the person was erased)."""
        return _SCOPE[self.reason]

    def blocks(self, marketing: bool) -> bool:
        """Whether this suppression stops an email of that kind."""
        return marketing or self.scope == "all"


def stronger(old: Suppression | None, new: Suppression) -> Suppression:
    """The suppression to keep: a wider scope wins, else the first one stays."""
    if old is None or (old.scope == "marketing" and new.scope == "all"):
        return new
    return old


SendStatus = Literal["sending", "sent", "bounced", "unconfirmed"]


class LedgerEntry(BaseModel):
    """One email's fate: being handed over (``sending``: the relay may have it from
    ``recorded_at`` on), sent, bounced at the relay, or ``unconfirmed`` (the relay had the
    whole message and never answered: not sent again)."""

    key: str
    lead_id: str
    template: str
    message_id: str
    status: SendStatus
    recorded_at: AwareDatetime


class SendLedger(Protocol):
    """Where sends are remembered."""

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; a second record of the same key keeps the first."""

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` (status ``sending``) unless the key has an entry already:
        ``None`` when this call claimed the key, else the entry that holds it."""

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key (``sending``) its outcome; any other entry stays as it is.
        False when the claim was no longer there (taken over by a later attempt)."""

    async def release(self, key: str) -> bool:
        """Drop a claim (``sending``) whose message never reached the end of the data;
        False when the claim was no longer there."""

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""

    async def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's send records (erasure); returns how many there were."""

    async def count_soft_bounce(
        self, address_hash: str, report_id: str, at: datetime, since: datetime
    ) -> int:
        """Note one soft bounce (once per report id); how many the address had since."""

    async def close(self) -> None:
        """Release connections."""


def _suppression(row: tuple[str, ...] | None) -> Suppression | None:
    if row is None:
        return None
    address_hash, _scope, reason, recorded_at = row
    return Suppression.model_validate(
        {"address_hash": address_hash, "reason": reason, "recorded_at": recorded_at}
    )


def _suppression_values(entry: Suppression) -> tuple[str, ...]:
    return (entry.address_hash, entry.scope, entry.reason, entry.recorded_at.isoformat())


_SETTLE = "UPDATE nurture_sends SET status = %s WHERE key = %s AND status = 'sending'"
_RELEASE = "DELETE FROM nurture_sends WHERE key = %s AND status = 'sending'"
_SQLITE_SETTLE = _SETTLE.replace("%s", "?")
_SQLITE_RELEASE = _RELEASE.replace("%s", "?")

# A wider scope replaces a narrower one; otherwise the first suppression stays.
_UPSERT_TAIL = (
    "ON CONFLICT (address_hash) DO UPDATE SET scope = excluded.scope, "
    "reason = excluded.reason, recorded_at = excluded.recorded_at "
    "WHERE nurture_suppressions.scope = 'marketing' AND excluded.scope = 'all'"
)


def _entry(row: tuple[str, ...] | None) -> LedgerEntry | None:
    if row is None:
        return None
    key, lead_id, template, message_id, status, recorded_at = row
    return LedgerEntry(
        key=key,
        lead_id=lead_id,
        template=template,
        message_id=message_id,
        status=status,
        recorded_at=datetime.fromisoformat(recorded_at),
    )


def _values(entry: LedgerEntry) -> tuple[str, ...]:
    return (
        entry.key,
        entry.lead_id,
        entry.template,
        entry.message_id,
        entry.status,
        entry.recorded_at.isoformat(),
    )


class SqliteLedger:
    """A ledger in one SQLite file (WAL), safe for the processes of one machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Durable across a process crash (the case that matters for resends); a power cut
        # may lose the last records, and a lost record means at worst one resend.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)
        self._db.execute(_SUPPRESSIONS)
        self._db.execute(_SOFT_BOUNCES)
        self._lock = asyncio.Lock()

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        sql = f"SELECT {_COLUMNS} FROM nurture_sends WHERE key = ?"
        async with self._lock:
            row = await asyncio.to_thread(lambda: self._db.execute(sql, (key,)).fetchone())
        return _entry(row)

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; the first record of a key wins."""
        await self.claim(entry)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` unless the key has one: ``None`` if recorded, else that one."""
        insert = f"INSERT OR IGNORE INTO nurture_sends ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        select = f"SELECT {_COLUMNS} FROM nurture_sends WHERE key = ?"

        def run() -> LedgerEntry | None:
            while True:  # an entry released between the two statements: try again
                if self._db.execute(insert, _values(entry)).rowcount == 1:
                    return None
                found = _entry(self._db.execute(select, (entry.key,)).fetchone())
                if found is not None:
                    return found

        async with self._lock:
            return await asyncio.to_thread(run)

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key its outcome; False when the claim was no longer there."""
        async with self._lock:
            cursor = await asyncio.to_thread(self._db.execute, _SQLITE_SETTLE, (status, key))
        return cursor.rowcount == 1

    async def release(self, key: str) -> bool:
        """Drop a claim that never reached the end of the data; False if it was gone."""
        async with self._lock:
            cursor = await asyncio.to_thread(self._db.execute, _SQLITE_RELEASE, (key,))
        return cursor.rowcount == 1

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""
        sql = f"SELECT {_SUPPRESSION_COLUMNS} FROM nurture_suppressions WHERE address_hash = ?"
        async with self._lock:
            row = await asyncio.to_thread(lambda: self._db.execute(sql, (address_hash,)).fetchone())
        return _suppression(row)

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""
        sql = (
            f"INSERT INTO nurture_suppressions ({_SUPPRESSION_COLUMNS}) VALUES (?, ?, ?, ?) "
            + _UPSERT_TAIL
        )
        async with self._lock:
            await asyncio.to_thread(self._db.execute, sql, _suppression_values(entry))
        found = await self.suppression(entry.address_hash)
        assert found is not None
        return found

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
            self._db.execute(insert, (report_id, address_hash, _utc(at)))
            return int(self._db.execute(count, (address_hash, _utc(since))).fetchone()[0])

        async with self._lock:
            return await asyncio.to_thread(run)

    async def close(self) -> None:
        """Close the file."""
        self._db.close()


class PostgresLedger:
    """A ledger in Postgres, shared by every worker of a deployment."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """The open connection, reconnecting after a failure."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            await self._conn.execute(_SCHEMA)
            await self._conn.execute(_SUPPRESSIONS)
            await self._conn.execute(_SOFT_BOUNCES)
        return self._conn

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        sql = f"SELECT {_COLUMNS} FROM nurture_sends WHERE key = %s"
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(sql, (key,))
            return _entry(await cursor.fetchone())

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; the first record of a key wins."""
        await self.claim(entry)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` unless the key has one: ``None`` if recorded, else that one."""
        insert = (
            f"INSERT INTO nurture_sends ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (key) DO NOTHING"
        )
        select = f"SELECT {_COLUMNS} FROM nurture_sends WHERE key = %s"
        async with self._lock:
            conn = await self._connection()
            while True:  # an entry released between the two statements: try again
                if (await conn.execute(insert, _values(entry))).rowcount == 1:
                    return None
                found = _entry(await (await conn.execute(select, (entry.key,))).fetchone())
                if found is not None:
                    return found

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key its outcome; False when the claim was no longer there."""
        async with self._lock:
            conn = await self._connection()
            return (await conn.execute(_SETTLE, (status, key))).rowcount == 1

    async def release(self, key: str) -> bool:
        """Drop a claim that never reached the end of the data; False if it was gone."""
        async with self._lock:
            conn = await self._connection()
            return (await conn.execute(_RELEASE, (key,))).rowcount == 1

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""
        sql = f"SELECT {_SUPPRESSION_COLUMNS} FROM nurture_suppressions WHERE address_hash = %s"
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(sql, (address_hash,))
            return _suppression(await cursor.fetchone())

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""
        sql = (
            f"INSERT INTO nurture_suppressions ({_SUPPRESSION_COLUMNS}) "
            "VALUES (%s, %s, %s, %s) " + _UPSERT_TAIL
        )
        async with self._lock:
            conn = await self._connection()
            await conn.execute(sql, _suppression_values(entry))
        found = await self.suppression(entry.address_hash)
        assert found is not None
        return found

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
                (report_id, address_hash, _utc(at)),
            )
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM nurture_soft_bounces "
                "WHERE address_hash = %s AND recorded_at >= %s",
                (address_hash, _utc(since)),
            )
            row = await cursor.fetchone()
            return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()


def _utc(moment: datetime) -> str:
    """ISO text in UTC, so that text order is time order."""
    return moment.astimezone(UTC).isoformat()


def open_ledger(url: str, home: Path) -> SendLedger:
    """``sqlite:///relative/or/absolute/path`` or ``postgresql://user:pass@host/db``."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return SqliteLedger(path if path.is_absolute() else home / path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresLedger(url)
    raise ValueError(
        f"NURTURE_LEDGER_URL {url!r} is not supported: use sqlite:///path or postgresql://..."
    )
