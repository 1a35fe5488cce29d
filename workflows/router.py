"""``RouterWorkflow``: the one durable rotation that assigns every sales-qualified lead.

Leads reach it through Temporal updates, sent by the ``assign_owner`` activity with the
team it read from ``config/sales.toml`` (so edits apply at once). The handler never awaits:
each update reads and writes the rotation in one step, so two leads arriving at the same
moment never read the same rotation, and a burst is answered in a single workflow task.
Each answer is remembered by request key, so a retried request gets the same rep. It
continues as new before its history grows large: when the server suggests it, or after
``max_requests_per_run`` requests.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nurture.domain.sales.router import ClaimRequest, ReleaseRequest, RouteRequest, RouterInput
    from nurture.domain.sales.routing import RoutingDecision, route

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
        self._claimed = list(input.claimed)
        self._requests = 0
        """Requests handled by this run (retries included)."""

    @workflow.run
    async def run(self, input: RouterInput) -> None:
        await workflow.wait_condition(
            lambda: (
                workflow.info().is_continue_as_new_suggested()
                or self._requests >= input.max_requests_per_run
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            RouterInput(
                state=self._state,
                answered=dict(list(self._answered.items())[-_REMEMBERED:]),
                released=self._released[-_REMEMBERED:],
                claimed=self._claimed[-_REMEMBERED:],
                max_requests_per_run=input.max_requests_per_run,
            )
        )

    @workflow.update
    def assign(self, route_request: RouteRequest) -> RoutingDecision:
        """The rep for this lead (or the pool), applied to the rotation once per key."""
        self._requests += 1
        request = route_request.request
        if request.key in self._answered:
            return RoutingDecision(
                rep_id=self._answered[request.key], reason="already decided for this request"
            )
        decision = route(
            route_request.team,
            request.lead,
            self._state,
            workflow.now(),
            frozenset(request.exclude),
        )
        if decision.rep_id is not None:
            self._state = self._state.given(decision.rep_id)
        self._answered[request.key] = decision.rep_id
        self._publish()
        return decision

    @assign.validator
    def _check_assign(self, route_request: RouteRequest) -> None:
        if not route_request.request.lead.lead_id:
            raise ValueError("lead.lead_id is required")

    @workflow.update
    def release(self, request: ReleaseRequest) -> None:
        """One of a rep's open leads is closed: room for another (once per key)."""
        self._requests += 1
        if request.key in self._released:
            return
        self._released.append(request.key)
        self._state = self._state.released(request.rep_id)
        self._publish()

    @workflow.update
    def claim(self, request: ClaimRequest) -> None:
        """A rep took a lead from the pool: one more open lead for them (once per key), so
        their capacity counts it and the release when it closes balances."""
        self._requests += 1
        if request.key in self._claimed:
            return
        self._claimed.append(request.key)
        self._state = self._state.claimed(request.rep_id)
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
