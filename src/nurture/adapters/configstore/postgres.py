"""Configuration snapshots in the ledger's Postgres database, shared by every worker of a
deployment."""

from __future__ import annotations

from nurture.adapters.configstore.base import parse_stored
from nurture.adapters.ledger.schema import PostgresClient
from nurture.domain.config import ConfigSnapshot

__all__ = ["PostgresConfigStore"]

_INSERT = (
    "INSERT INTO nurture_config_snapshots (digest, body) VALUES (%s, %s) "
    "ON CONFLICT (digest) DO NOTHING"
)
_SELECT = "SELECT digest, body FROM nurture_config_snapshots"


class PostgresConfigStore(PostgresClient):
    """Snapshots in a table of the ledger's Postgres database."""

    async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
        """Keep ``snapshot`` under ``digest``, unless stored already."""
        async with self._lock:
            conn = await self._connection()
            await conn.execute(_INSERT, (digest, snapshot.canonical_json()))

    async def get(self, digest: str) -> ConfigSnapshot | None:
        """The snapshot stored under ``digest``, if any."""
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(f"{_SELECT} WHERE digest = %s", (digest,))
            rows = await cursor.fetchall()
        return parse_stored(rows).get(digest)

    async def all(self) -> dict[str, ConfigSnapshot]:
        """Every snapshot stored, by digest."""
        async with self._lock:
            conn = await self._connection()
            rows = await (await conn.execute(_SELECT)).fetchall()
        return parse_stored(rows)
