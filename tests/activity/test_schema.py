"""The ledger database's versioned schema, on SQLite and on a real throwaway Postgres: a
database made before this schema was versioned is upgraded in place, rows kept."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from nurture.adapters.configstore import open_config_store
from nurture.adapters.factlog import FactStore, open_fact_store
from nurture.adapters.ledger import Suppression, open_ledger
from nurture.adapters.ledger import schema as schema_module
from nurture.adapters.ledger.schema import (
    Migration,
    database_status,
    latest_version,
    migrate_postgres,
    migrate_sqlite,
    migrations,
    upgrade_database,
)
from nurture.cli import app
from nurture.domain.factlog import Fact
from tests.helpers import config_snapshot

OLD_SCHEMA = Path(__file__).parents[1] / "data" / "ledger" / "pre_versioning.sql"
OLD_ROWS = (
    "INSERT INTO nurture_sends VALUES "
    "('L1/welcome/1', 'L1', 'welcome', '<a@x>', 'sent', '2026-01-05T09:00:00+00:00'), "
    "('L2/welcome/1', 'L2', 'welcome', '<b@x>', 'unconfirmed', '2026-01-06T09:00:00+00:00');"
    "INSERT INTO nurture_suppressions VALUES "
    "('hash-1', 'marketing', 'unsubscribed', '2026-01-07T09:00:00+00:00');"
    "INSERT INTO nurture_soft_bounces VALUES ('report-1', 'hash-2', '2026-01-08T09:00:00+00:00');"
)
EVERY_VERSION = [(1, "0001_ledger"), (2, "0002_facts"), (3, "0003_config_snapshots")]


def statements(script: str) -> list[str]:
    """The statements of a script, comments dropped and whitespace collapsed."""
    code = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [" ".join(s.split()) for s in code.split(";") if s.strip()]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


def build_old_database(url: str, tmp_path: Path) -> None:
    """A database as the code before this issue left it: its tables, some rows."""
    script = OLD_SCHEMA.read_text() + OLD_ROWS
    if url.startswith("sqlite"):
        db = sqlite3.connect(tmp_path / "ledger.sqlite3")
        db.executescript(script)
        db.close()
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(script.encode())


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query, on either database."""
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("fresh_postgres_url"))


class TestMigrationFiles:
    """The migrations are the same steps on both databases, the first one being the old
    ledger's tables word for word."""

    def test_same_steps_on_both(self) -> None:
        names = [m.name for m in migrations("sqlite")]
        assert names == [m.name for m in migrations("postgres")] == [n for _, n in EVERY_VERSION]
        assert latest_version("sqlite") == latest_version("postgres") == 3

    @pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
    def test_first_is_the_old_ledger(self, dialect: schema_module.Dialect) -> None:
        old = statements(OLD_SCHEMA.read_text())
        assert [" ".join(s.split()) for s in migrations(dialect)[0].statements] == old
        assert len(old) == 3

    def test_statements_split_at_line_ends(self) -> None:
        (facts,) = [m for m in migrations("postgres") if m.name == "0002_facts"]
        assert [s.split()[:3] for s in facts.statements] == [
            ["CREATE", "TABLE", "IF"],
            ["CREATE", "INDEX", "IF"],
            ["CREATE", "INDEX", "IF"],
            ["CREATE", "TABLE", "IF"],
        ]


