"""The gateway from the outside world (API, CLI) to lead workflows.

Every message goes through the workflow's one signal, ``message_received``: form posts
signal-with-start ``lead-<lead_id>``, so the first post creates the workflow and every later
one reaches it; other messages (events, opt-outs...) signal an existing lead; reads go
through the ``get_state`` query. ``nurture.testing.MemoryLeadGateway`` records calls for HTTP tests;
anything about durability is tested against a real Temporal server instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Protocol, Self

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from nurture.adapters.temporal import visibility
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.input import ErasureFacts
from nurture.domain.lead.listing import LeadFilters, LeadPage
from nurture.domain.lead.messages import LEAD_SIGNAL, FormPosted, LeadImported, LeadMessage
from nurture.domain.lead.naming import import_summary, start_summary
from nurture.domain.lead.view import LeadView
from nurture.domain.models import FormSubmitted
from nurture.domain.sales.records import SalesAction
from nurture.domain.sales.router import router_workflow_id
from nurture.errors import NurtureError
from workflows import priorities, search_attributes
from workflows.lead import LeadWorkflow, LeadWorkflowInput
from workflows.router import RouterWorkflow

log = logging.getLogger("nurture.leads")

#: How long a lead's view may take before the caller hears Temporal is unavailable: a query
#: needs a worker, and without one (or when its answer is lost as a run continues as new)
#: the SDK's own wait is far longer than a person at a page or a script will hold on.
QUERY_TIMEOUT = timedelta(seconds=10)

__all__ = [
    "ActionRefused",
    "LeadGateway",
    "LeadNotFound",
    "LeadPending",
    "TemporalLeadGateway",
    "tell_lead",
]


class LeadNotFound(NurtureError):
    """No lead workflow with that id. The message names the lead as the person did: by the
    email they gave when there is one, never by its keyed hash, which they never saw."""

    def __init__(self, lead_id: str, email: str | None = None) -> None:
        super().__init__(f"no lead with {_named(lead_id, email)}")
        self.lead_id = lead_id
        self.email = email

    def named_by(self, email: str) -> Self:
        """The same error, naming the lead by the address the person gave."""
        return type(self)(self.lead_id, email)


class LeadPending(LeadNotFound):
    """The lead's workflow exists but has not applied its first form yet (a moment)."""

    def __init__(self, lead_id: str, email: str | None = None) -> None:
        NurtureError.__init__(
            self,
            f"the lead with {_named(lead_id, email)} is being created: its first form is "
            "accepted but not applied yet; retry in a moment",
        )
        self.lead_id = lead_id
        self.email = email


def _named(lead_id: str, email: str | None) -> str:
    return f"email {email!r}" if email else f"id {lead_id!r}"


class ActionRefused(NurtureError):
    """A sales action the lead's current state does not allow; nothing was recorded."""


class LeadGateway(Protocol):
    """What the API and CLI need from the lead workflows."""

    async def submit_form(self, lead_id: str, form: FormSubmitted) -> None:
        """Durably hand a form post to the lead's workflow, creating it if needed."""

    async def import_lead(self, lead_id: str, row: ImportedLead) -> None:
        """Durably hand an imported row to the lead's workflow, creating it if needed."""

    async def tell(self, lead_id: str, message: LeadMessage) -> None:
        """Durably hand a message (an event, an opt-out...) to an existing lead, or raise
        :class:`LeadNotFound` (never created, expired unconfirmed, or erased)."""

    async def get_lead(self, lead_id: str) -> LeadView:
        """The lead's current view, or raise :class:`LeadNotFound`."""

    async def act(self, lead_id: str, action: SalesAction) -> LeadView:
        """Apply a sales action, or raise :class:`ActionRefused` saying why not."""

    async def erasure_facts(self, lead_id: str) -> ErasureFacts:
        """The lead's address and workflow ids, or raise :class:`LeadNotFound`."""

    async def delete_workflows(self, lead_id: str, workflow_ids: tuple[str, ...]) -> int:
        """Terminate and delete every run of the lead's workflows; how many were deleted."""

    async def open_leads(self) -> dict[str, int]:
        """How many leads each rep has open now, as the router counts them for capacity."""

    async def list_leads(
        self, filters: LeadFilters, page_size: int, page_token: str | None
    ) -> LeadPage:
        """One page of the open leads matching ``filters``, or raise
        :class:`~nurture.adapters.temporal.visibility.InvalidPageToken`."""


