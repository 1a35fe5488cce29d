"""Reading a suppression list exported from another tool (Mautic, HubSpot, a spreadsheet):
CSV text arriving in pieces becomes rows of (address, reason) or of problems, one row at a
time, so a file of any size is read in bounded memory.

The separator (``,``, ``;`` or tab) is the one the header line uses most; a UTF-8 byte order
mark is dropped; quoted fields may hold separators, quotes and line breaks. Columns are found
by header name (any case, spaces and punctuation ignored), or named with ``mapping``. A row
is numbered as a spreadsheet shows it: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from nurture.adapters.ledger import SuppressionReason
from nurture.domain.models import NormalisedEmail

__all__ = [
    "MAX_RECORD_CHARS",
    "BadFile",
    "CsvRecords",
    "ImportedReason",
    "Problem",
    "SuppressionRow",
    "SuppressionRows",
    "reason_for",
]

ImportedReason = Literal["unsubscribed", "complaint", "hard_bounce", "soft_bounces"]
"""The reasons a list may give (``erased`` is what an erasure leaves, never imported)."""

MAX_RECORD_CHARS = 64 * 1024
"""A longer row is refused (an unterminated quote would otherwise swallow the file)."""

_EMAIL_HEADERS = {"email", "emailaddress", "mail", "address", "contactemail", "recipient"}
_REASON_HEADERS = {"reason", "status", "type", "suppressionreason", "donotcontactreason"}
_REASONS: dict[str, ImportedReason] = {
    **dict.fromkeys(
        ("unsubscribed", "unsubscribe", "unsub", "opted out", "opt out", "optout", "manual"),
        "unsubscribed",
    ),
    **dict.fromkeys(("manually unsubscribed", "do not contact", "dnc"), "unsubscribed"),
    **dict.fromkeys(
        ("hard bounce", "hard bounced", "hardbounce", "bounced", "bounce", "cleaned"),
        "hard_bounce",
    ),
    **dict.fromkeys(("soft bounces",), "soft_bounces"),
    **dict.fromkeys(
        ("complaint", "complained", "spam", "spam complaint", "spam report", "abuse"),
        "complaint",
    ),
    **dict.fromkeys(("marked as spam", "reported as spam", "spamreport"), "complaint"),
}
_EMAIL = TypeAdapter(NormalisedEmail)


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def reason_for(text: str) -> ImportedReason | None:
    """nurture's reason for a status as exports spell it ("Hard bounce", "spam complaint",
    "UNSUBSCRIBED", nurture's own names), else ``None``."""
    return _REASONS.get(" ".join(re.sub(r"[_\-]", " ", text.lower()).split()))


class BadFile(ValueError):
    """A file that cannot be read at all (no header, no address column): nothing is done."""


@dataclass(frozen=True)
class Problem:
    """Why one row was not taken."""

    row: int
    column: str
    problem: str


@dataclass(frozen=True)
class SuppressionRow:
    """One good row."""

    row: int
    email: str
    reason: SuppressionReason


