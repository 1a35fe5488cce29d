"""The funnel: how many leads reached each step, and the conversion from step to step.

Two counts per step, two questions:

- ``reached`` (cohort semantics): of the leads CREATED in the range (their
  ``lead_created`` fact), those that reached the step, up to now, so a range's figures can
  still grow as its leads move on. "Of November's leads, how many became MQLs?"
- ``entered`` (activity semantics): the leads whose FIRST arrival at the step falls in the
  range, whenever they were created. "How many leads became MQLs in November?" A lead
  created in October that became an MQL in November is entered in November's mql, and in
  none of its ``reached``.

A lead reached a step when a ``stage_changed`` fact took it there (``mql``, ``sql``,
``opportunity``, ``customer``) or, for ``accepted``, a ``sales_action`` accepted it; a
``converted`` or ``won`` action counts as reaching opportunity or customer too. A lead that
skipped a step (new → sql on a hand-raise, say) counts as having reached the steps before
the furthest one it reached, entering them at the moment of the later step it jumped to:
the funnel never narrows backwards. Being recycled or disqualified later takes nothing
back, and coming back to a step is no new arrival. A lead with no ``lead_created`` fact
(erased, or older than the log and not backfilled) is not counted.

The rate of a step is ``reached / reached at the previous step`` (``None`` for ``new``, and
when the previous step has no lead); ``of_new`` is ``reached / new``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
    ratio,
    tally_facts,
)

__all__ = [
    "FUNNEL_BY",
    "KINDS",
    "FunnelGroup",
    "FunnelReport",
    "FunnelTally",
    "StageCount",
    "first_arrivals",
    "funnel",
    "furthest_step",
    "group_of",
]

KINDS: tuple[str, ...] = ("lead_created", "stage_changed", "sales_action")
FUNNEL_BY: tuple[str, ...] = ("source", "form", "utm_campaign", "cohort")
"""What the funnel may be grouped by: fields of ``lead_created`` (``cohort``: the month the
lead was created, ``2026-11``)."""

_STEP = {stage: number for number, stage in enumerate(FUNNEL_STAGES)}
_ACTION_STEP = {
    "accepted": _STEP["accepted"],
    "converted": _STEP["opportunity"],
    "won": _STEP["customer"],
}
_FROZEN = ConfigDict(frozen=True)


class StageCount(BaseModel):
    """One step of the funnel."""

    model_config = _FROZEN

    stage: str
    reached: int
    """Leads created in the range that reached the step (cohort)."""
    rate: float | None
    """``reached`` over the previous step's; ``None`` for ``new`` or after an empty step."""
    of_new: float | None
    """``reached`` over the leads created; ``None`` when none was."""
    entered: int = 0
    """Leads that first reached the step in the range, whenever created (activity)."""


class FunnelGroup(BaseModel):
    """The funnel of the leads sharing one value of the grouping (``None``: no value)."""

    model_config = _FROZEN

    group: str | None
    stages: tuple[StageCount, ...]


class FunnelReport(ReportResult):
    """Leads created in the range, by the furthest step of the funnel they reached
    (``reached``), and the leads that first reached each step in the range (``entered``)."""

    report: Literal["funnel"] = "funnel"
    by: str | None
    stages: tuple[StageCount, ...]
    groups: tuple[FunnelGroup, ...] = ()
    """One funnel per value of ``by``, in alphabetical order (no value last)."""

    def tables(self) -> tuple[ReportTable, ...]:
        columns = [
            Column(key="stage", label="Stage", kind="text"),
            Column(key="reached", label="Reached"),
            Column(key="rate", label="Step rate", kind="rate"),
            Column(key="of_new", label="Of new", kind="rate"),
            Column(key="entered", label="Entered in period"),
        ]
        rows: list[tuple[Cell, ...]] = [_row(s) for s in self.stages]
        if self.by is not None:
            columns.insert(0, Column(key="group", label=self.by, kind="text"))
            rows = [("(all)", *row) for row in rows]
            for group in self.groups:
                name = "(none)" if group.group is None else group.group
                rows += [(name, *_row(s)) for s in group.stages]
        table = ReportTable(
            name="funnel",
            title="Funnel: leads created in the range, by the steps they reached",
            note=(
                "Reached and rates: the leads created in the range (a cohort). Entered in "
                "period: the leads that first reached the step in the range, whenever created."
            ),
            columns=tuple(columns),
            rows=tuple(rows),
        )
        return (table,)


