"""One lead's webhook deliveries: a queue per subscription, the dead letters, what was seen.

The state ``WebhookWorkflow`` keeps (and carries through continue-as-new). Each
subscription has its own first-in first-out queue, so a receiver that fails holds back
only its own deliveries; within a queue, events go out one at a time in the order the
lead's facts were written. A fact seen already (the write of a batch retried, a replay of
the writer) is dropped by its id. Once the lead is erased nothing but the erasure is sent:
what was queued and the dead letters are dropped.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from nurture.domain.webhooks.model import (
    DeadLetter,
    Delivery,
    Notice,
    WebhookTiming,
    sequence_after,
)

__all__ = ["SEEN_LIMIT", "WebhookStream"]

SEEN_LIMIT = 2000
"""Fact ids remembered to drop copies: far more than a lead writes while a copy can come."""


class WebhookStream(BaseModel):
    """A lead's deliveries, queued and given up."""

    lead_id: str
    timing: WebhookTiming = WebhookTiming()
    queues: dict[str, list[Delivery]] = {}
    dead: list[DeadLetter] = []
    seen: list[str] = []
    """The latest fact ids accepted, oldest first, at most ``SEEN_LIMIT``."""
    last_sequence: int = 0
    erased: bool = False

    def accept(self, notice: Notice) -> int:
        """Queue the notice's new facts for the subscriptions wanting them; how many
        deliveries were queued."""
        seen = set(self.seen)
        queued = 0
        for fact, wanted in notice.facts:
            if fact.id in seen or (self.erased and fact.kind != "erased"):
                continue
            if fact.kind == "erased":
                self._forget()
            seen.add(fact.id)
            self.seen.append(fact.id)
            self.last_sequence = sequence_after(self.last_sequence, fact)
            for name, give_up_after in wanted:
                delivery = Delivery(
                    subscription=name,
                    fact=fact,
                    sequence=self.last_sequence,
                    give_up_after=give_up_after,
                )
                self.queues.setdefault(name, []).append(delivery)
                queued += 1
        del self.seen[:-SEEN_LIMIT]
        return queued

    def waiting(self) -> list[str]:
        """The subscriptions with something to deliver."""
        return [name for name, queue in self.queues.items() if queue]

    def head(self, subscription: str) -> Delivery | None:
        """What goes next to ``subscription``."""
        queue = self.queues.get(subscription)
        return queue[0] if queue else None

    def delivered(self, delivery: Delivery) -> None:
        """``delivery`` is done with (sent, or given up): the next one may go."""
        queue = self.queues.get(delivery.subscription, [])
        if queue and queue[0] == delivery:
            queue.pop(0)
        if not queue:
            self.queues.pop(delivery.subscription, None)

    def give_up(self, delivery: Delivery, attempts: int | None, error: str, now: datetime) -> None:
        """``delivery`` failed for good: keep it as a dead letter and go on."""
        self.delivered(delivery)
        if not self.erased or delivery.fact.kind == "erased":
            self.dead.append(
                DeadLetter(delivery=delivery, attempts=attempts, error=error, failed_at=now)
            )

    def replay(self) -> int:
        """Queue the dead letters again, ahead of what is queued (they are older), in
        their original order; how many."""
        letters = sorted(self.dead, key=lambda letter: letter.delivery.sequence)
        for letter in reversed(letters):
            queue = self.queues.setdefault(letter.delivery.subscription, [])
            queue.insert(0, letter.delivery)
        self.dead = []
        return len(letters)

    def _forget(self) -> None:
        """The lead is erased: nothing more of it is sent, nor kept."""
        self.queues = {}
        self.dead = []
        self.erased = True
