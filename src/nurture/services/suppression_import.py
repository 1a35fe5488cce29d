"""Importing a suppression list (people who unsubscribed, bounced or complained elsewhere):
each good row goes on nurture's own suppression list, as the keyed hash of its address,
exactly as an unsubscribe or a bounce report puts it there. The send activity checks that
list at the moment of sending, so an imported address gets no marketing mail (and, bounced,
no mail at all) whether its lead exists yet or arrives later.

Bad rows are reported and skipped, never the end of the import; a row already on the list
(or narrower than what is there) changes nothing, so importing a file twice is harmless.
A dry run reads the list without writing to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from datetime import datetime

from pydantic import BaseModel, Field

from nurture.adapters.ledger import SendLedger, Suppression, SuppressionReason, stronger
from nurture.adapters.links.tokens import email_hash
from nurture.services.suppression_csv import (
    BadFile,
    CsvRecords,
    Problem,
    SuppressionRow,
    SuppressionRows,
)

__all__ = [
    "BATCH_ROWS",
    "MAX_PROBLEMS_LISTED",
    "ImportSummary",
    "RowProblem",
    "import_suppressions",
]

BATCH_ROWS = 500
"""Good rows written in one statement."""
MAX_PROBLEMS_LISTED = 1000
"""Problems listed one by one; beyond, only counted (a file of garbage stays a short answer)."""


class RowProblem(BaseModel):
    """A row that was skipped, and why (row 1 is the header)."""

    row: int
    column: str
    problem: str


class ImportSummary(BaseModel):
    """What an import did (or, dry, would do)."""

    dry_run: bool
    rows: int = 0
    """Data rows read (the header not counted)."""
    imported: int = 0
    """Rows that added a suppression or widened one (an unsubscribe that now bounces)."""
    already: int = 0
    """Rows whose address was already suppressed at least as widely: nothing changed."""
    bad: int = 0
    problems: list[RowProblem] = Field(default_factory=list)
    """The first ``MAX_PROBLEMS_LISTED`` bad rows."""

    def note(self, problem: Problem) -> None:
        """Count a bad row, and list it while the list is short."""
        self.bad += 1
        if len(self.problems) < MAX_PROBLEMS_LISTED:
            self.problems.append(RowProblem(**problem.__dict__))


async def import_suppressions(
    chunks: AsyncIterable[bytes],
    ledger: SendLedger,
    secret: bytes,
    now: datetime,
    *,
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
    default_reason: SuppressionReason | None = None,
) -> ImportSummary:
    """Import the CSV arriving in ``chunks``; :class:`~nurture.services.suppression_csv.BadFile`
    when the file has no usable header (then nothing was written)."""
    records = CsvRecords()
    rows = SuppressionRows(mapping, default_reason)
    batch = _Batch(ImportSummary(dry_run=dry_run), ledger, secret, now)
    async for chunk in chunks:
        for row, cells in records.feed(chunk):
            await batch.take(rows.read(row, cells))
    for row, cells in records.finish():
        await batch.take(rows.read(row, cells))
    if not rows.has_header:
        raise BadFile("the file is empty: no header line")
    await batch.flush()
    return batch.summary


class _Batch:
    """Good rows written a few hundred at a time (one statement each), bad rows counted."""

    def __init__(
        self, summary: ImportSummary, ledger: SendLedger, secret: bytes, now: datetime
    ) -> None:
        self.summary = summary
        self._ledger = ledger
        self._secret = secret
        self._now = now
        self._entries: dict[str, Suppression] = {}

    async def take(self, read: SuppressionRow | Problem | None) -> None:
        """Count one row; write the batch once it is full."""
        if read is None:
            return
        self.summary.rows += 1
        if isinstance(read, Problem):
            self.summary.note(read)
            return
        entry = Suppression(
            address_hash=email_hash(read.email, self._secret),
            reason=read.reason,
            recorded_at=self._now,
        )
        earlier = self._entries.get(entry.address_hash)
        if earlier is not None:  # the same address twice in a few hundred rows
            self.summary.already += 1
        self._entries[entry.address_hash] = stronger(earlier, entry)
        if len(self._entries) >= BATCH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        """Write (or, dry, look up) the rows taken since the last flush."""
        entries = list(self._entries.values())
        self._entries = {}
        if self.summary.dry_run:
            found = [await self._ledger.suppression(e.address_hash) for e in entries]
            changed = sum(stronger(old, e) is e for old, e in zip(found, entries, strict=True))
        else:
            changed = len(await self._ledger.suppress_many(entries))
        self.summary.imported += changed
        self.summary.already += len(entries) - changed