def _row(stage: StageCount) -> tuple[Cell, ...]:
    return (stage.stage, stage.reached, stage.rate, stage.of_new, stage.entered)


def furthest_step(facts: Iterable[Fact]) -> int:
    """The index in ``FUNNEL_STAGES`` of the furthest step a lead reached (0: new)."""
    furthest = 0
    for fact in facts:
        furthest = max(furthest, _step_of(fact))
    return furthest


def _step_of(fact: Fact) -> int:
    """The step a fact says the lead reached (0: none past new)."""
    if fact.kind == "stage_changed":
        return _STEP.get(str(fact.get("to_stage")), 0)
    if fact.kind == "sales_action":
        return _ACTION_STEP.get(str(fact.get("action")), 0)
    return 0


def first_arrivals(facts: Iterable[Fact]) -> list[datetime | None]:
    """When the lead first reached each step of ``FUNNEL_STAGES`` (``None``: never), from
    its facts in time order; a skipped step is reached with the later step it jumped to."""
    arrivals: list[datetime | None] = [None] * len(FUNNEL_STAGES)
    for fact in facts:
        for step in range(_step_of(fact) + 1):
            if arrivals[step] is None:
                arrivals[step] = fact.at
    return arrivals


def group_of(created: Fact, by: str) -> str | None:
    """The lead's value of the grouping ``by``, from its ``lead_created`` fact."""
    if by == "cohort":
        return str(created.get("cohort") or f"{created.at:%Y-%m}")
    value = created.get(by)
    return None if value is None or value == "" else str(value)


@dataclass
class _Counts:
    reached: list[int] = field(default_factory=lambda: [0] * len(FUNNEL_STAGES))
    entered: list[int] = field(default_factory=lambda: [0] * len(FUNNEL_STAGES))


class FunnelTally:
    """The funnel being counted, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.total = _Counts()
        self.groups: dict[str | None, _Counts] = {}

    def add_lead(self, facts: Sequence[Fact]) -> None:
        created = next((f for f in facts if f.kind == "lead_created"), None)
        if created is None:
            return
        arrivals = first_arrivals(facts)
        cohort = self.period.covers(created.at)
        entered = [at is not None and self.period.covers(at) for at in arrivals]
        if not cohort and not any(entered):
            return
        counts = [self.total]
        if self.query.by is not None:
            counts.append(self.groups.setdefault(group_of(created, self.query.by), _Counts()))
        for count in counts:
            for step, arrived in enumerate(arrivals):
                count.reached[step] += cohort and arrived is not None
                count.entered[step] += entered[step]

    def result(self) -> FunnelReport:
        groups = sorted(self.groups.items(), key=lambda item: (item[0] is None, item[0] or ""))
        return FunnelReport(
            since=self.query.since,
            until=self.query.until,
            by=self.query.by,
            stages=_stages(self.total),
            groups=tuple(FunnelGroup(group=name, stages=_stages(c)) for name, c in groups),
        )


def _stages(counts: _Counts) -> tuple[StageCount, ...]:
    reached = counts.reached
    return tuple(
        StageCount(
            stage=stage,
            reached=reached[step],
            rate=None if step == 0 else ratio(reached[step], reached[step - 1]),
            of_new=ratio(reached[step], reached[0]),
            entered=counts.entered[step],
        )
        for step, stage in enumerate(FUNNEL_STAGES)
    )


def funnel(facts: Iterable[Fact], query: ReportQuery) -> FunnelReport:
    """The funnel of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(FunnelTally(query), facts).result()
