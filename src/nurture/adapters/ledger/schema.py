"""The schema of the ledger's database (the ledger's tables, the facts log), kept as
versioned SQL: ``migrations/<dialect>/NNNN_name.sql``, applied in order when a ledger or a
facts store opens the database, each recorded in ``nurture_schema_version``.

Applying them is idempotent and safe when several processes open the database at once:
one takes the lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on Postgres), applies
what is missing in one transaction, and the others then find nothing to do. A database
made before the schema was versioned (the ledger's tables, no
``nurture_schema_version``) is recognised as version 1 and upgraded in place, the first
migration run again (it only creates what is missing) so that a table older code did not
make is there too. A database newer than this code (after a rollback of nurture) is left
alone: migrations only add, so older code still runs on it. Every table is named
``nurture_*``: the database may be shared with other tools.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "Dialect",
    "Migration",
    "PostgresClient",
    "SchemaStatus",
    "database_status",
    "latest_version",
    "locate_database",
    "migrate_postgres",
    "migrate_sqlite",
    "migrations",
    "open_postgres",
    "postgres_status",
    "sqlite_status",
    "upgrade_database",
]

Dialect = Literal["sqlite", "postgres"]

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS nurture_schema_version "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
_RECORD = "INSERT INTO nurture_schema_version (version, name, applied_at) VALUES ({0}, {0}, {0})"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another one's write lock (a migration, an
append of another process) before it gives up."""
# The advisory lock that serialises schema changes on Postgres ("nurture" in ASCII).
_POSTGRES_LOCK = 0x6E75727475726500


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its version, its name (``0002_facts``) and its statements."""

    version: int
    name: str
    statements: tuple[str, ...]


@cache
def migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """Every migration of a dialect, in order; versions run 1, 2, 3... with no gap."""
    folder = files("nurture.adapters.ledger") / "migrations" / dialect
    found: list[Migration] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name.removesuffix(".sql")
            found.append(
                Migration(int(name.split("_", 1)[0]), name, _statements(entry.read_text()))
            )
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"the {dialect} migrations are not numbered 1, 2, 3...: {found}")
    return tuple(found)


def _statements(script: str) -> tuple[str, ...]:
    """The statements of a script, without its comment lines; each ends with ``;`` at the
    end of a line. (SQLite's ``executescript`` would commit the transaction the migration
    runs in.)"""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    chunks = (chunk.strip() for chunk in re.split(r";[ \t]*$", code, flags=re.MULTILINE))
    return tuple(chunk for chunk in chunks if chunk)


def latest_version(dialect: Dialect) -> int:
    """The version this code brings a database to."""
    return len(migrations(dialect))


class SchemaStatus(BaseModel):
    """Where a database stands: its version, the latest this code knows, what is missing."""

    model_config = ConfigDict(frozen=True)

    version: int
    """0: an empty database; 1 for a database made before the schema was versioned."""
    latest: int
    pending: tuple[str, ...]
    """The migrations the next open will apply, by name."""


def _status(dialect: Dialect, recorded: int | None, legacy: bool) -> SchemaStatus:
    """From the highest version recorded (``None``: no ``nurture_schema_version`` row)
    and whether the ledger's tables exist."""
    version = recorded if recorded is not None else (1 if legacy else 0)
    pending = tuple(m.name for m in migrations(dialect) if m.version > version)
    return SchemaStatus(version=version, latest=latest_version(dialect), pending=pending)


def _plan(dialect: Dialect, recorded: int | None) -> tuple[Migration, ...]:
    """The migrations to apply: those after the highest version recorded, every one when
    none is. A database made before the schema was versioned gets the first one too: its
    statements (all ``IF NOT EXISTS``) make whatever table the code that made it did not
    (``nurture_suppressions`` and ``nurture_soft_bounces`` came later than
    ``nurture_sends``), and leave the others as they are."""
    return tuple(m for m in migrations(dialect) if m.version > (recorded or 0))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _sqlite_state(db: sqlite3.Connection) -> tuple[int | None, bool]:
    """The highest version recorded (``None``: none) and whether the ledger's tables exist."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    recorded = None
    if "nurture_schema_version" in tables:
        recorded = db.execute("SELECT MAX(version) FROM nurture_schema_version").fetchone()[0]
    return recorded, "nurture_sends" in tables


def sqlite_status(db: sqlite3.Connection) -> SchemaStatus:
    """Where a SQLite database stands (read only)."""
    return _status("sqlite", *_sqlite_state(db))


def migrate_sqlite(db: sqlite3.Connection) -> SchemaStatus:
    """Bring a SQLite database (a connection in autocommit mode) to the latest version in
    one transaction; another process doing the same waits for it (busy timeout)."""
    if not sqlite_status(db).pending:
        return sqlite_status(db)
    db.execute("BEGIN IMMEDIATE")  # the write lock first: what is read next stays true
    try:
        plan = _plan("sqlite", _sqlite_state(db)[0])
        db.execute(_VERSION_TABLE)
        for migration in plan:
            for statement in migration.statements:
                db.execute(statement)
            db.execute(_RECORD.format("?"), (migration.version, migration.name, _now()))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return sqlite_status(db)


async def _postgres_state(conn: psycopg.AsyncConnection[Any]) -> tuple[int | None, bool]:
    """The highest version recorded (``None``: none) and whether the ledger's tables exist."""
    cursor = await conn.execute(
        "SELECT to_regclass('nurture_schema_version') IS NOT NULL, "
        "to_regclass('nurture_sends') IS NOT NULL"
    )
    has_versions, legacy = await cursor.fetchone() or (False, False)
    recorded = None
    if has_versions:
        cursor = await conn.execute("SELECT MAX(version) FROM nurture_schema_version")
        recorded = (await cursor.fetchone() or (None,))[0]
    return recorded, legacy


