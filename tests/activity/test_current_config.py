"""``current_config``: one reference per version of the files, stored before it is handed
out; the worker's catalog preloaded from the store and fed on a miss."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client

from activities import ConfigActivities, SalesActivities
from nurture.domain.config import ConfigCatalog, ConfigNotLoaded, ConfigSnapshot
from nurture.testing import MemoryConfigStore
from tests.configfiles import break_file, copy_project
from tests.helpers import ROOT, config_snapshot
from tests.waiting import eventually

NO_CLIENT = cast(Client, None)
SHIPPED = ROOT / "config"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Copies of the shipped configuration files, to edit."""
    return copy_project(tmp_path) / "config"


def activities(
    config: Path, store: MemoryConfigStore, catalog: ConfigCatalog | None = None
) -> ConfigActivities:
    sales = SalesActivities(NO_CLIENT, "tq", config / "sales.toml")
    return ConfigActivities(
        config / "scoring.toml",
        config / "nurture.toml",
        sales.team,
        store,
        catalog or ConfigCatalog(),
    )


class CountingStore(MemoryConfigStore):
    """A memory store that counts its writes and sees what the catalog held at each."""

    def __init__(self, catalog: ConfigCatalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.held_at_put: list[bool] = []

    async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
        self.held_at_put.append(digest in self.catalog)
        await super().put(digest, snapshot)


class TestCurrentConfig:
    """The same reference while the files are unchanged, a new one after an edit, and the
    snapshot stored before the catalog holds it and before the reference is returned."""

    async def test_same_ref_while_unchanged(self, config: Path) -> None:
        catalog = ConfigCatalog()
        store = CountingStore(catalog)
        config_activities = activities(config, store, catalog)
        refs = [await config_activities.current_config() for _ in range(3)]
        assert refs[0] == refs[1] == refs[2] == config_snapshot().ref()
        assert store.held_at_put == [False]
        assert catalog.get(refs[0].digest) == config_snapshot()
        assert await store.get(refs[0].digest) == config_snapshot()

    @pytest.mark.parametrize(
        ("name", "old", "new"),
        [
            ("scoring.toml", "mql = 20", "mql = 21"),
            ("nurture.toml", "max_emails = 3", "max_emails = 4"),
            ("sales.toml", "weight = 2", "weight = 3"),
        ],
    )
    async def test_new_ref_after_an_edit(self, config: Path, name: str, old: str, new: str) -> None:
        store = MemoryConfigStore()
        config_activities = activities(config, store)
        before = await config_activities.current_config()
        break_file(config / name, old, new)
        after = await config_activities.current_config()
        assert after != before
        assert set(store.bodies) == {before.digest, after.digest}

    async def test_broken_file_keeps_the_ref(
        self, config: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A file broken after start: the same reference, one ERROR naming file and line."""
        config_activities = activities(config, MemoryConfigStore())
        before = await config_activities.current_config()
        line = break_file(config / "scoring.toml", "mql = 20", 'mql = "twenty"')
        with caplog.at_level(logging.ERROR, logger="nurture.config"):
            assert [await config_activities.current_config() for _ in range(3)] == [before] * 3
        (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert error.startswith(f"{config / 'scoring.toml'}:{line}: thresholds.mql: ")

    async def test_store_failure_returns_nothing(self, config: Path) -> None:
        """A snapshot that could not be stored is neither held nor handed out: the activity
        fails (and is retried), so no history names a digest the database lacks."""

        class Down(MemoryConfigStore):
            async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
                raise OSError("database unreachable")

        catalog = ConfigCatalog()
        with pytest.raises(OSError, match="unreachable"):
            await activities(config, Down(), catalog).current_config()
        assert config_snapshot().ref().digest not in catalog


class TestPreload:
    """A worker starting holds every stored version, and stores none of them again."""

    async def test_preload(self, config: Path) -> None:
        store = MemoryConfigStore()
        first = await activities(config, store).current_config()
        break_file(config / "scoring.toml", "mql = 20", "mql = 21")
        catalog = ConfigCatalog()
        restarted = activities(config, store, catalog)
        assert await restarted.preload() == 1
        assert catalog.get(first.digest) == config_snapshot()
        second = await restarted.current_config()
        assert catalog.get(second.digest).scoring.thresholds.mql == 21
        assert len(store.bodies) == 2


class TestFetching:
    """While the worker runs, a snapshot a workflow thread missed is fetched from the
    store; one the store lacks is logged once."""

    async def test_miss_fetched(self) -> None:
        catalog, store, snapshot = ConfigCatalog(), MemoryConfigStore(), config_snapshot()
        await store.put("cfg-elsewhere", snapshot)
        config_activities = activities(SHIPPED, store, catalog)
        async with config_activities.fetching():
            await asyncio.to_thread(miss, catalog, "cfg-elsewhere")

            async def fetched() -> bool:
                return "cfg-elsewhere" in catalog

            await eventually(fetched, within=5)
        assert catalog.get("cfg-elsewhere") == snapshot and catalog.missing() == ()

    async def test_lost_snapshot_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        catalog = ConfigCatalog()
        config_activities = activities(SHIPPED, MemoryConfigStore(), catalog)
        with caplog.at_level(logging.ERROR, logger="nurture.config"):
            async with config_activities.fetching():
                for _ in range(3):
                    await asyncio.to_thread(miss, catalog, "cfg-lost")
                    await asyncio.sleep(0.05)
        (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert "configuration cfg-lost is not in the ledger's database" in error
        assert catalog.missing() == ("cfg-lost",)


def miss(catalog: ConfigCatalog, digest: str) -> None:
    """What a workflow thread does on a digest the catalog lacks."""
    with pytest.raises(ConfigNotLoaded):
        catalog.get(digest)
