"""The facts log's activity: write one batch of a lead's facts to the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from nurture.adapters.factlog import FactStore
from nurture.domain.factlog import FactBatch

__all__ = ["FactActivities"]


class FactActivities:
    """Activities of the facts log, with the store they write to."""

    def __init__(self, store: FactStore) -> None:
        self._store = store

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.record_facts]

    @activity.defn(name="record_facts")
    async def record_facts(self, batch: FactBatch) -> int:
        """Store the batch; facts stored already (a retry, a replay) are left as they are.
        Returns how many were new. A store that fails raises, and Temporal retries."""
        return await self._store.append(batch.facts)
