"""Reading lead exports: columns by their usual names (Mautic, HubSpot, nurture's own) or
``--map``; every problem of a row named (row, column, problem); good rows as the workflow
receives them, keyed by what they say."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.service import RPCError, RPCStatusCode

from nurture.domain.fields import CustomField
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lifecycle import Stage
from nurture.services.lead_csv import LeadRows, RowProblems
from nurture.services.lead_import import ImportInterrupted, import_leads
from nurture.services.suppression_csv import BadFile, CsvRecords

FIELDS = {
    "budget": CustomField(type="choice", label="Budget", choices=["under 10k", "over 50k"]),
    "need": CustomField(type="text", label="Need", max_length=50),
}
KEY = b"k" * 32


def read(text: str, **options: object) -> list[ImportedLead | RowProblems]:
    rows = LeadRows(FIELDS, "fair", **options)  # type: ignore[arg-type]
    records = CsvRecords()
    out = [rows.read(n, cells) for n, cells in [*records.feed(text.encode()), *records.finish()]]
    return [r for r in out if r is not None]


def problems(result: ImportedLead | RowProblems) -> list[tuple[int, str, str]]:
    assert isinstance(result, RowProblems), result
    return [(p.row, p.column, p.problem) for p in result.problems]


class TestColumns:
    def test_nurtures_mautics_and_hubspots_names(self) -> None:
        ours = read("email,first_name,company,stage\nada@acme.example,Ada,Acme,customer\n")[0]
        mautic = read("email,firstname,company,position\nada@acme.example,Ada,Acme,CTO\n")[0]
        hubspot = read(
            "First Name,Email,Company Name,Lifecycle Stage,Original Source,"
            "Marketing contact status,Country/Region\n"
            "Ada,ada@acme.example,Acme,salesqualifiedlead,OFFLINE,Marketing contact,fr\n",
            preset="hubspot",
        )[0]
        assert isinstance(ours, ImportedLead) and ours.stage is Stage.CUSTOMER
        assert isinstance(mautic, ImportedLead) and mautic.lead.job_title == "CTO"
        assert isinstance(hubspot, ImportedLead)
        assert (hubspot.lead.first_name, hubspot.lead.company) == ("Ada", "Acme")
        assert (hubspot.stage, hubspot.lead.source.value, hubspot.consent) == (
            Stage.SQL,
            "outbound",
            "given",
        )
        assert hubspot.lead.country == "FR"

    def test_map_names_a_column(self) -> None:
        (row,) = read(
            "Courriel,Budget annuel\nada@acme.example,over 50k\n",
            mapping={
                "email": "Courriel",
                "budget": "Budget annuel",
            },
        )
        assert isinstance(row, ImportedLead) and row.lead.custom == {"budget": "over 50k"}

    def test_no_address_column_is_a_bad_file(self) -> None:
        with pytest.raises(BadFile, match="no address column"):
            read("name,company\nAda,Acme\n")

    def test_unknown_map_role_is_a_bad_file(self) -> None:
        with pytest.raises(BadFile, match="--map colour"):
            read("email\nada@acme.example\n", mapping={"colour": "email"})


class TestRows:
    def test_every_problem_of_a_row_is_named(self) -> None:
        text = (
            "email,stage,budget,consent,consent_date\n"
            "not-an-address,wizard,tiny,perhaps,30/11/2026\n"
        )
        found = problems(read(text)[0])
        columns = [column for _, column, _ in found]
        assert columns == ["email", "stage", "budget", "consent", "consent_date"]
        assert all(row == 2 for row, _, _ in found)
        text_of = {column: problem for _, column, problem in found}
        assert "unknown stage 'wizard'" in text_of["stage"]
        assert "not a date" in text_of["consent_date"]
        assert "tiny" in text_of["budget"]

    def test_consent_and_its_date(self) -> None:
        (row,) = read("email,consent,consent_date\nada@acme.example,yes,2025-03-01\n")
        assert isinstance(row, ImportedLead) and row.consent == "given"
        assert row.lead.consent.marketing and row.lead.consent.given_at is not None
        assert row.lead.consent.given_at.year == 2025

    def test_the_same_row_has_the_same_key_and_a_changed_row_another(self) -> None:
        a, b, c = read(
            "email,first_name\nada@acme.example,Ada\nada@acme.example,Ada\nada@acme.example,Adele\n"
        )
        assert isinstance(a, ImportedLead) and isinstance(b, ImportedLead)
        assert isinstance(c, ImportedLead)
        assert a.key == b.key != c.key

    def test_a_formula_is_only_text(self) -> None:
        (row,) = read('email,company\nada@acme.example,"=HYPERLINK(""x"")"\n')
        assert isinstance(row, ImportedLead) and row.lead.company == '=HYPERLINK("x")'


class Recorder:
    def __init__(self, fail_after: int | None = None) -> None:
        self.rows: list[tuple[str, str]] = []
        self.fail_after = fail_after
        self.busy = 0
        self.most_busy = 0

    async def import_lead(self, lead_id: str, row: ImportedLead) -> None:
        if self.fail_after is not None and len(self.rows) >= self.fail_after:
            raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        await asyncio.sleep(0.001)
        self.busy -= 1
        self.rows.append((lead_id, row.lead.first_name or ""))


async def chunks(text: str, size: int = 50) -> AsyncIterator[bytes]:
    data = text.encode()
    for start in range(0, len(data), size):
        yield data[start : start + size]


class TestImport:
    async def test_report_counts_and_bounded_flight(self) -> None:
        lines = ["email,first_name"] + [f"p{i}@acme.example,P{i}" for i in range(200)]
        lines += ["nope,Bad", "p1@acme.example,Again"]
        recorder = Recorder()
        rows = LeadRows(FIELDS, "fair")
        summary = await import_leads(chunks("\n".join(lines)), rows, recorder, KEY, in_flight=8)
        assert (summary.rows, summary.imported, summary.leads, summary.bad) == (202, 201, 200, 1)
        assert summary.repeats == 1 and summary.problems[0].row == 202
        assert recorder.most_busy <= 8
        order = [name for _, name in recorder.rows if name in ("P1", "Again")]
        assert order == ["P1", "Again"]  # one lead's rows keep the file's order

    async def test_dry_run_sends_nothing(self) -> None:
        recorder = Recorder()
        rows = LeadRows(FIELDS, "fair")
        text = "email\nada@acme.example\nbob@acme.example\n"
        summary = await import_leads(chunks(text), rows, recorder, KEY, dry_run=True)
        assert (summary.imported, recorder.rows) == (2, [])

    async def test_temporal_refusing_stops_with_how_far(self) -> None:
        recorder = Recorder(fail_after=5)
        rows = LeadRows(FIELDS, "fair")
        text = "\n".join(["email"] + [f"p{i}@acme.example" for i in range(50)])
        with pytest.raises(ImportInterrupted, match="Run the import again") as caught:
            await import_leads(chunks(text), rows, recorder, KEY, in_flight=2)
        summary = caught.value.summary
        assert summary.imported == len(recorder.rows) and 5 <= summary.imported < 50


class TestMautic:
    def test_do_not_email_is_no_consent_and_never_a_consent(self) -> None:
        text = "email,firstname,doNotEmail\na@x.example,A,1\nb@x.example,B,0\nc@x.example,C,\n"
        rows = read(text, preset="mautic")
        assert [r.consent for r in rows if isinstance(r, ImportedLead)] == [
            "refused",
            "unknown",
            "unknown",
        ]