class TemporalLeadGateway:
    """The gateway over a Temporal client."""

    def __init__(self, client: Client, task_queue: str, max_inbound_per_run: int = 2000) -> None:
        self._client = client
        self._task_queue = task_queue
        self._max_inbound = max_inbound_per_run

    async def submit_form(self, lead_id: str, form: FormSubmitted) -> None:
        """Signal-with-start: returns once Temporal has durably accepted the signal. A
        workflow it creates gets the lead's summary for the Temporal UI (never the address;
        a running one keeps its own)."""
        summary = start_summary(form)
        first = FormPosted(form=form)
        await self._start_with(lead_id, first, "new", form.lead.source.value, summary)

    async def import_lead(self, lead_id: str, row: ImportedLead) -> None:
        """Signal-with-start, as a form post, with the import's row: no thank-you, and the
        import's priority (behind every form's lead)."""
        summary = import_summary(row.lead, row.batch)
        stage = str(row.stage or "new")
        first = LeadImported(row=row)
        source = row.lead.source.value
        await self._start_with(lead_id, first, stage, source, summary, priorities.IMPORT)

    async def _start_with(
        self,
        lead_id: str,
        message: LeadMessage,
        stage: str,
        source: str,
        summary: str,
        priority: Priority = priorities.LEAD,
    ) -> None:
        """Signal ``message`` to the lead, starting its workflow (with these first search
        attributes and summary) if it is not running."""
        initial = TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.STAGE, stage),
                SearchAttributePair(search_attributes.SOURCE, source),
            ]
        )
        await self._client.start_workflow(
            LeadWorkflow.run,
            LeadWorkflowInput(lead_id=lead_id, max_inbound_per_run=self._max_inbound),
            id=workflow_id_for(lead_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=LEAD_SIGNAL,
            start_signal_args=[message],
            search_attributes=initial,
            static_summary=summary,
            priority=priority,
        )

    async def tell(self, lead_id: str, message: LeadMessage) -> None:
        """Signal the lead; an unknown or closed lead raises :class:`LeadNotFound`."""
        try:
            await self._handle(lead_id).signal(LeadWorkflow.message_received, message)
        except RPCError as exc:
            raise _not_found_or(exc, lead_id) from exc

    async def erasure_facts(self, lead_id: str) -> ErasureFacts:
        """The lead's address and workflow ids (its ``erasure_facts`` query)."""
        try:
            return await self._handle(lead_id).query(LeadWorkflow.erasure_facts)
        except RPCError as exc:
            raise _not_found_or(exc, lead_id) from exc

    async def delete_workflows(self, lead_id: str, workflow_ids: tuple[str, ...]) -> int:
        """Terminate the lead (so it starts nothing more), then delete every run of it and
        of the given workflows, and of any other ``lead-<id>/...`` workflow visibility
        knows. Returns the number of runs deleted."""
        own = workflow_id_for(lead_id)
        try:
            await self._client.get_workflow_handle(own).terminate(reason="erasure")
        except RPCError as exc:
            if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
        ids = dict.fromkeys((own, *workflow_ids))
        try:
            async for found in self._client.list_workflows(f'WorkflowId STARTS_WITH "{own}/"'):
                ids.setdefault(found.id)
        except RPCError:  # a server without advanced visibility: the known ids will do
            pass
        deleted = 0
        for workflow_id in ids:
            deleted += await self._delete_runs(workflow_id)
        return deleted

    async def _delete_runs(self, workflow_id: str) -> int:
        """Delete every run of one workflow id: the continue-as-new chain, walked back from
        the latest run through each run's first event (visibility may lag behind the last
        runs), plus any other run visibility lists (an earlier chain)."""
        runs = dict.fromkeys(await self._chain(workflow_id))
        try:
            async for found in self._client.list_workflows(f'WorkflowId = "{workflow_id}"'):
                runs.setdefault(found.run_id)
        except RPCError:
            pass
        deleted = 0
        for run_id in runs:
            request = DeleteWorkflowExecutionRequest(
                namespace=self._client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            )
            try:
                await self._client.workflow_service.delete_workflow_execution(request)
                deleted += 1
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
        return deleted

    async def _chain(self, workflow_id: str) -> list[str]:
        """Run ids of the latest run and every run it continued from, newest first."""
        try:
            latest = await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return []
            raise
        chain: list[str] = []
        run_id = latest.run_id
        while run_id and run_id not in chain:
            chain.append(run_id)
            request = GetWorkflowExecutionHistoryRequest(
                namespace=self._client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                maximum_page_size=1,
            )
            page = await self._client.workflow_service.get_workflow_execution_history(request)
            first = page.history.events[0] if page.history.events else None
            if first is None:
                break
            run_id = first.workflow_execution_started_event_attributes.continued_execution_run_id
        return chain

    async def get_lead(self, lead_id: str) -> LeadView:
        """Query the lead's state."""
        try:
            view = await self._handle(lead_id).query(
                LeadWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as exc:
            raise _not_found_or(exc, lead_id) from exc
        if view is None:
            described = await self._handle(lead_id).describe()
            if described.status != WorkflowExecutionStatus.RUNNING:
                raise LeadNotFound(lead_id)  # expired unconfirmed: nothing is kept
            raise LeadPending(lead_id)
        return view

    async def act(self, lead_id: str, action: SalesAction) -> LeadView:
        """A Temporal update with a validator: a refused action leaves no trace."""
        try:
            return await self._handle(lead_id).execute_update(LeadWorkflow.act, action)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise ActionRefused(getattr(cause, "message", None) or str(cause)) from exc
        except RPCError as exc:
            raise _not_found_or(exc, lead_id) from exc

    async def open_leads(self) -> dict[str, int]:
        """The router's count (none yet when no lead ever reached sales)."""
        handle = self._client.get_workflow_handle_for(
            RouterWorkflow.run, router_workflow_id(self._task_queue)
        )
        try:
            rotation = await handle.query(RouterWorkflow.rotation)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return {}
            raise
        return rotation.get("open", {})

    async def list_leads(
        self, filters: LeadFilters, page_size: int, page_token: str | None
    ) -> LeadPage:
        """From visibility: the leads' search attributes, never a workflow query."""
        return await visibility.list_leads(self._client, filters, page_size, page_token)

    def _handle(self, lead_id: str) -> WorkflowHandle[LeadWorkflow, None]:
        return self._client.get_workflow_handle_for(LeadWorkflow.run, workflow_id_for(lead_id))


async def tell_lead(signal: Awaitable[None]) -> bool:
    """Await a signal to a lead about its address (unsubscribed, bouncing) that was already
    suppressed; False if the lead is gone (erased) or Temporal is unreachable. Either way
    the suppression, recorded first, is what protects the person."""
    try:
        await signal
    except LeadNotFound:
        return False
    except RPCError as exc:
        log.error("suppression recorded, lead not told: %s", exc.message)
        return False
    return True


def _not_found_or(exc: RPCError, lead_id: str) -> Exception:
    return LeadNotFound(lead_id) if exc.status == RPCStatusCode.NOT_FOUND else exc
