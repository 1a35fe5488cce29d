"""How a LeadWorkflow writes its facts to the facts log. Used by ``LeadWorkflow`` only.

Each pass of the lead's loop hands over what is new: the facts its state proves that were
not logged yet (``facts_of_state``, the same function the ``logged_facts`` query and the
backfill use, so all three meet on the same ids) and the facts of the messages it applied
(``facts_of_message``). A background writer sends them to the ``record_facts`` activity,
one batch at a time: what piles up while a write is in flight goes in the next one, so a
workflow task starts at most one write, and the loop never waits for the store. A store
that fails is retried, with backoff, for as long as it takes; whatever is not confirmed
written when the run continues as new is carried into the next run and written again
(the store keeps a fact once by its id).

The write is a local activity: it runs inside the workflow task that hands the facts
over (after the pass's sends). Measured on the intake path (form post to thank-you on the
dev stack), it added about 7% to the CPU each lead costs, where a regular activity, with
its own round trips through the server and a workflow task more, added about 22%. A local
activity holds its workflow task while it runs, so each attempt is bounded tightly and
every retry waits on a durable timer, with the task released: a store that hangs or fails
delays what the lead does next by one attempt at most.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from nurture.domain.factlog import Fact, FactBatch, facts_of_message, facts_of_state
    from nurture.domain.lead.messages import Inbound
    from nurture.domain.lead.state import LeadState

from workflows.activities import record_facts

__all__ = ["FACTS_LOG_PATCH", "FACTS_RETRY", "FACTS_TIMEOUT", "FactWriter"]

FACTS_LOG_PATCH = "facts-log"
"""The ``workflow.patched`` id of the facts log. A lead's run started before the log
replays its history with no write (there is none in it): it keeps what it would have
written and hands it, as it continues as new, to its next run, which writes it; ``nurture
facts backfill`` covers it meanwhile. A sequence's run from before the log does not
report its A/B assignments (its emails still carry their variants). Remove the branches
once no run from before the log is left."""

FACTS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)
"""A store that is down is tried again, less and less often, until it is back: facts are
never given up on, and nothing else waits for them."""

FACTS_TIMEOUT = timedelta(seconds=2)
"""One attempt at writing a batch (one transaction, milliseconds when the store is well):
as long as the lead's workflow task may be held by a store that hangs."""

_RETRY_LOCALLY_BELOW = timedelta(milliseconds=100)
"""Below the first backoff: no retry waits inside the workflow task, every one on a timer."""

_AFTER_REFUSAL = timedelta(minutes=5)
"""How long a batch the activity refused for good waits before it is tried again."""


class FactWriter:
    """The facts a lead has to log, and the background task that writes them."""

    def __init__(self, lead_id: str, state: LeadState | None, carried: list[Fact]) -> None:
        """``state``: the state the run starts with (what it proves was logged by the runs
        before); ``carried``: the facts they had not seen written."""
        self._lead_id = lead_id
        self._logged = {fact.id for fact in facts_of_state(state)} if state else set()
        self._logged.update(fact.id for fact in carried)
        self._pending: list[Fact] = list(carried)
        self._in_flight: list[Fact] = []
        self._told: list[Fact] = []
        self._task: asyncio.Task[None] | None = None

    def note_message(self, message: Inbound, now: datetime) -> None:
        """A message was applied: keep the facts only it proves, for the next hand-over."""
        self._told.extend(facts_of_message(self._lead_id, message, now))

    def hand_over(self, state: LeadState) -> None:
        """Queue what is new since the last hand-over, and make sure the writer runs."""
        self._pending.extend(self._new(state))
        if self._pending and self._task is None:
            self._task = asyncio.create_task(self._write_forever())

    def unwritten(self, state: LeadState) -> list[Fact]:
        """For the next run, as this one continues as new: what is not confirmed written
        yet, with what is new since the last hand-over (no write starts now)."""
        return [*self._in_flight, *self._pending, *self._new(state)]

    def _new(self, state: LeadState) -> list[Fact]:
        """The facts not handed over yet: the state's new ones and the messages'."""
        new = [f for f in (*facts_of_state(state), *self._told) if f.id not in self._logged]
        self._told = []
        self._logged.update(fact.id for fact in new)
        return new

    async def _write_forever(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._pending))
            self._in_flight, self._pending = self._pending, []
            try:
                await workflow.execute_local_activity(
                    record_facts,
                    FactBatch(facts=tuple(self._in_flight)),
                    start_to_close_timeout=FACTS_TIMEOUT,
                    retry_policy=FACTS_RETRY,
                    local_retry_threshold=_RETRY_LOCALLY_BELOW,
                    summary=f"{len(self._in_flight)} facts",
                )
            except ActivityError as err:
                # Only a refusal marked final ends the retries: keep the batch for later.
                workflow.logger.error("facts not written, trying again later: %s", err.cause)
                self._pending[:0] = self._in_flight
                self._in_flight = []
                await workflow.sleep(_AFTER_REFUSAL)
            self._in_flight = []
