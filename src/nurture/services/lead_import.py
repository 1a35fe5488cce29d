"""Importing leads from a CSV export: each good row is handed to its lead's workflow (created
if needed) as an :class:`~nurture.domain.lead.messages.LeadImported` message.

- Bad rows are reported (row, column, problem) and skipped; the import goes on.
- At most ``in_flight`` rows are being handed to Temporal at once, so an import of a million
  rows never floods the server, and the file is read only as fast as Temporal takes it.
- Idempotent and resumable: a row's message id is a digest of what it says, and the lead's
  workflow remembers the ids it applied. The same file imported again (or the rest of a
  file whose import was killed halfway) changes nothing already done.
- A row naming a lead already named earlier in the file is still applied (the later row
  updates the lead, as a later form post would) and counted as a repeat.
- A dry run reads and checks every row, and touches nothing.

Temporal refusing a row (unreachable for longer than the retries) stops the import with
:class:`ImportInterrupted`, saying how far it went; run it again to finish.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import AsyncIterable
from typing import Protocol

from pydantic import BaseModel, Field
from temporalio.service import RPCError

from nurture.domain.identity import lead_id_for
from nurture.domain.lead.imports import ImportedLead
from nurture.services.lead_csv import LeadRows, RowProblems
from nurture.services.suppression_csv import BadFile, CsvRecords
from nurture.services.suppression_import import MAX_PROBLEMS_LISTED, RowProblem

__all__ = [
    "IN_FLIGHT",
    "ImportInterrupted",
    "LeadImportSummary",
    "LeadImporter",
    "import_leads",
]

IN_FLIGHT = 16
"""Rows handed to Temporal at once (each a signal-with-start): enough to keep a dev server
busy, few enough that forms posted meanwhile are not kept waiting."""
_ATTEMPTS = 5


class LeadImporter(Protocol):
    """Where good rows go: the gateway's ``import_lead``."""

    async def import_lead(self, lead_id: str, row: ImportedLead) -> None: ...


class LeadImportSummary(BaseModel):
    """What an import did (or, dry, would do)."""

    dry_run: bool
    batch: str
    """The import's name: the imported leads' origin is ``import:<batch>``."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Which header each role (email, first_name, stage, a custom field...) was read from."""
    rows: int = 0
    """Data rows read (the header not counted)."""
    imported: int = 0
    """Good rows handed to their lead (or, dry, that would be)."""
    leads: int = 0
    """Distinct leads among them."""
    repeats: int = 0
    """Good rows for a lead an earlier row of the file named already (applied, in order)."""
    bad: int = 0
    """Rows skipped for their problems."""
    problems: list[RowProblem] = Field(default_factory=list)
    """The first problems, one line per row and column."""
    lead_marks: list[str] | None = None
    """When asked for: a short fingerprint of each good row's lead, in order (never its
    id), so a client sending a file in parts counts leads and repeats across the parts."""

    def note(self, bad: RowProblems, row_offset: int = 0) -> None:
        self.bad += 1
        for problem in bad.problems:
            if len(self.problems) < MAX_PROBLEMS_LISTED:
                fields = {**problem.__dict__, "row": problem.row + row_offset}
                self.problems.append(RowProblem(**fields))


class ImportInterrupted(RuntimeError):
    """Temporal stopped taking rows: the import stopped after ``summary.rows`` rows."""

    def __init__(self, summary: LeadImportSummary, cause: Exception) -> None:
        super().__init__(
            f"Temporal stopped taking rows ({cause}) after {summary.imported:,} of the "
            f"{summary.rows:,} rows read were imported. Run the import again: rows already "
            "imported change nothing."
        )
        self.summary = summary


async def import_leads(
    chunks: AsyncIterable[bytes],
    rows: LeadRows,
    importer: LeadImporter,
    id_key: bytes,
    *,
    dry_run: bool = False,
    in_flight: int = IN_FLIGHT,
    row_offset: int = 0,
    marks: bool = False,
) -> LeadImportSummary:
    """Import the CSV arriving in ``chunks``; :class:`BadFile` when it has no usable header
    (then nothing was imported). ``row_offset``: the data rows before this part of a file
    sent in parts (problems name the file's rows); ``marks``: fill ``lead_marks``."""
    summary = LeadImportSummary(dry_run=dry_run, batch=rows.batch, lead_marks=[] if marks else None)
    take = functools.partial(_take, summary=summary, seen=set(), id_key=id_key, offset=row_offset)
    sender = _Sender(summary, importer, in_flight, dry_run)
    records = CsvRecords()
    try:
        async for chunk in chunks:
            for number, cells in records.feed(chunk):
                await take(rows.read(number, cells), sender=sender)
        for number, cells in records.finish():
            await take(rows.read(number, cells), sender=sender)
        if not rows.has_header:
            raise BadFile("the file is empty: no header line")
        await sender.drain()
    finally:
        summary.columns = rows.columns
        await sender.cancel()
    return summary


async def _take(
    read: ImportedLead | RowProblems | None,
    *,
    summary: LeadImportSummary,
    sender: _Sender,
    seen: set[bytes],
    id_key: bytes,
    offset: int,
) -> None:
    if read is None:
        return
    summary.rows += 1
    if isinstance(read, RowProblems):
        summary.note(read, offset)
        return
    lead_id = lead_id_for(read.lead.email, id_key, read.lead.crm_id)
    mark = hashlib.blake2b(lead_id.encode(), digest_size=16).digest()
    if summary.lead_marks is not None:
        summary.lead_marks.append(mark.hex()[:16])
    if mark in seen:
        summary.repeats += 1
    else:
        seen.add(mark)
        summary.leads += 1
    await sender.send(lead_id, read)


class _Sender:
    """Hands rows to Temporal, ``limit`` at a time; rows of one lead keep their order."""

    def __init__(
        self, summary: LeadImportSummary, importer: LeadImporter, limit: int, dry_run: bool
    ) -> None:
        self._summary = summary
        self._importer = importer
        self._slots = asyncio.Semaphore(limit)
        self._dry = dry_run
        self._tasks: set[asyncio.Task[None]] = set()
        self._last: dict[str, asyncio.Task[None]] = {}
        self._failure: Exception | None = None

    async def send(self, lead_id: str, row: ImportedLead) -> None:
        self._raise_failure()
        if self._dry:
            self._summary.imported += 1
            return
        await self._slots.acquire()
        self._raise_failure()
        before = self._last.get(lead_id)
        task = asyncio.create_task(self._hand(lead_id, row, before))
        self._tasks.add(task)
        self._last[lead_id] = task
        task.add_done_callback(lambda t: self._done(lead_id, t))

    async def _hand(
        self, lead_id: str, row: ImportedLead, before: asyncio.Task[None] | None
    ) -> None:
        try:
            if before is not None:  # the same lead's earlier row goes first
                await asyncio.shield(before)
            for attempt in range(_ATTEMPTS):
                try:
                    await self._importer.import_lead(lead_id, row)
                    break
                except RPCError:
                    if attempt == _ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.2 * 2**attempt)
            self._summary.imported += 1
        except Exception as exc:
            self._failure = self._failure or exc
        finally:
            self._slots.release()

    def _done(self, lead_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._last.get(lead_id) is task:
            del self._last[lead_id]

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise ImportInterrupted(self._summary, self._failure)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        self._raise_failure()

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
