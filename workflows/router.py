"""``RouterWorkflow``: the one durable rotation that assigns every sales-qualified lead.

Leads reach it through Temporal updates (sent by the ``assign_owner`` activity with
update-with-start), handled one at a time under a lock, so two leads arriving at the same
moment never read the same rotation. Each answer is remembered by request key, so a
retried request gets the same rep. It reloads the team for each request, so edits to
``config/sales.toml`` apply at once, and continues as new before its history grows large.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nurture.router_api import AssignRequest, ReleaseRequest, RouterInput
    from nurture.routing import RoutingDecision, SalesTeam, route

__all__ = ["RouterWorkflow"]

_REMEMBERED = 5000
"""Request keys kept for deduplication (retries come within minutes)."""


@workflow.defn
class RouterWorkflow:
    """Assigns leads to reps by the configured rules, keeping the rotation."""

    @workflow.init
    def __init__(self, input: RouterInput) -> None:
        self._state = input.state
        self._answered = dict(input.answered)
        self._released = list(input.released)
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: RouterInput) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            RouterInput(
                state=self._state,
                answered=dict(list(self._answered.items())[-_REMEMBERED:]),
                released=self._released[-_REMEMBERED:],
            )
        )

    @workflow.update
    async def assign(self, request: AssignRequest) -> RoutingDecision:
        """The rep for this lead (or the pool), applied to the rotation once per key."""
        async with self._lock:
            if request.key in self._answered:
                rep_id = self._answered[request.key]
                return RoutingDecision(rep_id=rep_id, reason="already decided for this request")
            team = await workflow.execute_local_activity(
                "load_sales_team",
                start_to_close_timeout=timedelta(seconds=10),
                result_type=SalesTeam,
            )
            decision = route(
                team, request.lead, self._state, workflow.now(), frozenset(request.exclude)
            )
            if decision.rep_id is not None:
                self._state = self._state.given(decision.rep_id)
            self._answered[request.key] = decision.rep_id
            self._publish()
            return decision

    @assign.validator
    def _check_assign(self, request: AssignRequest) -> None:
        if not request.lead.lead_id:
            raise ValueError("lead.lead_id is required")

    @workflow.update
    def release(self, request: ReleaseRequest) -> None:
        """One of a rep's open leads is closed: room for another (once per key)."""
        if request.key in self._released:
            return
        self._released.append(request.key)
        self._state = self._state.released(request.rep_id)
        self._publish()

    @workflow.query
    def rotation(self) -> dict[str, dict[str, int]]:
        """Leads assigned and open per rep."""
        return {"assigned": dict(self._state.assigned), "open": dict(self._state.open)}

    def _publish(self) -> None:
        rows = sorted(self._state.assigned)
        workflow.set_current_details(
            "| rep | assigned | open |\n| --- | ---: | ---: |\n"
            + "\n".join(
                f"| {r} | {self._state.assigned[r]} | {self._state.open.get(r, 0)} |" for r in rows
            )
        )
