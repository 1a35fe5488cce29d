"""Velocity: how long leads take from one funnel step to the next, the sales cycle, and how
fast sales accepts what it is handed.

Every measure starts in the range and ends whenever it ended (up to now), so a recent range
only shows the leads that already moved: compare ``entered`` with ``measured``.

- A move from step A to the next step B counts the leads that first reached A in the range
  (A: its ``lead_created`` for ``new``, a ``stage_changed`` to A, a ``sales_action``
  accepted for ``accepted``): they are ``entered``. Those that went on to B are
  ``measured``, timed from the LAST time they reached A before they first reached B to that
  first B: a lead returned to nurture and handed off again 90 days later is timed on the
  trip that got it to B (as the acceptance table times that hand-off), not from its first
  trip. A skipped step (new → sql) gives no measure for the moves around it: the lead is
  in ``entered`` and not in ``measured``.
- The sales cycle runs from the last time the lead became an SQL before it was won (the
  trip that won) to its first won deal (``sales_action`` won, or ``stage_changed`` to
  customer); it counts when that SQL moment is in the range.
- Acceptance: each hand-off (``handed_off``) started in the range, timed to the
  ``sales_action`` accepted of the same hand-off. A breach is a hand-off the engine
  escalated (``sla_escalated``): the SLA is counted in business hours, on the rep's
  calendar, which only the engine applies, so a Friday-evening lead accepted on Monday
  morning is no breach even though days passed. ``waiting`` hand-offs have no sales action.

Timings are in hours: the median and the 75th percentile (see ``stats.quantile``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.common import (
    FUNNEL_STAGES,
    Cell,
    Column,
    ReportQuery,
    ReportResult,
    ReportTable,
    hours,
    ratio,
    tally_facts,
)
from nurture.domain.reports.stats import quantile

__all__ = ["KINDS", "AcceptTiming", "MoveTiming", "VelocityReport", "VelocityTally", "velocity"]

KINDS: tuple[str, ...] = (
    "lead_created",
    "stage_changed",
    "sales_action",
    "handed_off",
    "sla_escalated",
)
_FROZEN = ConfigDict(frozen=True)
_MOVES = tuple(pairwise(FUNNEL_STAGES))


class MoveTiming(BaseModel):
    """The time from one step to another."""

    model_config = _FROZEN

    from_stage: str
    to_stage: str
    entered: int | None
    """Leads that first reached ``from_stage`` in the range (``None`` for the sales cycle)."""
    measured: int
    median_hours: float | None
    p75_hours: float | None


class AcceptTiming(BaseModel):
    """How fast sales accepts hand-offs, against the SLA."""

    model_config = _FROZEN

    sla_hours: float | None
    """The sales team's ``[sla] accept_within``, in business hours, when known."""
    handoffs: int
    accepted: int
    median_hours: float | None
    p75_hours: float | None
    breaches: int
    """Hand-offs escalated because the owner had not accepted within the SLA."""
    breach_rate: float | None
    waiting: int
    """Hand-offs with no sales action yet."""


class VelocityReport(ReportResult):
    """Time between funnel steps, the sales cycle and the time to accept."""

    report: Literal["velocity"] = "velocity"
    moves: tuple[MoveTiming, ...]
    sales_cycle: MoveTiming
    acceptance: AcceptTiming

    def tables(self) -> tuple[ReportTable, ...]:
        moves = ReportTable(
            name="moves",
            title="Time between steps (hours)",
            columns=(
                Column(key="from_stage", label="From", kind="text"),
                Column(key="to_stage", label="To", kind="text"),
                Column(key="entered", label="Entered"),
                Column(key="measured", label="Measured"),
                Column(key="median_hours", label="Median", kind="hours"),
                Column(key="p75_hours", label="p75", kind="hours"),
            ),
            rows=tuple(_move_row(m) for m in (*self.moves, self.sales_cycle)),
        )
        a = self.acceptance
        acceptance = ReportTable(
            name="acceptance",
            title="Time to accept a hand-off (hours)",
            columns=(
                Column(key="sla_hours", label="SLA (business h)", kind="hours"),
                Column(key="handoffs", label="Hand-offs"),
                Column(key="accepted", label="Accepted"),
                Column(key="median_hours", label="Median", kind="hours"),
                Column(key="p75_hours", label="p75", kind="hours"),
                Column(key="breaches", label="Breaches"),
                Column(key="breach_rate", label="Breach rate", kind="rate"),
                Column(key="waiting", label="Waiting"),
            ),
            rows=(
                (
                    a.sla_hours,
                    a.handoffs,
                    a.accepted,
                    a.median_hours,
                    a.p75_hours,
                    a.breaches,
                    a.breach_rate,
                    a.waiting,
                ),
            ),
        )
        return moves, acceptance


