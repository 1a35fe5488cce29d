"""Configuration a workflow needs, read where I/O is allowed.

A run asks ``current_config`` for a reference to the configuration as it is now: a digest,
all its history keeps (:mod:`nurture.domain.config`). The snapshot itself is stored in the
ledger's database before the digest is handed out, and held in the process's catalog,
where the workflow reads it; ``preload`` fills the catalog when a worker starts, and
``fetching`` fetches a snapshot a workflow task missed (one another worker stored since).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from temporalio import activity

from nurture.adapters.configstore import ConfigSnapshotStore
from nurture.config.files import load_project_config, load_scoring_model
from nurture.config.project import ProjectConfig
from nurture.config.watched import Watched
from nurture.domain.config import CATALOG, ConfigCatalog, ConfigRef, ConfigSnapshot
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring import ScoringModel
from nurture.domain.sequences.models import SendingPolicy
from nurture.domain.sequences.rules import EnrolmentRule

__all__ = ["ConfigActivities"]

log = logging.getLogger("nurture.config")

_Sources = tuple[ScoringModel, ProjectConfig, SalesTeam]


class ConfigActivities:
    """Serves the configuration of the scoring model, the project file (sending policy and
    enrolment rules) and the sales team (``team``, the sales activities' own copy), each
    file re-read when it changes, so edits apply to each lead's next run without a worker
    restart. The files are loaded when this is made: a broken one is refused here (a
    :class:`ConfigError` naming file and line), and later breakage keeps the last good
    version."""

    def __init__(
        self,
        scoring_file: Path,
        project_file: Path,
        team: Callable[[], SalesTeam],
        store: ConfigSnapshotStore,
        catalog: ConfigCatalog = CATALOG,
    ) -> None:
        self._scoring = Watched(lambda: load_scoring_model(scoring_file), scoring_file)
        self._project = Watched(lambda: load_project_config(project_file), project_file)
        self._team = team
        self._store = store
        self._catalog = catalog
        self._scoring.prime()
        self._project.prime()
        self._latest: tuple[_Sources, ConfigSnapshot, ConfigRef] | None = None
        self._stored: set[str] = set()
        """Digests known to be in the store (and so in the catalog)."""

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [
            self.current_config,
            self.load_scoring_model,
            self.load_sending_policy,
            self.load_enrolment_rules,
        ]

    @activity.defn(name="current_config")
    async def current_config(self) -> ConfigRef:
        """The reference of the configuration now (each file's last good version). Its
        snapshot is stored, then held in the catalog, before the reference is returned:
        a digest in a history is always in the database."""
        snapshot, ref = self._snapshot()
        if ref.digest not in self._stored:
            await self._store.put(ref.digest, snapshot)
            self._catalog.add(ref.digest, snapshot)
            self._stored.add(ref.digest)
        return ref

    def _snapshot(self) -> tuple[ConfigSnapshot, ConfigRef]:
        """The snapshot of the files as they are, made (and digested) again only when one
        of them changed: ``Watched`` hands out the same object while its file is unchanged."""
        sources = (self._scoring.current(), self._project.current(), self._team())
        if self._latest is None or any(
            new is not old for new, old in zip(sources, self._latest[0], strict=True)
        ):
            scoring, project, team = sources
            snapshot = ConfigSnapshot(
                scoring=scoring,
                enrolment=tuple(project.enrolment),
                sending=project.sending,
                sales=team,
            )
            self._latest = (sources, snapshot, snapshot.ref())
        return self._latest[1], self._latest[2]

    async def preload(self) -> int:
        """Hold every stored snapshot in the catalog (when the worker starts: a replay
        after a restart finds the version its run began with, whatever the files say
        now); how many there are."""
        stored = await self._store.all()
        self._catalog.preload(stored)
        self._stored.update(stored)
        return len(stored)

    @asynccontextmanager
    async def fetching(self) -> AsyncIterator[None]:
        """For the block (the worker's life): fetch from the store each snapshot a
        workflow task missed, so the task's retry finds it."""
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def woken() -> None:  # a miss happens in a workflow thread: wake this loop from there
            loop.call_soon_threadsafe(wake.set)

        stop = self._catalog.on_miss(woken)
        fetcher = asyncio.create_task(self._fetch_missing(wake))
        try:
            yield
        finally:
            stop()
            fetcher.cancel()
            with suppress(asyncio.CancelledError):
                await fetcher

    async def _fetch_missing(self, wake: asyncio.Event) -> None:
        lost: set[str] = set()
        while True:
            await wake.wait()
            wake.clear()
            for digest in self._catalog.missing():
                try:
                    snapshot = await self._store.get(digest)
                except Exception:  # the task's next retry misses again and wakes us
                    log.exception("could not fetch configuration %s", digest)
                    continue
                if snapshot is not None:
                    self._catalog.add(digest, snapshot)
                elif digest not in lost:
                    lost.add(digest)
                    log.error(
                        "configuration %s is not in the ledger's database: the runs "
                        "that started on it cannot go on until it is restored",
                        digest,
                    )

    @activity.defn(name="load_scoring_model")
    async def load_scoring_model(self) -> ScoringModel:
        """The current scoring model (the last good one while the file is broken), for
        runs that began before ``current_config``."""
        return self._scoring.current()

    @activity.defn(name="load_sending_policy")
    async def load_sending_policy(self) -> SendingPolicy:
        """The send window and frequency cap, for sequences that began before
        ``current_config``."""
        return self._project.current().sending

    @activity.defn(name="load_enrolment_rules")
    async def load_enrolment_rules(self) -> list[EnrolmentRule]:
        """The enrolment rules, for runs that began before ``current_config``."""
        return list(self._project.current().enrolment)
