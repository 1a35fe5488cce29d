"""The export's records, writers and lead stream (``nurture.services.export``)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tracemalloc

from nurture.domain.factlog import Fact
from nurture.domain.lead.listing import LeadPage, LeadRow
from nurture.domain.lead.state import start_state
from nurture.domain.lead.view import LeadView, lead_view
from nurture.domain.lifecycle import Condition
from nurture.domain.models import Consent, ContactDetails
from nurture.services.export import (
    FACT_COLUMNS,
    LEAD_COLUMNS,
    ExportFormat,
    RecordWriter,
    consent_status,
    export_leads,
    fact_record,
    lead_record,
)
from tests.helpers import T0, scoring_model

BASE = lead_view(start_state("lead-0", scoring_model()), scoring_model(), T0)


def _view(lead_id: str = "lead-0", **update: object) -> LeadView:
    return BASE.model_copy(update={"lead_id": lead_id, **update})


class TestCsv:
    """CSV has one header row, RFC 4180 quoting and no cell a spreadsheet would run."""

    def test_quoting_and_formulas(self) -> None:
        out = io.StringIO()
        writer = RecordWriter(out, ExportFormat.CSV, ("a", "b", "c", "d"))
        writer.write({"a": 'say "hi", then\nbye', "b": "=HYPERLINK(1)", "c": -5, "d": None})
        writer.write({"a": "+33 1 23", "b": "@SUM", "c": "\tx", "d": "-1"})
        text = out.getvalue()
        assert text.startswith("a,b,c,d\r\n")
        assert '"say ""hi"", then\nbye"' in text
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[1] == ['say "hi", then\nbye', "'=HYPERLINK(1)", "-5", ""]
        assert rows[2] == ["'+33 1 23", "'@SUM", "'\tx", "'-1"]

    def test_lead_row_under_its_header(self) -> None:
        person = ContactDetails(email="ada@x.example", first_name="=cmd", company="Acme, Inc")
        out = io.StringIO()
        RecordWriter(out, ExportFormat.CSV, LEAD_COLUMNS).write(
            lead_record(_view(person=person, source="web"))
        )
        (row,) = csv.DictReader(io.StringIO(out.getvalue(), newline=""))
        assert row["email"] == "ada@x.example" and row["first_name"] == "'=cmd"
        assert row["company"] == "Acme, Inc" and row["source"] == "web"


class TestJsonLines:
    """JSON lines parse one by one, values exact, columns in order."""

    def test_parseable(self) -> None:
        out = io.StringIO()
        writer = RecordWriter(out, ExportFormat.JSONL, LEAD_COLUMNS)
        writer.write(lead_record(_view("a", score=-3)))
        writer.write(lead_record(_view("b", person=ContactDetails(email="é@x.example"))))
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [line["lead_id"] for line in lines] == ["a", "b"]
        assert lines[0]["score"] == -3 and lines[0]["email"] is None
        assert list(lines[1]) == list(LEAD_COLUMNS) and lines[1]["email"] == "é@x.example"

    def test_fact(self) -> None:
        fact = Fact(id="f1", lead_id="l1", kind="lead_created", at=T0, data={"source": "web"})
        out = io.StringIO()
        RecordWriter(out, ExportFormat.JSONL, FACT_COLUMNS).write(fact_record(fact))
        line = json.loads(out.getvalue())
        assert line["kind"] == "lead_created" and line["data"] == {"source": "web"}
        assert line["at"] == "2026-03-02T09:00:00+00:00"


class TestConsent:
    """The consent column says whether marketing may go, and since when."""

    def test_statuses(self) -> None:
        given = Consent(marketing=True, given_at=T0)
        pending = Consent(marketing=True, given_at=T0, double_opt_in=True)
        assert consent_status(_view()) == "none"
        assert consent_status(_view(consent=given)) == "given"
        assert consent_status(_view(consent=pending)) == "unconfirmed"
        gone = _view(consent=given, conditions=(Condition.UNSUBSCRIBED,))
        assert consent_status(gone) == "unsubscribed"
        assert lead_record(_view(consent=given))["consent_at"] == T0.isoformat()


class FakeSource:
    """``count`` leads in pages of ``size``; ``gone`` ids answer as erased."""

    def __init__(self, count: int, size: int = 100, gone: frozenset[str] = frozenset()) -> None:
        self.count, self.size, self.gone = count, size, gone
        self.in_flight = self.most_in_flight = 0
        self.tokens: list[str | None] = []

    async def page(self, token: str | None) -> LeadPage:
        self.tokens.append(token)
        start = int(token or 0)
        end = min(start + self.size, self.count)
        rows = tuple(LeadRow(lead_id=f"lead-{i}") for i in range(start, end))
        return LeadPage(leads=rows, next_page_token=str(end) if end < self.count else None)

    async def view(self, lead_id: str) -> LeadView | None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        return None if lead_id in self.gone else _view(lead_id)


async def _drain(source: FakeSource, skipped: list[str] | None = None) -> list[str]:
    found = []
    hear = (skipped if skipped is not None else []).append
    async for view in export_leads(source, concurrency=8, skipped=hear):
        found.append(view.lead_id)
    return found


class _Nowhere(io.StringIO):
    """A text stream that keeps nothing written to it."""

    def write(self, text: str) -> int:
        return len(text)


class TestStream:
    """Leads stream page after page, a bounded number fetched at once."""

    async def test_follows_pages_to_the_end(self) -> None:
        source = FakeSource(250)
        found = await _drain(source)
        assert found == [f"lead-{i}" for i in range(250)]
        assert source.tokens == [None, "100", "200"]
        assert source.most_in_flight == 8

    async def test_erased_meanwhile_is_skipped(self) -> None:
        source = FakeSource(5, gone=frozenset({"lead-2"}))
        skipped: list[str] = []
        found = await _drain(source, skipped)
        assert found == ["lead-0", "lead-1", "lead-3", "lead-4"] and skipped == ["lead-2"]

    async def test_memory_does_not_grow_with_leads(self) -> None:
        """10,000 leads written through take no more memory than 1,000."""

        async def peak(count: int) -> int:
            sink = RecordWriter(_Nowhere(), ExportFormat.CSV, LEAD_COLUMNS)
            tracemalloc.start()
            try:
                async for view in export_leads(FakeSource(count), concurrency=8):
                    sink.write(lead_record(view))
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        small, large = await peak(1_000), await peak(10_000)
        assert large < small * 1.5