async def postgres_status(conn: psycopg.AsyncConnection[Any]) -> SchemaStatus:
    """Where a Postgres database stands (read only)."""
    return _status("postgres", *await _postgres_state(conn))


async def open_postgres(url: str, *, read_committed: bool = False) -> psycopg.AsyncConnection[Any]:
    """A new autocommit connection to the ledger's database, its schema brought up to date
    first (closed again if that fails, so no half-ready connection is ever kept).
    ``read_committed``: whatever the database's default, for callers whose locks rely on
    it."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        if read_committed:
            await conn.set_isolation_level(psycopg.IsolationLevel.READ_COMMITTED)
        await migrate_postgres(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


class PostgresClient:
    """One connection to the ledger's Postgres database, shared by the ledger, the facts
    store and the configuration store: opened on first use with the schema up to date,
    opened again after a failure, and used under ``_lock`` (a connection runs one command
    at a time)."""

    _read_committed = False
    """Set by a subclass whose locks rely on read committed, whatever the default."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """The open connection, reconnecting after a failure."""
        if self._conn is None or self._conn.closed:
            self._conn = await open_postgres(self._url, read_committed=self._read_committed)
        return self._conn

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()


async def migrate_postgres(conn: psycopg.AsyncConnection[Any]) -> SchemaStatus:
    """Bring a Postgres database (a connection in autocommit mode) to the latest version in
    one transaction, under an advisory lock that another process doing the same waits for."""
    if not (await postgres_status(conn)).pending:
        return await postgres_status(conn)
    # A session lock, taken before the transaction begins: a transaction that began before
    # another process committed its migrations could still see the tables as missing.
    await conn.execute("SELECT pg_advisory_lock(%s)", (_POSTGRES_LOCK,))
    try:
        async with conn.transaction():
            plan = _plan("postgres", (await _postgres_state(conn))[0])
            await conn.execute(_VERSION_TABLE)
            for migration in plan:
                for statement in migration.statements:
                    await conn.execute(statement)
                values = (migration.version, migration.name, _now())
                await conn.execute(_RECORD.format("%s"), values)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_POSTGRES_LOCK,))
    return await postgres_status(conn)


def locate_database(url: str, home: Path) -> Path | str:
    """Where ``NURTURE_LEDGER_URL`` points: the file of ``sqlite:///relative/or/absolute``
    (relative to ``home``), or the ``postgresql://user:pass@host/db`` URL itself."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return path if path.is_absolute() else home / path
    if url.startswith(("postgresql://", "postgres://")):
        return url
    raise ValueError(
        f"NURTURE_LEDGER_URL {url!r} is not supported: use sqlite:///path or postgresql://..."
    )


async def database_status(url: str, home: Path) -> SchemaStatus:
    """Where the database at ``NURTURE_LEDGER_URL`` stands, changing nothing (a SQLite file
    not made yet is an empty database)."""
    where = locate_database(url, home)
    if isinstance(where, str):
        async with await psycopg.AsyncConnection.connect(where, autocommit=True) as conn:
            return await postgres_status(conn)
    if not where.exists():
        return _status("sqlite", None, False)

    def read() -> SchemaStatus:
        db = sqlite3.connect(f"{where.as_uri()}?mode=ro", uri=True)
        try:
            return sqlite_status(db)
        finally:
            db.close()

    return await asyncio.to_thread(read)


async def upgrade_database(url: str, home: Path) -> SchemaStatus:
    """Bring the database at ``NURTURE_LEDGER_URL`` to the latest version now (opening a
    ledger or a facts store does the same)."""
    where = locate_database(url, home)
    if isinstance(where, str):
        async with await psycopg.AsyncConnection.connect(where, autocommit=True) as conn:
            return await migrate_postgres(conn)

    def upgrade() -> SchemaStatus:
        where.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(where, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            return migrate_sqlite(db)
        finally:
            db.close()

    return await asyncio.to_thread(upgrade)