def _move_row(move: MoveTiming) -> tuple[Cell, ...]:
    return (
        move.from_stage,
        move.to_stage,
        move.entered,
        move.measured,
        move.median_hours,
        move.p75_hours,
    )


def _moments(facts: Sequence[Fact]) -> dict[str, list[datetime]]:
    """When the lead reached each step, in time order (``won``: its won deals)."""
    reached: dict[str, list[datetime]] = {}
    for fact in facts:
        step = None
        if fact.kind == "lead_created":
            step = "new"
        elif fact.kind == "stage_changed":
            step = "won" if fact.get("to_stage") == "customer" else str(fact.get("to_stage"))
        elif fact.kind == "sales_action" and fact.get("action") in ("accepted", "won"):
            step = str(fact.get("action"))
        if step is not None:
            reached.setdefault(step, []).append(fact.at)
    if "won" in reached:
        reached["customer"] = reached["won"]
    return reached


class VelocityTally:
    """The timings being collected, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.entered = {move: 0 for move in _MOVES}
        self.moves: dict[tuple[str, str], list[float]] = {move: [] for move in _MOVES}
        self.cycles: list[float] = []
        self.handoffs = self.breaches = self.waiting = 0
        self.accepts: list[float] = []

    def add_lead(self, facts: Sequence[Fact]) -> None:
        reached = _moments(facts)
        for move in _MOVES:
            self._move(move, reached)
        self._cycle(reached)
        self._handoffs(facts)

    def _move(self, move: tuple[str, str], reached: dict[str, list[datetime]]) -> None:
        starts = reached.get(move[0])
        if not starts or not self.period.covers(starts[0]):
            return
        self.entered[move] += 1
        end = next((at for at in reached.get(move[1], ()) if at >= starts[0]), None)
        if end is not None:
            start = max(at for at in starts if at <= end)  # the trip that got it to B
            self.moves[move].append(hours(end - start))

    def _cycle(self, reached: dict[str, list[datetime]]) -> None:
        won = reached.get("won")
        if not won:
            return
        start = max((at for at in reached.get("sql", ()) if at <= won[0]), default=None)
        if start is not None and self.period.covers(start):
            self.cycles.append(hours(won[0] - start))

    def _handoffs(self, facts: Sequence[Fact]) -> None:
        for started in (f for f in facts if f.kind == "handed_off" and self.period.covers(f.at)):
            number = started.get("handoff")
            same = [f for f in facts if f.get("handoff") == number and f.at >= started.at]
            actions = [f for f in same if f.kind == "sales_action"]
            accepted = next((f for f in actions if f.get("action") == "accepted"), None)
            self.handoffs += 1
            self.breaches += any(f.kind == "sla_escalated" for f in same)
            self.waiting += not actions
            if accepted is not None:
                self.accepts.append(hours(accepted.at - started.at))

    def result(self) -> VelocityReport:
        within = self.query.accept_within
        return VelocityReport(
            since=self.query.since,
            until=self.query.until,
            moves=tuple(_timing(m, self.entered[m], self.moves[m]) for m in _MOVES),
            sales_cycle=_timing(("sql", "won"), None, self.cycles),
            acceptance=AcceptTiming(
                sla_hours=None if within is None else hours(within),
                handoffs=self.handoffs,
                accepted=len(self.accepts),
                median_hours=_round(quantile(self.accepts, 0.5)),
                p75_hours=_round(quantile(self.accepts, 0.75)),
                breaches=self.breaches,
                breach_rate=ratio(self.breaches, self.handoffs),
                waiting=self.waiting,
            ),
        )


def _timing(move: tuple[str, str], entered: int | None, values: list[float]) -> MoveTiming:
    return MoveTiming(
        from_stage=move[0],
        to_stage=move[1],
        entered=entered,
        measured=len(values),
        median_hours=_round(quantile(values, 0.5)),
        p75_hours=_round(quantile(values, 0.75)),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def velocity(facts: Iterable[Fact], query: ReportQuery) -> VelocityReport:
    """The velocity of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(VelocityTally(query), facts).result()
