"""Run a report over the facts store: what the CLI, the API and the dashboard share.

``parse_query`` turns what a person typed (dates as text, a grouping) into a
:class:`ReportQuery`, refusing a bad value with a :class:`ReportParamError` that names the
parameter; ``run_report`` streams only the fact kinds and the range the report needs from
the store, one lead at a time, into the report's accumulator. The reports themselves are
pure (``nurture.domain.reports``); their list is ``REPORTS``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from nurture.config.files import load_project_config, load_sales_team
from nurture.config.settings import Settings
from nurture.domain.factlog import Fact
from nurture.domain.reports import REPORTS, Costs, ReportQuery, ReportResult, ReportSpec
from nurture.domain.reports.common import Cell
from nurture.errors import NurtureError

if TYPE_CHECKING:  # the stores' drivers (psycopg) load only when a report is run
    from nurture.adapters.factlog import FactStore
    from nurture.domain.reports import LeadTally

__all__ = [
    "ReportConfig",
    "ReportParamError",
    "UnknownReport",
    "by_lead_stream",
    "load_report_config",
    "parse_day",
    "parse_query",
    "report_csv",
    "report_spec",
    "run_report",
    "run_reports",
]


class UnknownReport(NurtureError):
    """A report name nurture does not know."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no report named {name!r}; the reports are {', '.join(REPORTS)}")


class ReportParamError(NurtureError):
    """A report parameter that cannot be used, named with the rule it broke."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")


class ReportConfig(BaseModel):
    """What the reports read from the configuration files."""

    model_config = ConfigDict(frozen=True)

    costs: Costs = Costs()
    """``[costs]`` of ``nurture.toml``: the spend the cost report divides."""
    accept_within: timedelta | None = None
    """``[sla] accept_within`` of ``sales.toml``, shown by the velocity report."""


def load_report_config(settings: Settings) -> ReportConfig:
    """The spend and the SLA, from the project's configuration files."""
    project = load_project_config(settings.path(settings.config_file))
    team = load_sales_team(settings.path(settings.sales_file))
    return ReportConfig(costs=project.costs, accept_within=team.sla.accept_within)


def report_spec(name: str) -> ReportSpec:
    """The report called ``name``, or :class:`UnknownReport`."""
    spec = REPORTS.get(name)
    if spec is None:
        raise UnknownReport(name)
    return spec


def parse_query(
    name: str,
    since: str | date | None = None,
    until: str | date | None = None,
    by: str | None = None,
    config: ReportConfig | None = None,
) -> ReportQuery:
    """The query for report ``name``; :class:`UnknownReport` for a name nurture does not
    know, :class:`ReportParamError` naming ``since``, ``until`` or ``by`` for a bad value.

    ``since`` and ``until`` are days (``2026-11-01``), ``until`` excluded; an empty string
    is no value, like ``None``."""
    spec = report_spec(name)
    first, after = parse_day("since", since), parse_day("until", until)
    if first is not None and after is not None and after <= first:
        raise ReportParamError("until", f"must be after since ({first}): the range excludes it")
    if by == "":
        by = None
    if by is not None and by not in spec.by:
        if not spec.by:
            raise ReportParamError("by", f"the {name} report takes no grouping")
        choices = f"{', '.join(spec.by[:-1])} or {spec.by[-1]}"
        raise ReportParamError("by", f"the {name} report groups by {choices}, not {by!r}")
    config = config or ReportConfig()
    return ReportQuery(
        since=first,
        until=after,
        by=by,
        costs=config.costs,
        accept_within=config.accept_within,
    )


def parse_day(param: str, value: str | date | None) -> date | None:
    """A day given as ``YYYY-MM-DD`` (an empty string is none), or a
    :class:`ReportParamError` naming ``param``."""
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ReportParamError(param, f"{value!r} is not a date: write it YYYY-MM-DD") from None


async def run_report(name: str, store: FactStore, query: ReportQuery) -> ReportResult:
    """Report ``name`` over the facts in ``store``, read as the report needs them: its
    kinds only, from the range's first day (from the first fact when the report needs
    history), streamed one lead at a time."""
    (result,) = await run_reports(store, [(name, query)])
    return result


async def run_reports(
    store: FactStore, asks: Sequence[tuple[str, ReportQuery]]
) -> list[ReportResult]:
    """Each report asked (by name, with its query), in one read of ``store``: the union of
    their kinds from the earliest moment any of them needs. Each report is fed every lead's
    facts of its own kinds from its own start, and no lead without any: what
    ``run_report`` would give it alone, for one pass over the log instead of one each."""
    readers = [_Reader.of(report_spec(name), query) for name, query in asks]
    if not readers:
        return []
    starts = [reader.start for reader in readers]
    since = None if None in starts else min(start for start in starts if start is not None)
    kinds = frozenset().union(*(reader.kinds for reader in readers))
    facts = store.read(kinds=sorted(kinds), since=since)
    async for lead in by_lead_stream(facts):
        shares = {(kinds, since): lead}  # a report that reads it all takes the lead as it is
        for reader in readers:
            key = (reader.kinds, reader.start)
            share = shares.get(key)
            if share is None:
                share = shares[key] = reader.share(lead)
            if share:
                reader.tally.add_lead(share)
    return [reader.tally.result() for reader in readers]


@dataclass(frozen=True)
class _Reader:
    """One report of a read: its tally, and the part of each lead it is fed."""

    tally: LeadTally
    kinds: frozenset[str]
    start: datetime | None

    @classmethod
    def of(cls, spec: ReportSpec, query: ReportQuery) -> _Reader:
        start = None if spec.from_start else query.period().start
        return cls(spec.tally(query), frozenset(spec.kinds), start)

    def share(self, lead: list[Fact]) -> list[Fact]:
        """The lead's facts this report reads (still in time order)."""
        kinds, start = self.kinds, self.start
        return [f for f in lead if f.kind in kinds and (start is None or f.at >= start)]


async def by_lead_stream(facts: AsyncIterator[Fact]) -> AsyncIterator[list[Fact]]:
    """The stream (ordered by lead) cut into each lead's facts, in time order; the
    ``erased`` marker (lead id ``""``) is no lead."""
    lead: list[Fact] = []
    async for fact in facts:
        if lead and fact.lead_id != lead[0].lead_id:
            yield sorted(lead, key=lambda f: f.at)
            lead = []
        if fact.lead_id:
            lead.append(fact)
    if lead:
        yield sorted(lead, key=lambda f: f.at)


def report_csv(result: ReportResult) -> str:
    """The report as CSV with one header row: its table's columns, or, for a report of
    several tables, a first column ``table`` naming each row's table, then every table's
    columns (a row leaves the others' empty; columns of the same key are shared). Lines
    end in CRLF (RFC 4180), so a cell holding a line break of either kind is quoted.

    A text cell a spreadsheet would take for a formula (it starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe: a campaign name
    comes from a landing page's URL, which anyone can write. Figures stay as they are."""
    tables = result.tables()
    keys = list(dict.fromkeys(column.key for table in tables for column in table.columns))
    several = len(tables) > 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["table", *keys] if several else keys)
    for table in tables:
        for row in table.rows:
            cells = dict(zip((c.key for c in table.columns), row, strict=True))
            values = [_csv_cell(cells.get(key)) for key in keys]
            writer.writerow([table.name, *values] if several else values)
    return out.getvalue()


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Cell) -> Cell:
    """A cell as CSV writes it: nothing for no value, text defused (see ``report_csv``)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value
