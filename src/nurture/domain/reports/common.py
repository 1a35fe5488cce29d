"""What every report shares: the question asked (``ReportQuery``), the shape of an answer
(``ReportResult`` and its ``ReportTable``), the funnel's stages, and how facts are fed in.

A report is an accumulator (a ``LeadTally``) fed one lead's facts at a time, in the order
the facts store reads them (by lead, then moment), so a report over millions of facts holds
one lead in memory plus its counters. ``tally_facts`` feeds a plain iterable of facts, which
is what the pure report functions and the tests use; the reports service feeds the store's
stream the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.costs import Costs

__all__ = [
    "FUNNEL_STAGES",
    "Cell",
    "Column",
    "ColumnKind",
    "LeadTally",
    "Period",
    "ReportQuery",
    "ReportResult",
    "ReportTable",
    "by_lead",
    "current_and_candidate",
    "hours",
    "ratio",
    "tally_facts",
    "with_change",
]

FUNNEL_STAGES: tuple[str, ...] = ("new", "mql", "sql", "accepted", "opportunity", "customer")
"""The funnel's steps in order. ``accepted`` is a sales action, the others lifecycle stages;
recycled and disqualified are ways out of the funnel, not steps of it."""

_FROZEN = ConfigDict(frozen=True)
Cell = str | int | float | None
ColumnKind = Literal["text", "count", "rate", "hours", "money", "number", "decimal"]
"""``number``: a p-value (small values matter); ``decimal``: a figure with two places."""


class ReportQuery(BaseModel):
    """What a report is asked: the date range, the grouping, and the configuration some
    reports read (the spend for ``cost``, the acceptance SLA for ``velocity``)."""

    model_config = _FROZEN

    since: date | None = None
    """First day of the range (UTC), included; ``None``: from the first fact."""
    until: date | None = None
    """Day after the range (UTC), excluded: ``since=2026-11-01, until=2026-12-01`` is
    November; ``None``: up to now."""
    by: str | None = None
    costs: Costs = Costs()
    accept_within: timedelta | None = None
    """The sales team's SLA to accept a lead (business hours), shown beside the measures."""

    def period(self) -> Period:
        """The range as the moments it starts and ends (midnight UTC)."""
        return Period(start=_midnight(self.since), end=_midnight(self.until))


@dataclass(frozen=True)
class Period:
    """A range of moments, ``start`` included, ``end`` excluded, either open (``None``).
    A report asks it of nearly every fact, so it holds moments, not days."""

    start: datetime | None
    end: datetime | None

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` falls in the range."""
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, datetime.min.time(), UTC)


class Column(BaseModel):
    """One column of a report table: its key (CSV header), its label and what it holds."""

    model_config = _FROZEN

    key: str
    label: str
    kind: ColumnKind = "count"


class ReportTable(BaseModel):
    """A report as rows and columns, for a person (terminal, dashboard) or a spreadsheet:
    cells hold raw values (a rate is 0.25, hours are hours); formatting is the reader's."""

    model_config = _FROZEN

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    """What a reader must know to read the figures right, shown under the table."""


class ReportResult(BaseModel):
    """What every report answers: which report and over which range."""

    model_config = _FROZEN

    report: str
    since: date | None
    until: date | None

    def tables(self) -> tuple[ReportTable, ...]:
        """The report as tables, in the order a person reads them."""
        raise NotImplementedError


class LeadTally(Protocol):
    """A report being computed: fed each lead's facts once, then asked for its result."""

    def add_lead(self, facts: Sequence[Fact]) -> None:
        """Count one lead, from its facts of the kinds the report reads, in time order."""

    def result(self) -> ReportResult:
        """The report over every lead added so far."""


T = TypeVar("T", bound=LeadTally)


def by_lead(facts: Iterable[Fact]) -> Iterator[list[Fact]]:
    """Facts ordered by lead, as lists of one lead's facts. The ``erased`` marker (lead
    id ``""``: it says an erasure happened, not to whom) is no lead and is skipped."""
    for lead_id, group in groupby(facts, key=lambda fact: fact.lead_id):
        if lead_id:
            yield sorted(group, key=lambda fact: fact.at)


def tally_facts(tally: T, facts: Iterable[Fact]) -> T:
    """Feed ``facts`` (ordered by lead, as the store reads them) to ``tally`` lead by lead."""
    for lead in by_lead(facts):
        tally.add_lead(lead)
    return tally


def ratio(part: int | float, whole: int | float) -> float | None:
    """``part / whole`` rounded to 4 places, or ``None`` when ``whole`` is 0 (no data is
    not a zero rate)."""
    return None if not whole else round(part / whole, 4)


def current_and_candidate(first: str) -> tuple[Column, ...]:
    """The columns of a table comparing two configurations: what a row counts (keyed
    ``first``), the count under each and the change (rows from :func:`with_change`)."""
    return (
        Column(key=first, label="", kind="text"),
        Column(key="current", label="Current"),
        Column(key="candidate", label="Candidate"),
        Column(key="change", label="Change"),
    )


def with_change(counts: tuple[int, int]) -> tuple[int, int, int]:
    """The counts under the current and the candidate configuration, and the change."""
    return (counts[0], counts[1], counts[1] - counts[0])


def hours(delta: timedelta) -> float:
    """A duration in hours, the unit every timing of the reports is given in."""
    return delta.total_seconds() / 3600
