"""The rows of ``nurture_facts`` as both SQL backends write and read them (SQLite and Postgres)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from nurture.domain.factlog import Fact, FactValue

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
    """``fact`` as the values of ``FACT_COLUMNS``, ``data`` as JSON text.

    A NUL in ``data`` is written as U+FFFD: Postgres refuses it in text and JSON, and one
    such fact would fail its whole batch at every retry. (The ids are nurture's own.)"""
    data = _json(fact.data)
    if "\\u0000" in data:  # rare: only then is every value looked at
        data = _json({_text(key): _no_nul(value) for key, value in fact.data.items()})
    return (fact.id, fact.lead_id, fact.kind, moment_text(fact.at), data)


def _json(data: dict[str, FactValue]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _no_nul(value: FactValue) -> FactValue:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k): None if v is None else _text(v) for k, v in value.items()}
    return value


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def fact_from_row(row: tuple[Any, ...]) -> Fact:
    """A row of ``FACT_COLUMNS`` read back: ``at`` as text or datetime, ``data`` as JSON
    text or already decoded. Not validated again: every stored fact was validated when it
    was appended, and a report reads millions of them."""
    fact_id, lead_id, kind, at, data = row
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return _stored_fact(
        {
            "id": fact_id,
            "lead_id": lead_id,
            "kind": kind,
            "at": moment if moment.tzinfo is UTC else moment.astimezone(UTC),
            "data": _decode(data)[0] if isinstance(data, str) else data,
        }
    )


# The text is the store's own (compact JSON text, or Postgres's text of a jsonb): it has no
# leading blank, so the decoder's scanner needs none of ``json.loads``'s wrapping.
_decode = json.JSONDecoder().raw_decode
_FIELDS = set(Fact.model_fields)
_new = object.__new__
_set = object.__setattr__


def _stored_fact(fields: dict[str, Any]) -> Fact:
    """The ``Fact`` of every field's value, as ``Fact.model_construct`` makes it, for a
    fraction of its cost (it looks up aliases and defaults per field, per fact)."""
    fact = _new(Fact)
    _set(fact, "__dict__", fields)
    _set(fact, "__pydantic_fields_set__", _FIELDS.copy())
    _set(fact, "__pydantic_extra__", None)
    _set(fact, "__pydantic_private__", None)
    return fact


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
    return f"SELECT {FACT_COLUMNS} FROM nurture_facts{clause} ORDER BY lead_id, at, id", params