class TestUpgrade:
    """Opening a database brings it to the latest version, whatever it was."""

    async def test_old_database_upgraded_in_place(self, url: str, tmp_path: Path) -> None:
        """A database made before versioning counts as version 1, keeps every row and
        gains the facts table and the configuration snapshots' table."""
        build_old_database(url, tmp_path)
        before = await database_status(url, tmp_path)
        assert (before.version, before.latest, before.pending) == (
            1,
            3,
            ("0002_facts", "0003_config_snapshots"),
        )
        ledger = open_ledger(url, tmp_path)
        found = await ledger.find("L2/welcome/1")
        assert found is not None and found.status == "unconfirmed"
        assert found.recorded_at == datetime(2026, 1, 6, 9, tzinfo=UTC)
        suppression = await ledger.suppression("hash-1")
        assert suppression is not None and suppression.reason == "unsubscribed"
        since = datetime(2026, 1, 1, tzinfo=UTC)
        assert await ledger.count_soft_bounce("hash-2", "report-2", since, since) == 2
        await ledger.close()
        assert query(url, "SELECT COUNT(*) FROM nurture_sends") == [(2,)]
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )
        after = await database_status(url, tmp_path)
        assert (after.version, after.pending) == (3, ())
        await (await facts_work(url, tmp_path)).close()
        await config_snapshots_work(url, tmp_path)

    async def test_old_database_missing_tables_repaired(self, url: str, tmp_path: Path) -> None:
        """A database of the oldest code (nurture_sends alone) gets the ledger's tables it
        lacks, so suppressing and counting soft bounces work; its rows are kept."""
        (sends_table, *_later) = statements(OLD_SCHEMA.read_text())
        execute(url, sends_table)
        execute(url, OLD_ROWS.split(";")[0])
        assert (await database_status(url, tmp_path)).version == 1
        ledger = open_ledger(url, tmp_path)
        now = datetime(2026, 2, 1, tzinfo=UTC)
        await ledger.suppress(Suppression(address_hash="h", reason="erased", recorded_at=now))
        assert await ledger.count_soft_bounce("h", "report-1", now, now) == 1
        assert await ledger.find("L1/welcome/1") is not None
        await ledger.close()
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )

    async def test_shared_database(self, url: str, tmp_path: Path) -> None:
        """Another tool's ``schema_version`` and ``facts`` tables in the same database are
        neither read nor touched: nurture's tables are all ``nurture_*``."""
        execute(url, "CREATE TABLE schema_version (version TEXT, checksum TEXT)")
        execute(url, "INSERT INTO schema_version VALUES ('V42', 'abc')")
        execute(url, "CREATE TABLE facts (fact TEXT)")
        assert (await database_status(url, tmp_path)).version == 0
        assert (await upgrade_database(url, tmp_path)).version == 3
        await (await facts_work(url, tmp_path)).close()
        assert query(url, "SELECT * FROM schema_version") == [("V42", "abc")]
        assert query(url, "SELECT COUNT(*) FROM facts") == [(0,)]
        assert query(url, "SELECT COUNT(*) FROM nurture_facts") == [(1,)]

    async def test_fact_store_upgrades_too(self, url: str, tmp_path: Path) -> None:
        """The facts store, opened first, upgrades the database as the ledger would."""
        build_old_database(url, tmp_path)
        await (await facts_work(url, tmp_path)).close()
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )
        assert query(url, "SELECT COUNT(*) FROM nurture_suppressions") == [(1,)]

    async def test_empty_database(self, url: str, tmp_path: Path) -> None:
        """An empty database is version 0 and gets every migration."""
        before = await database_status(url, tmp_path)
        assert (before.version, before.pending) == (
            0,
            ("0001_ledger", "0002_facts", "0003_config_snapshots"),
        )
        assert (await upgrade_database(url, tmp_path)).version == 3
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )
        ledger = open_ledger(url, tmp_path)
        assert await ledger.find("nobody") is None
        await ledger.close()

    async def test_opening_again_changes_nothing(self, url: str, tmp_path: Path) -> None:
        """Every later open finds the database up to date and records nothing more."""
        for _ in range(3):
            await (await facts_work(url, tmp_path, lead="L9")).close()
            await upgrade_database(url, tmp_path)
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )
        assert query(url, "SELECT COUNT(*) FROM nurture_facts") == [(1,)]

    async def test_newer_database_left_alone(self, url: str, tmp_path: Path) -> None:
        """A database a later nurture upgraded (then rolled back) still opens, untouched."""
        await upgrade_database(url, tmp_path)
        newer = "INSERT INTO nurture_schema_version VALUES (4, '0004_later', '2027-01-01')"
        execute(url, newer)
        status = await upgrade_database(url, tmp_path)
        assert (status.version, status.latest, status.pending) == (4, 3, ())
        await (await facts_work(url, tmp_path)).close()


async def facts_work(url: str, tmp_path: Path, lead: str = "L1") -> FactStore:
    """A facts store opened on the database, shown to append and read."""
    store = open_fact_store(url, tmp_path)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    fact = Fact(id=f"{lead}-x", lead_id=lead, kind="lead_created", at=at)
    await store.append([fact])
    assert [f async for f in store.read(lead_ids=[lead])] == [fact]
    return store


async def config_snapshots_work(url: str, tmp_path: Path) -> None:
    """A configuration store opened on the database, shown to keep and give back."""
    store = open_config_store(url, tmp_path)
    snapshot = config_snapshot()
    await store.put("cfg-upgraded", snapshot)
    assert await store.all() == {"cfg-upgraded": snapshot}
    await store.close()


def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        db.execute(sql)
        db.close()
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.encode())


