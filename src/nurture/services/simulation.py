"""Simulate a sequence: run the real ``SequenceWorkflow`` for a synthetic lead on Temporal's
time-skipping test server, once per branch, and record every email each branch would send.

The first branch takes the default at every decision point (no event, the lead's own
variant); each point it reaches opens the branches that choose otherwise there
(:func:`~nurture.domain.sequences.simulation.plans_after`), run depth-first up to a bound;
a sequence with a goal gets one more branch, reaching it just after the first email. Each
branch runs as :class:`~nurture.services.simulation_branch.BranchRun` says. Splits are
steered through the lead's id: the branch that wants another variant runs a lead whose
id the real assignment puts there.
"""

from __future__ import annotations

from itertools import groupby

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from nurture.domain.models import LeadEvent
from nurture.domain.schedule import lead_zone
from nurture.domain.sequences.models import LeadSnapshot, assign_variant
from nurture.domain.sequences.simulation import HOLDOUT, Branch, Plan, Simulation, plans_after
from nurture.services.simulation_branch import (
    BranchRun,
    Project,
    SimulationError,
    SimulationRequest,
)
from workflows.sequences import REGISTRY
from workflows.sequences.base import goals_of, matches

__all__ = ["simulate"]


async def simulate(request: SimulationRequest, project: Project) -> Simulation:
    """Every branch of the sequence for the lead, depth-first, at most ``limit``."""
    if (request.name, request.version) not in REGISTRY:
        raise SimulationError(f"no sequence {request.name} version {request.version}")
    goal = _goal_event(request, project)
    runtime = _quiet_runtime()
    stack = [Plan()]
    branches: list[Branch] = []
    while stack and len(branches) < request.limit:
        plan = stack.pop()
        lead = _lead_for(plan, request.lead)
        if lead is None:
            continue  # no lead id lands in that combination of variants
        run = BranchRun(request, project, runtime, plan, lead, len(branches) + 1)
        branch = await run.run()
        branches.append(branch)
        if plan.goal is None:  # the goal's branch opens no others
            _push(stack, plans_after(plan, run.reached))
        if len(branches) == 1 and goal is not None:
            stack.insert(0, Plan(goal=goal))  # last: the goal just after the first email
    zone = lead_zone(request.lead.timezone, request.lead.country, project.sending.window)
    return Simulation(
        sequence=request.name,
        version=request.version,
        zone=zone.key,
        start=request.start,
        branches=tuple(branches),
        cut=bool(stack),
        limit=request.limit,
    )


def _push(stack: list[Plan], opened: list[Plan]) -> None:
    """Push so that the deepest point's branches come next, each point's options in
    order: the tree reads from the default branch outwards."""
    for _, group in groupby(opened, key=lambda plan: len(plan.choices)):
        stack.extend(reversed(list(group)))


def _quiet_runtime() -> Runtime:
    """A Temporal runtime that logs errors only: the test server lacks features the
    worker warns about (heartbeat details), which mean nothing to a simulation."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


def _goal_event(request: SimulationRequest, project: Project) -> str | None:
    """An event type that reaches the sequence's goal: the first named, else the first
    declared type a goal predicate accepts."""
    goals = goals_of(REGISTRY[(request.name, request.version)])
    for goal in goals:
        if isinstance(goal, str):
            return goal
    for kind in project.event_types:
        probe = LeadEvent(id="probe", type=kind, occurred_at=request.start)
        if any(matches(goal, probe) for goal in goals):
            return kind
    return None


def _lead_for(plan: Plan, lead: LeadSnapshot, tries: int = 100_000) -> LeadSnapshot | None:
    """The lead, with an id the plan's splits assign as it chooses (the lead's own id
    when it does already); None when no id tried does."""
    wanted = [(c.point, None if c.option == HOLDOUT else c.option) for c in plan.choices]
    wanted = [(p, v) for p, v in wanted if p.kind == "split"]
    for n in range(tries):
        lead_id = lead.lead_id if n == 0 else f"{lead.lead_id}-{n}"
        if all(assign_variant(lead_id, p.label, p.variants, p.holdout) == v for p, v in wanted):
            return lead if n == 0 else lead.model_copy(update={"lead_id": lead_id})
    return None
