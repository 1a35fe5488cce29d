"""The configuration snapshots' store: what every backend (SQLite, Postgres, memory) offers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from pydantic import ValidationError

from nurture.domain.config import ConfigSnapshot

__all__ = ["ConfigSnapshotStore", "parse_stored"]

log = logging.getLogger("nurture.config")


class ConfigSnapshotStore(Protocol):
    """Snapshots by digest: written once, never changed (a digest names one content)."""

    async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
        """Keep ``snapshot`` under ``digest``; a digest stored already is left as it is."""

    async def get(self, digest: str) -> ConfigSnapshot | None:
        """The snapshot stored under ``digest``, if any."""

    async def all(self) -> dict[str, ConfigSnapshot]:
        """Every snapshot stored, by digest."""

    async def close(self) -> None:
        """Release connections."""


def parse_stored(rows: Iterable[tuple[str, str]]) -> dict[str, ConfigSnapshot]:
    """The snapshots of ``(digest, body)`` rows. A body this code cannot read (a field
    renamed or removed without a migration) is logged at ERROR and left out: only runs
    that started on it fail their workflow tasks, naming its digest, until it is fixed."""
    found = {}
    for digest, body in rows:
        try:
            found[digest] = ConfigSnapshot.model_validate_json(body)
        except ValidationError as exc:
            log.error("stored configuration %s cannot be read by this version: %s", digest, exc)
    return found
