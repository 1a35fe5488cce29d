"""Cost: what a lead, an MQL and a customer cost, per acquisition source and month, from the
spend configured in ``[costs]`` (see :mod:`nurture.domain.reports.costs`).

Cohort semantics, as the funnel's: the leads CREATED in the range, by their source and the
month they were created, counted as MQL or customer if they reached that step up to now
(a lead that skipped MQL counts as one, as in the funnel). Spend is per calendar month,
prorated by day: a month the range covers only partly counts the share of its spend of the
days it covers (November's 3000 over 29-30 November: 2 of 30 days, 200); an open end covers
its months whole. ``prorated`` names the months counted in part. Cost per lead, per MQL and
per customer (CAC) divide a row's spend by its count; ``None`` when the spend is not
configured or the count is 0. The totals (per source, and overall) divide the spend they
know by the counts of the rows that have a spend, so a month without a configured spend
neither lowers nor raises them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.common import (
    FUNNEL_STAGES,
    Column,
    ReportQuery,
    ReportResult,
    ReportTable,
    tally_facts,
)
from nurture.domain.reports.funnel import furthest_step, group_of

__all__ = ["KINDS", "CostReport", "CostRow", "CostTally", "cost"]

KINDS: tuple[str, ...] = ("lead_created", "stage_changed", "sales_action")
_MQL = FUNNEL_STAGES.index("mql")
_CUSTOMER = FUNNEL_STAGES.index("customer")


class CostRow(BaseModel):
    """Leads, MQLs and customers of one source in one month (``None``: all of them)."""

    model_config = ConfigDict(frozen=True)

    source: str | None
    month: str | None
    spend: float | None
    leads: int
    mqls: int
    customers: int
    cost_per_lead: float | None
    cost_per_mql: float | None
    cac: float | None
    """Cost per customer: customer acquisition cost."""


class CostReport(ReportResult):
    """Spend against leads, MQLs and customers, per source and month."""

    report: Literal["cost"] = "cost"
    currency: str
    rows: tuple[CostRow, ...]
    """Per source and month, in that order."""
    sources: tuple[CostRow, ...]
    """Per source, every month of the range together."""
    total: CostRow
    prorated: tuple[str, ...] = ()
    """The months (``2026-11``) the range covers only partly, whose spend was counted by
    day."""

    def tables(self) -> tuple[ReportTable, ...]:
        money = f"({self.currency})"
        columns = (
            Column(key="source", label="Source", kind="text"),
            Column(key="month", label="Month", kind="text"),
            Column(key="spend", label=f"Spend {money}", kind="money"),
            Column(key="leads", label="Leads"),
            Column(key="mqls", label="MQLs"),
            Column(key="customers", label="Customers"),
            Column(key="cost_per_lead", label="Per lead", kind="money"),
            Column(key="cost_per_mql", label="Per MQL", kind="money"),
            Column(key="cac", label="CAC", kind="money"),
        )
        rows = tuple(
            (r.source or "(all)", r.month or "(all)", *(getattr(r, c.key) for c in columns[2:]))
            for r in (*self.rows, *self.sources, self.total)
        )
        title = f"Cost per lead, MQL and customer {money}"
        if self.prorated:
            title += f"; spend of {', '.join(self.prorated)} prorated by day in the range"
        return (ReportTable(name="cost", title=title, columns=columns, rows=rows),)


@dataclass
class _Counts:
    leads: int = 0
    mqls: int = 0
    customers: int = 0


@dataclass
class _Sum:
    spend: Decimal | None = None
    counts: _Counts | None = None
    costed: _Counts | None = None
    """The counts of the rows that have a spend: what the spend is divided by."""

    def add(self, spend: Decimal | None, counts: _Counts) -> None:
        self.counts = _plus(self.counts, counts)
        if spend is not None:
            self.spend = (self.spend or Decimal(0)) + spend
            self.costed = _plus(self.costed, counts)


def _plus(total: _Counts | None, more: _Counts) -> _Counts:
    base = total or _Counts()
    return _Counts(base.leads + more.leads, base.mqls + more.mqls, base.customers + more.customers)


class CostTally:
    """The leads being counted per source and month, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.counts: dict[tuple[str, str], _Counts] = {}

    def add_lead(self, facts: Sequence[Fact]) -> None:
        created = next((f for f in facts if f.kind == "lead_created"), None)
        if created is None or not self.period.covers(created.at):
            return
        source = str(created.get("source") or "unknown")
        month = group_of(created, "cohort") or ""
        counts = self.counts.setdefault((source, month), _Counts())
        furthest = furthest_step(facts)
        counts.leads += 1
        counts.mqls += furthest >= _MQL
        counts.customers += furthest >= _CUSTOMER

    def result(self) -> CostReport:
        costs = self.query.costs
        shares = {s.month: self._share(s.month) for s in costs.spend}
        keys = set(self.counts) | {
            (s.source.value, s.month) for s in costs.spend if shares[s.month]
        }
        rows: list[CostRow] = []
        by_source: dict[str, _Sum] = {}
        total = _Sum()
        for source, month in sorted(keys):
            amount = costs.amount(source, month)
            spend = None if amount is None else amount * shares[month]
            counts = self.counts.get((source, month))
            rows.append(_row(source, month, spend, counts))
            by_source.setdefault(source, _Sum()).add(spend, counts or _Counts())
            total.add(spend, counts or _Counts())
        return CostReport(
            since=self.query.since,
            until=self.query.until,
            currency=costs.currency,
            rows=tuple(rows),
            sources=tuple(_total(source, s) for source, s in sorted(by_source.items())),
            total=_total(None, total),
            prorated=tuple(sorted(m for m, share in shares.items() if 0 < share < 1)),
        )

    def _share(self, month: str) -> Decimal:
        """The share of ``month``'s spend the range counts: the days of it the range
        covers over its days (day numbers, so no date past the calendar's end is made)."""
        year, number = int(month[:4]), int(month[5:])
        days = calendar.monthrange(year, number)[1]
        first = date(year, number, 1).toordinal()
        since, until = self.query.since, self.query.until
        start = first if since is None else max(first, since.toordinal())
        end = first + days if until is None else min(first + days, until.toordinal())
        return Decimal(max(0, end - start)) / Decimal(days)


def _row(source: str, month: str, spend: Decimal | None, counts: _Counts | None) -> CostRow:
    counts = counts or _Counts()
    return _cost_row(source, month, spend, counts, counts if spend is not None else None)


def _total(source: str | None, summed: _Sum) -> CostRow:
    return _cost_row(source, None, summed.spend, summed.counts or _Counts(), summed.costed)


def _cost_row(
    source: str | None,
    month: str | None,
    spend: Decimal | None,
    counts: _Counts,
    costed: _Counts | None,
) -> CostRow:
    def per(field: str) -> float | None:
        count = 0 if costed is None else getattr(costed, field)
        if spend is None or not count:
            return None
        return float(round(spend / count, 2))

    return CostRow(
        source=source,
        month=month,
        spend=None if spend is None else float(round(spend, 2)),
        leads=counts.leads,
        mqls=counts.mqls,
        customers=counts.customers,
        cost_per_lead=per("leads"),
        cost_per_mql=per("mqls"),
        cac=per("customers"),
    )


def cost(facts: Iterable[Fact], query: ReportQuery) -> CostReport:
    """The cost report of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(CostTally(query), facts).result()
