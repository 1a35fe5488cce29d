"""Sales: what sales did with the leads it was handed, per rep, for the pool and in total.

Hand-off semantics: the hand-offs STARTED in the range (``handed_off`` facts), followed up
to now through the facts of the same hand-off (their ``handoff`` field).

- Each hand-off belongs to the rep of its last ``assigned`` fact (a reassignment after an
  escalation moves it to the new owner); a hand-off never assigned (``pooled``) belongs to
  the pool (``rep`` None), whoever picked it up.
- Its decision is the first of accepted, returned or disqualified among its sales actions;
  ``pending`` when there is none yet. The acceptance rate is accepted over decided
  hand-offs (accepted + returned + disqualified).
- Return reasons count every return of those hand-offs, one returned after being accepted
  included, under the BANT reasons sales gives (budget, authority, need, timing), then
  no_response and other (any reason not in that list).
- The win rate is won over won + lost deals of those hand-offs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.common import (
    Cell,
    Column,
    ReportQuery,
    ReportResult,
    ReportTable,
    ratio,
    tally_facts,
)
from nurture.domain.sales.records import RETURN_REASONS

__all__ = ["KINDS", "RepSales", "SalesReport", "SalesRow", "SalesTally", "sales"]

KINDS: tuple[str, ...] = ("handed_off", "assigned", "pooled", "sales_action")
_DECISIONS = ("accepted", "returned", "disqualified")
_OUTCOMES = ("converted", "won", "lost")
_LABELS = {
    "handoffs": "SQLs",
    "accepted": "Accepted",
    "returned": "Returned",
    "disqualified": "Disq.",
    "pending": "Pending",
}


class SalesRow(BaseModel):
    """What happened to a set of hand-offs."""

    model_config = ConfigDict(frozen=True)

    handoffs: int = 0
    accepted: int = 0
    returned: int = 0
    disqualified: int = 0
    pending: int = 0
    acceptance_rate: float | None = None
    converted: int = 0
    won: int = 0
    lost: int = 0
    win_rate: float | None = None
    return_reasons: dict[str, int] = {}
    """Every reason of ``RETURN_REASONS``, with how many returns gave it."""

    def counted(self, facts: Sequence[Fact]) -> SalesRow:
        """This row with one more hand-off, from that hand-off's sales actions."""
        actions = [str(f.get("action")) for f in facts if f.kind == "sales_action"]
        decision = next((a for a in actions if a in _DECISIONS), "pending")
        reasons = dict(self.return_reasons)
        for fact in facts:
            if fact.kind == "sales_action" and fact.get("action") == "returned":
                reason = fact.get("reason")
                key = reason if reason in RETURN_REASONS else "other"
                reasons[key] = reasons.get(key, 0) + 1
        counts = self.model_dump(include={*_DECISIONS, "pending", *_OUTCOMES, "handoffs"})
        counts["handoffs"] += 1
        counts[decision] += 1
        for outcome in _OUTCOMES:
            counts[outcome] += outcome in actions
        return SalesRow(return_reasons=reasons, **counts).rated()

    def rated(self) -> SalesRow:
        """This row with its rates (and every return reason) filled in."""
        decided = self.accepted + self.returned + self.disqualified
        return self.model_copy(
            update={
                "acceptance_rate": ratio(self.accepted, decided),
                "win_rate": ratio(self.won, self.won + self.lost),
                "return_reasons": {r: self.return_reasons.get(r, 0) for r in RETURN_REASONS},
            }
        )


class RepSales(SalesRow):
    """The hand-offs of one rep (``rep`` None: the pool)."""

    rep: str | None


class SalesReport(ReportResult):
    """Acceptance, returns and wins of the hand-offs started in the range."""

    report: Literal["sales"] = "sales"
    reps: tuple[RepSales, ...]
    """One row per rep in alphabetical order, the pool last."""
    total: SalesRow

    def tables(self) -> tuple[ReportTable, ...]:
        rows = [(_rep(r), r) for r in self.reps] + [("(all)", self.total)]
        decisions = ReportTable(
            name="decisions",
            title="Hand-offs and what sales decided",
            columns=(
                Column(key="rep", label="Rep", kind="text"),
                *(Column(key=k, label=label) for k, label in _LABELS.items()),
                Column(key="acceptance_rate", label="Accept rate", kind="rate"),
                Column(key="converted", label="Opps"),
                Column(key="won", label="Won"),
                Column(key="lost", label="Lost"),
                Column(key="win_rate", label="Win rate", kind="rate"),
            ),
            rows=tuple((name, *_decision_cells(row)) for name, row in rows),
        )
        reasons = ReportTable(
            name="return_reasons",
            title="Why sales returned leads",
            columns=(
                Column(key="rep", label="Rep", kind="text"),
                *(Column(key=r, label=r.replace("_", " ").capitalize()) for r in RETURN_REASONS),
            ),
            rows=tuple(
                (name, *(row.return_reasons.get(r, 0) for r in RETURN_REASONS))
                for name, row in rows
            ),
        )
        return decisions, reasons


def _rep(row: RepSales) -> str:
    return "(pool)" if row.rep is None else row.rep


def _decision_cells(row: SalesRow) -> tuple[Cell, ...]:
    return (
        row.handoffs,
        row.accepted,
        row.returned,
        row.disqualified,
        row.pending,
        row.acceptance_rate,
        row.converted,
        row.won,
        row.lost,
        row.win_rate,
    )


class SalesTally:
    """The hand-offs being counted, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.reps: dict[str | None, SalesRow] = {}
        self.total = SalesRow()

    def add_lead(self, facts: Sequence[Fact]) -> None:
        for started in facts:
            if started.kind != "handed_off" or not self.period.covers(started.at):
                continue
            number = started.get("handoff")
            same = [f for f in facts if f.get("handoff") == number and f.at >= started.at]
            rep = next((f.get("rep") for f in reversed(same) if f.kind == "assigned"), None)
            rep = None if rep is None else str(rep)
            self.reps[rep] = self.reps.get(rep, SalesRow()).counted(same)
            self.total = self.total.counted(same)

    def result(self) -> SalesReport:
        order = sorted(self.reps, key=lambda rep: (rep is None, rep or ""))
        return SalesReport(
            since=self.query.since,
            until=self.query.until,
            reps=tuple(RepSales(rep=rep, **self.reps[rep].model_dump()) for rep in order),
            total=self.total.rated(),
        )


def sales(facts: Iterable[Fact], query: ReportQuery) -> SalesReport:
    """The sales report of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(SalesTally(query), facts).result()