class CsvRecords:
    """Cuts CSV text fed in pieces into records (lists of cells), each with its row number.

    A record ends at a line break outside quotes: with quotes doubled inside quoted fields,
    that is a line break after an even number of quote characters.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._tail = ""
        self._pending: list[str] = []
        self._quotes = 0
        self._size = 0
        self._row = 0
        self._delimiter: str | None = None

    def feed(self, data: bytes) -> Iterator[tuple[int, list[str] | Problem]]:
        """The records the bytes complete."""
        text = self._tail + self._decoder.decode(data)
        *lines, self._tail = text.split("\n")
        for line in lines:
            yield from self._line(line + "\n")

    def finish(self) -> Iterator[tuple[int, list[str] | Problem]]:
        """The last records, once every byte was fed."""
        rest = self._tail + self._decoder.decode(b"", final=True)
        self._tail = ""
        if rest:
            yield from self._line(rest + "\n")
        if self._pending:
            self._row += 1
            self._pending = []
            yield self._row, Problem(self._row, "", "a quoted field is never closed")

    def _line(self, line: str) -> Iterator[tuple[int, list[str] | Problem]]:
        self._pending.append(line)
        self._quotes += line.count('"')
        self._size += len(line)
        if self._size > MAX_RECORD_CHARS:
            self._row += 1
            self._reset()
            yield self._row, Problem(self._row, "", f"over {MAX_RECORD_CHARS} characters")
            return
        if self._quotes % 2:
            return
        record = "".join(self._pending)
        self._reset()
        if not record.strip():
            return
        self._row += 1
        yield self._row, self._cells(record)

    def _reset(self) -> None:
        self._pending, self._quotes, self._size = [], 0, 0

    def _cells(self, record: str) -> list[str] | Problem:
        if self._delimiter is None:
            outside = re.sub(r'"[^"]*"', "", record)
            self._delimiter = max((",", ";", "\t"), key=outside.count)
        try:
            return next(csv.reader([record], delimiter=self._delimiter, strict=True), [])
        except csv.Error as exc:
            return Problem(self._row, "", f"not valid CSV: {exc}")


class SuppressionRows:
    """Good rows and problems from the records of one file; the first record is the header."""

    def __init__(
        self, mapping: dict[str, str] | None = None, default_reason: SuppressionReason | None = None
    ) -> None:
        self._mapping = {k: _header_key(v) for k, v in (mapping or {}).items()}
        self._default = default_reason
        self._columns: tuple[int, str, int | None, str] | None = None

    @property
    def has_header(self) -> bool:
        """Whether the header was read (a file without it is empty)."""
        return self._columns is not None

    def read(self, row: int, cells: list[str] | Problem) -> SuppressionRow | Problem | None:
        """The meaning of one record (``None`` for the header)."""
        if isinstance(cells, Problem):
            if self._columns is None:
                raise BadFile(f"row {row}: {cells.problem}")
            return cells
        if self._columns is None:
            self._columns = self._find_columns(cells)
            return None
        return self._row(row, cells, *self._columns)

    def _find_columns(self, header: list[str]) -> tuple[int, str, int | None, str]:
        keys = [_header_key(h) for h in header]
        email = self._column(keys, header, "email", _EMAIL_HEADERS)
        if email is None:
            raise BadFile(
                f"no address column in the header ({', '.join(header)}): name it email, "
                "or pass --map email=COLUMN"
            )
        reason = self._column(keys, header, "reason", _REASON_HEADERS)
        if reason is None and self._default is None:
            raise BadFile(
                f"no reason column in the header ({', '.join(header)}): name it reason or "
                "status, pass --map reason=COLUMN, or give every row one with --reason"
            )
        return email, header[email], reason, header[reason] if reason is not None else ""

    def _column(self, keys: list[str], header: list[str], role: str, known: set[str]) -> int | None:
        wanted = self._mapping.get(role)
        if wanted is not None:
            if wanted not in keys:
                raise BadFile(f"--map {role}: no column of that name in ({', '.join(header)})")
            return keys.index(wanted)
        return next((i for i, key in enumerate(keys) if key in known), None)

    def _row(
        self, row: int, cells: list[str], email_at: int, email_name: str, at: int | None, name: str
    ) -> SuppressionRow | Problem:
        address = cells[email_at].strip() if email_at < len(cells) else ""
        if not address:
            return Problem(row, email_name, "no address")
        if "\ufffd" in address:
            return Problem(row, email_name, "bytes that are not UTF-8: save the file as UTF-8")
        try:
            email = _EMAIL.validate_python(address)
        except ValidationError:
            return Problem(row, email_name, f"not an email address: {address[:80]!r}")
        said = cells[at].strip() if at is not None and at < len(cells) else ""
        reason = reason_for(said) if said else self._default
        if reason is None:
            known = "unsubscribed, hard bounce, spam complaint (and their usual spellings)"
            return Problem(row, name, f"unknown reason {said[:40]!r}: {known}")
        return SuppressionRow(row, email, reason)
