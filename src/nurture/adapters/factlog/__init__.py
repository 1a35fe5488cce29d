"""The facts store: where the facts log is kept, in the ledger's database (SQLite by
default, Postgres in docker-compose); ``nurture.testing.MemoryFactStore`` is the in-memory
fake."""

from __future__ import annotations

from pathlib import Path

from nurture.adapters.factlog.base import FactStore
from nurture.adapters.factlog.postgres import PostgresFactStore
from nurture.adapters.factlog.sqlite import SqliteFactStore

__all__ = ["FactStore", "PostgresFactStore", "SqliteFactStore", "open_fact_store"]


def open_fact_store(url: str, home: Path) -> FactStore:
    """The store in the ledger's database: the same ``NURTURE_LEDGER_URL``,
    ``sqlite:///relative/or/absolute/path`` or ``postgresql://user:pass@host/db``."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return SqliteFactStore(path if path.is_absolute() else home / path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresFactStore(url)
    raise ValueError(
        f"NURTURE_LEDGER_URL {url!r} is not supported: use sqlite:///path or postgresql://..."
    )
