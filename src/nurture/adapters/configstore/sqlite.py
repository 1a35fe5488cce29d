"""Configuration snapshots in the ledger's SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from nurture.adapters.configstore.base import parse_stored
from nurture.adapters.ledger.schema import SQLITE_BUSY_TIMEOUT_MS, migrate_sqlite
from nurture.domain.config import ConfigSnapshot

__all__ = ["SqliteConfigStore"]

_INSERT = (
    "INSERT INTO nurture_config_snapshots (digest, body, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT (digest) DO NOTHING"
)
_SELECT = "SELECT digest, body FROM nurture_config_snapshots"


class SqliteConfigStore:
    """Snapshots in a table of one SQLite file (WAL), shared by the processes of a machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode=WAL")
        migrate_sqlite(self._db)
        self._lock = asyncio.Lock()

    async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
        """Keep ``snapshot`` under ``digest``, unless stored already."""
        row = (digest, snapshot.canonical_json(), datetime.now(UTC).isoformat())
        async with self._lock:
            await asyncio.to_thread(self._db.execute, _INSERT, row)

    async def get(self, digest: str) -> ConfigSnapshot | None:
        """The snapshot stored under ``digest``, if any."""
        async with self._lock:
            rows = await asyncio.to_thread(
                lambda: self._db.execute(f"{_SELECT} WHERE digest = ?", (digest,)).fetchall()
            )
        return parse_stored(rows).get(digest)

    async def all(self) -> dict[str, ConfigSnapshot]:
        """Every snapshot stored, by digest."""
        async with self._lock:
            rows = await asyncio.to_thread(lambda: self._db.execute(_SELECT).fetchall())
        return parse_stored(rows)

    async def close(self) -> None:
        """Close the file."""
        self._db.close()
