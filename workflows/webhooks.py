"""``WebhookWorkflow``: one lead's outbound webhooks, delivered in order, never lost.

The facts log's writer (the ``record_facts`` activity) signals-with-start it with each
batch's facts that a subscription wants, on every attempt; the lead's workflow never
waits for it. Signals from the lead's one writer arrive in the order its batches were
written, and copies are dropped by fact id (``WebhookStream``), so each subscription gets
each event once, in the lead's order. Each subscription has its own queue and delivery
loop: one ``deliver_webhook`` activity at a time, retried with growing waits until the
subscription's ``give_up_after``; a refusal (a 4xx) or the end of that window makes the
event a dead letter, kept here (``get_dead_letters``) until ``replay`` queues it again,
and the queue goes on. Once every queue is empty and no dead letter is left, the workflow
waits ``timing.idle`` for late copies, then ends; it continues as new when its history
grows long (or after ``timing.max_notices_per_run`` notices), between deliveries.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from nurture.domain.webhooks import DeadLetter, Delivery, Notice, WebhookStream

from workflows import search_attributes
from workflows.activities import deliver_webhook

__all__ = ["WebhookWorkflow"]


@workflow.defn
class WebhookWorkflow:
    """Delivers one lead's webhooks, a queue per subscription."""

    @workflow.init
    def __init__(self, stream: WebhookStream) -> None:
        self._stream = stream
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._notices = 0
        """Notices this run took (copies included)."""

    @workflow.run
    async def run(self, stream: WebhookStream) -> None:
        self._publish_dead()  # a run continued as new with dead letters says so again
        while True:
            await workflow.wait_condition(lambda: bool(self._unserved()) or self._idle())
            for name in self._unserved():
                self._loops[name] = asyncio.create_task(self._drain(name))
            if not self._idle():
                continue
            if self._long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._stream)
            if self._stream.dead:  # kept until replayed: wait for a replay or a new event
                await workflow.wait_condition(lambda: not self._idle())
                continue
            try:
                await workflow.wait_condition(
                    lambda: not self._idle(), timeout=self._stream.timing.idle
                )
            except TimeoutError:
                if not self._idle():  # an event came with the timer, in the same task
                    continue
                await workflow.wait_condition(workflow.all_handlers_finished)
                return

    @workflow.signal
    def facts_published(self, notice: Notice) -> None:
        """New facts of the lead, with the subscriptions wanting each."""
        self._notices += 1
        self._stream.accept(notice)

    @workflow.update
    def replay(self) -> int:
        """Queue the dead letters again, in their original order; how many."""
        replayed = self._stream.replay()
        self._publish_dead()
        return replayed

    @workflow.query
    def get_dead_letters(self) -> list[DeadLetter]:
        """The deliveries given up on, oldest first."""
        return list(self._stream.dead)

    @workflow.query
    def get_queued(self) -> list[Delivery]:
        """What waits to be delivered, each subscription's queue in order."""
        return [delivery for queue in self._stream.queues.values() for delivery in queue]

    def _publish_dead(self) -> None:
        """Keep the ``NurtureDeadLetters`` search attribute equal to the dead letters held."""
        count = len(self._stream.dead)
        shown = workflow.info().typed_search_attributes.get(search_attributes.DEAD_LETTERS)
        if count != (shown or 0):
            workflow.upsert_search_attributes([search_attributes.DEAD_LETTERS.value_set(count)])

    def _unserved(self) -> list[str]:
        """Subscriptions with something queued and no delivery loop running."""
        return [name for name in self._stream.waiting() if name not in self._loops]

    def _long(self) -> bool:
        """Time to continue as new (checked once idle: no delivery is cut short)."""
        too_many = self._notices >= self._stream.timing.max_notices_per_run
        return too_many or workflow.info().is_continue_as_new_suggested()

    def _idle(self) -> bool:
        return not self._loops and not self._stream.waiting()

    async def _drain(self, name: str) -> None:
        """Deliver ``name``'s queue, head first, until it is empty."""
        try:
            while (delivery := self._stream.head(name)) is not None:
                await self._deliver(delivery)
        finally:
            del self._loops[name]

    async def _deliver(self, delivery: Delivery) -> None:
        timing = self._stream.timing
        try:
            await workflow.execute_activity(
                deliver_webhook,
                delivery,
                schedule_to_close_timeout=delivery.give_up_after,
                retry_policy=RetryPolicy(
                    initial_interval=timing.first_retry,
                    backoff_coefficient=2.0,
                    maximum_interval=timing.max_retry_interval,
                ),
                summary=f"{delivery.subscription}: {delivery.fact.kind}",
            )
        except ActivityError as err:
            attempts, error = _failure(err)
            workflow.logger.warning("webhook %s given up: %s", delivery.key, error)
            self._stream.give_up(delivery, attempts, error, workflow.now())
            self._publish_dead()
            return
        self._stream.delivered(delivery)


def _failure(err: ActivityError) -> tuple[int | None, str]:
    """The attempts made and the last error, from the innermost cause (the activity's
    ``ApplicationError`` carries its attempt number; a timeout wraps the last one)."""
    cause: BaseException = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    attempts = None
    if isinstance(cause, ApplicationError) and cause.details:
        attempts = int(cause.details[0])
    return attempts, str(cause) or type(cause).__name__
