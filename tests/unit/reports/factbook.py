"""Facts for the report tests, written the way the lead workflows write them: by lead, with
deterministic ids, at moments counted from the start of the month under report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from nurture.domain.factlog import Fact, FactValue, fact_id
from nurture.domain.reports import ReportQuery

__all__ = ["NOVEMBER", "START", "at", "fact", "ordered"]

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
"""Monday 2 November 2026, 09:00 UTC: day 0 of the fixtures."""
NOVEMBER = ReportQuery(since=date(2026, 11, 1), until=date(2026, 12, 1))


def at(days: float = 0, hours: float = 0) -> datetime:
    """``days`` and ``hours`` after ``START`` (negative: before it)."""
    return START + timedelta(days=days, hours=hours)


def fact(lead_id: str, kind: str, moment: datetime, **data: FactValue) -> Fact:
    """One fact, its id derived from everything it says (so no two fixtures collide)."""
    key = (moment.isoformat(), *(f"{k}={v}" for k, v in sorted(data.items())))
    return Fact.model_validate(
        {
            "id": fact_id(lead_id, kind, *key),
            "lead_id": lead_id,
            "kind": kind,
            "at": moment,
            "data": data,
        }
    )


def ordered(facts: Iterable[Fact]) -> list[Fact]:
    """``facts`` as the store reads them: by lead, then moment."""
    return sorted(facts, key=lambda f: (f.lead_id, f.at))