class TestFailedMigration:
    """A migration that fails leaves the database as it was: its first statements are
    rolled back and its version is not recorded."""

    async def test_rolled_back(
        self, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await upgrade_database(url, tmp_path)
        dialect: schema_module.Dialect = "sqlite" if url.startswith("sqlite") else "postgres"
        broken = Migration(4, "0004_broken", ("CREATE TABLE half (x TEXT)", "NOT SQL AT ALL"))
        steps = (*migrations(dialect), broken)
        monkeypatch.setattr(schema_module, "migrations", lambda _dialect: steps)
        with pytest.raises((sqlite3.OperationalError, psycopg.errors.SyntaxError)):
            await upgrade_database(url, tmp_path)
        monkeypatch.undo()
        assert (await database_status(url, tmp_path)).version == 3
        with pytest.raises((sqlite3.OperationalError, psycopg.errors.UndefinedTable)):
            query(url, "SELECT * FROM half")


class TestConcurrentOpens:
    """Processes that open an old database at the same moment upgrade it once."""

    def test_sqlite_connections_at_once(self, tmp_path: Path) -> None:
        url = sqlite_url(tmp_path)
        build_old_database(url, tmp_path)
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def open_one() -> None:
            db = sqlite3.connect(tmp_path / "ledger.sqlite3", isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            start.wait()
            try:
                migrate_sqlite(db)
            except BaseException as exc:  # collected, and the test fails on it below
                errors.append(exc)
            db.close()

        run_all(open_one, 8)
        assert errors == []
        assert (
            query(url, "SELECT version, name FROM nurture_schema_version ORDER BY 1")
            == EVERY_VERSION
        )
        assert query(url, "SELECT COUNT(*) FROM nurture_sends") == [(2,)]

    async def test_postgres_connections_at_once(
        self, fresh_postgres_url: str, tmp_path: Path
    ) -> None:
        build_old_database(fresh_postgres_url, tmp_path)
        conns = [
            await psycopg.AsyncConnection.connect(fresh_postgres_url, autocommit=True)
            for _ in range(6)
        ]
        try:
            statuses = await asyncio.gather(*(migrate_postgres(c) for c in conns))
        finally:
            for conn in conns:
                await conn.close()
        assert {s.version for s in statuses} == {3}
        rows = query(
            fresh_postgres_url, "SELECT version, name FROM nurture_schema_version ORDER BY 1"
        )
        assert rows == EVERY_VERSION
        assert query(fresh_postgres_url, "SELECT COUNT(*) FROM nurture_sends") == [(2,)]


def run_all(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timedelta(minutes=1).total_seconds())


class TestDbCommand:
    """``nurture db status`` shows the version and what is pending, ``nurture db upgrade``
    applies it; neither shows the database's password."""

    def test_status_then_upgrade(
        self, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        build_old_database(url, tmp_path)
        if url.startswith("postgresql://nurture@"):  # trust authentication: any password
            url = url.replace("nurture@", "nurture:s3cret@")
        monkeypatch.setenv("NURTURE_LEDGER_URL", url)
        home = ["--home", str(tmp_path)]
        before = CliRunner().invoke(app, ["db", "status", *home])
        assert before.exit_code == 0, before.output
        assert "schema version: 1 (this nurture knows up to 3)" in before.output
        assert "pending: 0002_facts, 0003_config_snapshots" in before.output
        upgraded = CliRunner().invoke(app, ["db", "upgrade", *home])
        assert upgraded.exit_code == 0, upgraded.output
        assert "schema version: 3" in upgraded.output and "up to date" in upgraded.output
        after = CliRunner().invoke(app, ["db", "status", "--json", *home])
        assert after.output.strip() == '{"version":3,"latest":3,"pending":[]}'
        assert "s3cret" not in before.output + upgraded.output
        assert query(url, "SELECT COUNT(*) FROM nurture_sends") == [(2,)]

    def test_status_changes_nothing(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A SQLite file not made yet is reported empty, and still not made."""
        monkeypatch.setenv("NURTURE_LEDGER_URL", "sqlite:///.nurture/ledger.sqlite3")
        result = CliRunner().invoke(app, ["db", "status", "--home", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert "schema version: 0" in result.output
        assert "pending: 0001_ledger, 0002_facts, 0003_config_snapshots" in result.output
        assert not (tmp_path / ".nurture").exists()

    def test_unreachable_database(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A database that cannot be reached exits 2, saying why."""
        monkeypatch.setenv("NURTURE_LEDGER_URL", "postgresql://nobody@127.0.0.1:1/none")
        result = CliRunner().invoke(app, ["db", "status", "--home", str(tmp_path)])
        assert result.exit_code == 2
