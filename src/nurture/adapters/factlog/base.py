"""The facts store's interface: what every backend (SQLite, Postgres, memory) offers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from nurture.domain.factlog import Fact

__all__ = ["FactStore"]


class FactStore(Protocol):
    """Where facts are kept: append-only, idempotent by fact id."""

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one transaction; a fact whose id is stored already is left
        as it is. Returns how many were new."""

    def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        """The facts of these kinds (all when ``None``) with ``since <= at < until``,
        ordered by lead then moment, streamed (never all in memory at once)."""

    async def forget_lead(self, lead_id: str) -> int:
        """Delete every fact of a lead (erasure); returns how many there were."""

    async def close(self) -> None:
        """Release connections."""
