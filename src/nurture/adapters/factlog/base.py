"""The facts store's interface: what every backend (SQLite, Postgres, memory) offers."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from nurture.domain.factlog import Fact

__all__ = ["FactStore", "erased_lead_hash"]


def erased_lead_hash(lead_id: str) -> str:
    """What a store keeps of an erased lead: the SHA-256 of its id (the id is itself a
    keyed hash of the address), enough to know the lead again, never its id."""
    return hashlib.sha256(lead_id.encode()).hexdigest()


class FactStore(Protocol):
    """Where facts are kept: append-only, idempotent by fact id."""

    async def append(self, facts: Sequence[Fact]) -> int:
        """Store ``facts`` in one transaction; a fact whose id is stored already is left
        as it is, and so is a fact of an erased lead stamped at or before its erasure (a
        write still in flight when the lead was erased). Returns how many were new."""

    def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        """The facts of these kinds (all when ``None``) with ``since <= at < until``,
        ordered by lead then moment, streamed (never all in memory at once)."""

    async def forget_lead(self, lead_id: str, erased_at: datetime) -> int:
        """Delete every fact of a lead (erasure) and, in the same transaction, remember
        that it was erased at ``erased_at`` (the later moment, when erased again): from
        then on ``append`` drops the lead's facts stamped at or before it, and keeps later
        ones (the person signing up again). Returns how many facts there were."""

    async def high_water_mark(self) -> str:
        """A mark that moves when facts are appended, cheap to ask for: report results
        computed under one mark are those of the log while it stays put. Each backend says
        what moves it: it may miss an erasure or a fact stamped before the newest until
        a newer fact comes (a cache of results also bounds their age)."""

    async def close(self) -> None:
        """Release connections."""
