"""Exports: leads and facts as files a spreadsheet, a CRM import or a script reads.

A lead export walks the lead list a page at a time and fetches each listed lead's view a
few at a time (``concurrency``), so Temporal answers a bounded number of queries at once
and no more than one page of leads is ever held: the file streams out as it is read. A
lead erased between its listing and its fetch is skipped and counted, never an error.

Records are flat mappings of scalars, one per lead or fact, written as CSV (one header
row, RFC 4180 quoting, formula-like text defused) or as JSON lines.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TextIO

from nurture.domain.factlog import Fact
from nurture.domain.lead.listing import LeadPage
from nurture.domain.lead.view import LeadView
from nurture.domain.lifecycle import Condition
from nurture.domain.models import ContactDetails

__all__ = [
    "CONTACT_COLUMNS",
    "FACT_COLUMNS",
    "LEAD_COLUMNS",
    "ExportFormat",
    "LeadSource",
    "Record",
    "RecordWriter",
    "Scalar",
    "Value",
    "consent_status",
    "custom_field_values",
    "export_leads",
    "fact_record",
    "lead_record",
]

Scalar = str | int | float | bool | None
Value = Scalar | Mapping[str, object]
"""A record's value: a scalar, or a mapping (a fact's ``data``: JSON text in a CSV cell)."""
Record = Mapping[str, Value]


class ExportFormat(StrEnum):
    """How an export is written."""

    CSV = "csv"
    JSONL = "jsonl"


CONTACT_COLUMNS: tuple[str, ...] = tuple(ContactDetails.model_fields)
LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id",
    *CONTACT_COLUMNS,
    "stage",
    "score",
    "grade",
    "temperature",
    "buying_stage",
    "source",
    "owner",
    "sequence",
    "consent_status",
    "consent_at",
    "created_at",
    "last_activity_at",
    "next_touch_at",
)
"""The columns of a lead export, custom fields (``custom.<name>``) after them."""
FACT_COLUMNS: tuple[str, ...] = ("id", "lead_id", "kind", "at", "data")


def consent_status(view: LeadView) -> str:
    """Whether marketing mail may go, in one word: ``unsubscribed`` (withdrawn),
    ``unconfirmed`` (a double opt-in not confirmed yet), ``given`` or ``none``."""
    consent = view.consent
    if Condition.UNSUBSCRIBED in view.conditions:
        return "unsubscribed"
    if consent is None or not consent.marketing:
        return "none"
    if consent.double_opt_in and not consent.confirmed:
        return "unconfirmed"
    return "given"


def custom_field_values(view: LeadView) -> dict[str, Scalar]:
    """The lead's custom fields by name (dates as ``YYYY-MM-DD``), written as
    ``custom.<name>`` columns after ``LEAD_COLUMNS``."""
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in view.custom.items()
    }


def lead_record(view: LeadView, custom: Sequence[str] = ()) -> dict[str, Scalar]:
    """A lead as one export row: ``LEAD_COLUMNS``, then ``custom.<name>`` for each name
    of ``custom`` (empty when the lead has no value)."""
    person = view.person.model_dump(mode="json") if view.person else {}
    consent = view.consent
    consent_at = (consent.confirmed_at or consent.given_at) if consent else None
    record: dict[str, Scalar] = {
        "lead_id": view.lead_id,
        **{column: person.get(column) for column in CONTACT_COLUMNS},
        "stage": view.stage.value,
        "score": view.score,
        "grade": view.grade.value,
        "temperature": view.temperature.value,
        "buying_stage": view.buying_stage,
        "source": view.source,
        "owner": view.owner,
        "sequence": view.sequence.sequence if view.sequence else None,
        "consent_status": consent_status(view),
        "consent_at": _moment(consent_at),
        "created_at": _moment(view.created_at),
        "last_activity_at": _moment(view.last_activity_at),
        "next_touch_at": _moment(view.next_touch_at),
    }
    values = custom_field_values(view)
    record.update({f"custom.{name}": values.get(name) for name in custom})
    return record


def fact_record(fact: Fact) -> dict[str, Value]:
    """A fact as one export row; its ``data`` a mapping (its fields vary by kind, see
    ``FACT_FIELDS``): an object in JSON lines, JSON text in CSV."""
    return {
        "id": fact.id,
        "lead_id": fact.lead_id,
        "kind": fact.kind,
        "at": _moment(fact.at),
        "data": fact.data,
    }


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RecordWriter:
    """Writes records to a text stream as they come: CSV with a header row of
    ``columns`` (lines end in CRLF; a cell holding a quote, comma or line break is
    quoted), or one JSON object a line (``columns`` order kept).

    In CSV, text a spreadsheet would run as a formula (it starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe: names, companies
    and sources come from web forms anyone can fill in. Numbers stay as they are. JSON
    lines keep every value exact."""

    def __init__(self, out: TextIO, fmt: ExportFormat, columns: Sequence[str]) -> None:
        self._out = out
        self._format = fmt
        self._columns = tuple(columns)
        self._csv = csv.writer(out, lineterminator="\r\n")
        if fmt is ExportFormat.CSV:
            self._csv.writerow(self._columns)

    def write(self, record: Record) -> None:
        """Write one record (a column it lacks is empty, or null in JSON)."""
        if self._format is ExportFormat.CSV:
            self._csv.writerow([_csv_cell(record.get(column)) for column in self._columns])
        else:
            line = {column: record.get(column) for column in self._columns}
            self._out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _csv_cell(value: Value) -> Scalar:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        value = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value


class LeadSource(Protocol):
    """Where a lead export reads: the list's pages and each lead's view."""

    async def page(self, token: str | None) -> LeadPage:
        """The page after ``token`` (``None``: the first)."""

    async def view(self, lead_id: str) -> LeadView | None:
        """The lead's view; ``None`` when it is gone (erased, or expired unconfirmed)."""


async def export_leads(
    source: LeadSource,
    *,
    concurrency: int = 8,
    skipped: Callable[[str], None] = lambda _: None,
) -> AsyncIterator[LeadView]:
    """Every listed lead's view, in list order, following the pages to the last; at most
    ``concurrency`` views asked at once and one page held. ``skipped`` hears the id of
    each lead gone between its listing and its fetch."""
    gate = asyncio.Semaphore(concurrency)

    async def fetch(lead_id: str) -> LeadView | None:
        async with gate:
            return await source.view(lead_id)

    token: str | None = None
    while True:
        listed = await source.page(token)
        ids = [row.lead_id for row in listed.leads]
        for lead_id, view in zip(ids, await asyncio.gather(*map(fetch, ids)), strict=True):
            if view is None:
                skipped(lead_id)
            else:
                yield view
        token = listed.next_page_token
        if not token:
            return
