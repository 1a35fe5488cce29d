"""The facts table's rows as both SQL backends write and read them (SQLite and Postgres)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from nurture.domain.factlog import Fact

__all__ = [
    "FACT_COLUMNS",
    "READ_BATCH",
    "fact_from_row",
    "fact_values",
    "moment_text",
    "select_facts",
]

FACT_COLUMNS = "id, lead_id, kind, at, data"
READ_BATCH = 2000
"""Rows fetched per round trip while a read streams."""


def moment_text(moment: datetime) -> str:
    """``moment`` in UTC as fixed-width ISO text, so that text order is time order (SQLite
    keeps ``at`` as text; Postgres casts it to ``timestamptz``)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def fact_values(fact: Fact) -> tuple[str, str, str, str, str]:
    """``fact`` as the values of ``FACT_COLUMNS``, ``data`` as JSON text."""
    data = json.dumps(fact.data, separators=(",", ":"), sort_keys=True)
    return (fact.id, fact.lead_id, fact.kind, moment_text(fact.at), data)


def fact_from_row(row: tuple[Any, ...]) -> Fact:
    """A row of ``FACT_COLUMNS`` read back: ``at`` as text or datetime, ``data`` as JSON
    text or already decoded. Not validated again: every stored fact was validated when it
    was appended, and a report reads millions of them."""
    fact_id, lead_id, kind, at, data = row
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return Fact.model_construct(
        id=fact_id,
        lead_id=lead_id,
        kind=kind,
        at=moment.astimezone(UTC),
        data=json.loads(data) if isinstance(data, str) else data,
    )


def select_facts(
    dialect: Literal["sqlite", "postgres"],
    kinds: Iterable[str] | None,
    since: datetime | None,
    until: datetime | None,
    lead_ids: Iterable[str] | None,
) -> tuple[str, list[Any]]:
    """The query of a read and its parameters. A list travels as one parameter (a JSON
    array on SQLite, an array on Postgres), so no number of kinds or leads meets a limit
    on parameters."""
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("kind", kinds), ("lead_id", lead_ids)):
        if values is not None:
            if dialect == "sqlite":
                where.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(list(values)))
            else:
                where.append(f"{column} = ANY(%s::text[])")
                params.append(list(values))
    mark = "?" if dialect == "sqlite" else "%s::timestamptz"
    for condition, moment in ((f"at >= {mark}", since), (f"at < {mark}", until)):
        if moment is not None:
            where.append(condition)
            params.append(moment_text(moment))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {FACT_COLUMNS} FROM facts{clause} ORDER BY lead_id, at, id", params
