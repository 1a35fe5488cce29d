"""The facts log's activity: write one batch of a lead's facts to the store, then hand
what the outbound webhooks want to the lead's webhook workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from nurture.adapters.factlog import FactStore
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.domain.factlog import FactBatch

__all__ = ["FactActivities"]


class FactActivities:
    """Activities of the facts log, with the store they write to and the webhooks' publisher
    (None: no subscription)."""

    def __init__(self, store: FactStore, webhooks: WebhookPublisher | None = None) -> None:
        self._store = store
        self._webhooks = webhooks

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.record_facts]

    @activity.defn(name="record_facts")
    async def record_facts(self, batch: FactBatch) -> int:
        """Store the batch; facts stored already (a retry, a replay) are left as they are.
        Returns how many were new. A store that fails raises, and Temporal retries.

        The facts the webhooks want are published after they are stored, every time: an
        attempt retried after a publish that failed (or timed out) publishes them again,
        and the lead's webhook workflow drops the copies. A lead's batches come one after
        the other from its one writer, so they reach its webhook workflow in order."""
        new = await self._store.append(batch.facts)
        if self._webhooks is not None:
            await self._webhooks.publish(batch.facts)
        return new
