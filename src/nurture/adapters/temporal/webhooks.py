"""The Temporal side of outbound webhooks: hand a lead's new facts to its ``WebhookWorkflow``
(signal-with-start), and, for operators, list and replay the dead letters.

The facts' writer publishes each batch after it is stored, on every attempt: a copy is
dropped by the workflow, a miss would be an event lost. Erasure publishes the ``erased``
event itself, once the lead's workflows (its webhook workflow with them) are deleted: the
new webhook workflow starts from nothing but the erasure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from nurture.domain.factlog import Fact, fact_id
from nurture.domain.webhooks import (
    DeadLetter,
    Notice,
    WebhookStream,
    WebhookSubscription,
    WebhookTiming,
    webhook_workflow_id,
)
from workflows import priorities
from workflows.webhooks import WebhookWorkflow

__all__ = ["WebhookPublisher", "dead_letters", "erasure_event", "replay_dead_letters"]

_QUERY_TIMEOUT = timedelta(seconds=10)
"""A query or the replay waits this long for a worker to answer (none running: the
command says so)."""
_OPEN_STREAMS = (
    "WorkflowType = 'WebhookWorkflow' AND ExecutionStatus = 'Running' AND NurtureDeadLetters > 0"
)
"""The webhook workflows holding dead letters (each says how many in a search attribute):
of thousands of open ones after an import, only those are asked."""


class WebhookPublisher:
    """Hands a lead's facts to its webhook workflow, for the subscriptions wanting them."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        subscriptions: Mapping[str, WebhookSubscription],
        timing: WebhookTiming | None = None,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._subscriptions = dict(subscriptions)
        self._timing = timing or WebhookTiming()

    async def publish(self, facts: Sequence[Fact]) -> int:
        """Signal each lead's wanted facts, in their order; how many leads were signalled."""
        by_lead: dict[str, list[tuple[Fact, tuple[tuple[str, timedelta], ...]]]] = defaultdict(list)
        for fact in facts:
            wanted = self._wanted(fact)
            if wanted and fact.lead_id:
                by_lead[fact.lead_id].append((fact, wanted))
        for lead_id, wanted_facts in by_lead.items():
            await self._signal(Notice(lead_id=lead_id, facts=tuple(wanted_facts)))
        return len(by_lead)

    async def publish_erasure(self, lead_id: str, now: datetime) -> None:
        """Tell the subscriptions wanting it that the lead was erased. The new webhook
        workflow is started even when none does: for its idle time it drops any fact of
        the lead a write still in flight at the erasure publishes late."""
        fact = erasure_event(lead_id, now)
        await self._signal(Notice(lead_id=lead_id, facts=((fact, self._wanted(fact)),)))

    def _wanted(self, fact: Fact) -> tuple[tuple[str, timedelta], ...]:
        """``(subscription, give_up_after)`` of each subscription wanting ``fact``."""
        return tuple(
            (name, sub.give_up_after)
            for name, sub in self._subscriptions.items()
            if sub.wants(fact.kind)
        )

    async def _signal(self, notice: Notice) -> None:
        await self._client.start_workflow(
            WebhookWorkflow.run,
            WebhookStream(lead_id=notice.lead_id, timing=self._timing),
            id=webhook_workflow_id(notice.lead_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="facts_published",
            start_signal_args=[notice],
            static_summary=f"webhooks of lead {notice.lead_id}",
            # Behind the leads, with the campaigns: a CRM a few minutes late is fine.
            priority=priorities.SEQUENCE,
        )


def erasure_event(lead_id: str, now: datetime) -> Fact:
    """The ``erased`` event of one lead, for its webhooks (the facts log keeps an
    anonymous one): the same id however often the erasure is run."""
    return Fact(id=fact_id(lead_id, "erased"), lead_id=lead_id, kind="erased", at=now)


async def dead_letters(client: Client, lead_id: str | None = None) -> list[DeadLetter]:
    """The dead letters of one lead, or of every lead with some, oldest first per lead."""
    found: list[DeadLetter] = []
    for workflow_id in await _streams(client, lead_id):
        handle = client.get_workflow_handle_for(WebhookWorkflow.run, workflow_id)
        try:
            found.extend(
                await handle.query(WebhookWorkflow.get_dead_letters, rpc_timeout=_QUERY_TIMEOUT)
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    return found


async def replay_dead_letters(client: Client, lead_id: str | None = None) -> int:
    """Queue the dead letters of one lead (or of every lead) again; how many."""
    replayed = 0
    for workflow_id in await _streams(client, lead_id):
        handle = client.get_workflow_handle_for(WebhookWorkflow.run, workflow_id)
        try:
            replayed += await handle.execute_update(
                WebhookWorkflow.replay, rpc_timeout=_QUERY_TIMEOUT
            )
        except RPCError as exc:  # ended meanwhile: it had no dead letter left
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    return replayed


async def _streams(client: Client, lead_id: str | None) -> list[str]:
    """The running webhook workflows: the lead's only, or all (through visibility)."""
    if lead_id is not None:
        return [webhook_workflow_id(lead_id)]
    return [found.id async for found in client.list_workflows(_OPEN_STREAMS)]
