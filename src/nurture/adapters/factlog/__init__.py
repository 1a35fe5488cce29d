"""The facts store: where the facts log is kept, in the ledger's database (SQLite by
default, Postgres in docker-compose); ``nurture.testing.MemoryFactStore`` is the in-memory
fake."""

from __future__ import annotations

from pathlib import Path

from nurture.adapters.factlog.base import FactStore, erased_lead_hash
from nurture.adapters.factlog.postgres import PostgresFactStore
from nurture.adapters.factlog.sqlite import SqliteFactStore
from nurture.adapters.ledger.schema import locate_database

__all__ = [
    "FactStore",
    "PostgresFactStore",
    "SqliteFactStore",
    "erased_lead_hash",
    "open_fact_store",
]


def open_fact_store(url: str, home: Path) -> FactStore:
    """The store in the ledger's database: the same ``NURTURE_LEDGER_URL``,
    ``sqlite:///relative/or/absolute/path`` or ``postgresql://user:pass@host/db``."""
    where = locate_database(url, home)
    return SqliteFactStore(where) if isinstance(where, Path) else PostgresFactStore(where)
