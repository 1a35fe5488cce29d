"""Where the configuration snapshots the workflows ran with are kept, by digest: in the
ledger's database (SQLite by default, Postgres in docker-compose), so that every worker,
and a worker after a restart, finds the version a run started with
(:mod:`nurture.domain.config`). ``nurture.testing.MemoryConfigStore`` is the in-memory
fake."""

from __future__ import annotations

from pathlib import Path

from nurture.adapters.configstore.base import ConfigSnapshotStore
from nurture.adapters.configstore.postgres import PostgresConfigStore
from nurture.adapters.configstore.sqlite import SqliteConfigStore
from nurture.adapters.ledger.schema import locate_database

__all__ = [
    "ConfigSnapshotStore",
    "PostgresConfigStore",
    "SqliteConfigStore",
    "open_config_store",
]


def open_config_store(url: str, home: Path) -> ConfigSnapshotStore:
    """The store in the ledger's database: the same ``NURTURE_LEDGER_URL``,
    ``sqlite:///relative/or/absolute/path`` or ``postgresql://user:pass@host/db``."""
    where = locate_database(url, home)
    return SqliteConfigStore(where) if isinstance(where, Path) else PostgresConfigStore(where)
