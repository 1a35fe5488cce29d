"""The configuration snapshots' store, on SQLite, on a real throwaway Postgres and in memory:
written once per digest, read back whole, seen by another process."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio

from nurture.adapters.configstore import ConfigSnapshotStore, open_config_store
from nurture.domain.config import ConfigSnapshot
from nurture.testing import MemoryConfigStore
from tests.helpers import config_snapshot

Opener = Callable[[], ConfigSnapshotStore]


@pytest_asyncio.fixture(params=["sqlite", "postgres", "memory"])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens each backend on one empty database (every call: another store on the same
    database, as another worker would), or the in-memory fake (every call: the same)."""
    if request.param == "memory":
        memory = MemoryConfigStore()
        yield lambda: memory
        return
    url = "sqlite:///ledger.sqlite3"
    if request.param == "postgres":
        url = request.getfixturevalue("fresh_postgres_url")
    opened: list[ConfigSnapshotStore] = []

    def open_one() -> ConfigSnapshotStore:
        opened.append(open_config_store(url, tmp_path))
        return opened[-1]

    yield open_one
    for each in opened:
        await each.close()


def other_snapshot() -> ConfigSnapshot:
    snapshot = config_snapshot()
    scoring = snapshot.scoring.model_copy(update={"name": "another-model"})
    return snapshot.model_copy(update={"scoring": scoring})


class TestStore:
    """Put once per digest, get and all give the snapshots back, to any other opener."""

    async def test_put_then_get(self, opener: Opener) -> None:
        store, snapshot = opener(), config_snapshot()
        await store.put("cfg-a", snapshot)
        assert await store.get("cfg-a") == snapshot
        assert await store.get("cfg-unknown") is None

    async def test_put_is_idempotent(self, opener: Opener) -> None:
        """A digest stored already keeps its first snapshot: a digest names one content."""
        store, snapshot = opener(), config_snapshot()
        await store.put("cfg-a", snapshot)
        await store.put("cfg-a", snapshot)
        await store.put("cfg-a", other_snapshot())
        assert await store.all() == {"cfg-a": snapshot}

    async def test_another_worker_sees_them(self, opener: Opener) -> None:
        first, second = config_snapshot(), other_snapshot()
        await opener().put("cfg-a", first)
        await opener().put("cfg-b", second)
        assert await opener().all() == {"cfg-a": first, "cfg-b": second}
        assert await opener().get("cfg-b") == second

    async def test_empty(self, opener: Opener) -> None:
        assert await opener().all() == {}


class TestStoredText:
    """The body kept is the canonical JSON the digest was computed on, as it was."""

    @pytest.mark.parametrize("backend", ["sqlite", "postgres"])
    async def test_body_is_the_canonical_json(
        self, backend: str, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        url = (
            f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
            if backend == "sqlite"
            else request.getfixturevalue("fresh_postgres_url")
        )
        store, snapshot = open_config_store(url, tmp_path), config_snapshot()
        await store.put("cfg-a", snapshot)
        await store.close()
        assert body_of(url, "cfg-a") == snapshot.canonical_json()

    async def test_unreadable_body_left_out(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A body this code cannot read is logged and left out; the others still load."""
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        store, snapshot = open_config_store(url, tmp_path), config_snapshot()
        await store.put("cfg-good", snapshot)
        await store.put("cfg-bad", snapshot)
        db = sqlite3.connect(tmp_path / "ledger.sqlite3", isolation_level=None)
        db.execute("UPDATE nurture_config_snapshots SET body = '{}' WHERE digest = 'cfg-bad'")
        db.close()
        with caplog.at_level(logging.ERROR, logger="nurture.config"):
            assert await store.all() == {"cfg-good": snapshot}
            assert await store.get("cfg-bad") is None
        await store.close()
        assert "stored configuration cfg-bad cannot be read" in caplog.records[0].getMessage()


def body_of(url: str, digest: str) -> str:
    """The body the database holds for ``digest``, read with its own driver."""
    sql = "SELECT body FROM nurture_config_snapshots WHERE digest = {}"
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return str(db.execute(sql.format("?"), (digest,)).fetchone()[0])
        finally:
            db.close()
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.format("%s").encode(), (digest,)).fetchone()
        assert row is not None
        return str(row[0])
