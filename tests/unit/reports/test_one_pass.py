"""Several reports in one read of the facts give what each gives alone, and the dashboard,
which reads once for all its sections, shows what the reports run one by one give."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from nurture.api.dashboard.i18n import Language
from nurture.api.dashboard.page import DashboardRequest, dashboard_asks, dashboard_sections
from nurture.domain.factlog import Fact
from nurture.domain.reports import REPORT_NAMES, REPORTS, ReportQuery, ReportResult, ReportSpec
from nurture.services import reports as service
from nurture.services.reports import ReportConfig, parse_query, run_report, run_reports
from tests.dashboard import load_log
from tests.unit.reports.test_service import SpyStore

RANGES = [
    (None, None),
    ("2026-03-01", None),
    ("2026-02-01", "2026-07-01"),
    ("2026-11-01", "2026-12-01"),
]
"""All time, from a day on, a closed range, and a month at the log's end."""


@pytest.fixture(scope="module")
def log() -> tuple[SpyStore, ReportConfig]:
    store = SpyStore()
    config = asyncio.run(load_log(store, leads=300))
    return store, config


def every_report(
    since: str | None, until: str | None, config: ReportConfig
) -> list[tuple[str, ReportQuery]]:
    """Each report once, the funnel also grouped by each of its groupings."""
    asks = [(name, parse_query(name, since, until, None, config)) for name in REPORT_NAMES]
    asks += [
        ("funnel", parse_query("funnel", since, until, by, config)) for by in REPORTS["funnel"].by
    ]
    return asks


class Recorder:
    """A report that records the leads it is fed."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.leads: list[list[Fact]] = []
        RECORDERS.append(self)

    def add_lead(self, facts: list[Fact]) -> None:
        self.leads.append(list(facts))

    def result(self) -> ReportResult:
        return ReportResult(report="recorder", since=self.query.since, until=self.query.until)


RECORDERS: list[Recorder] = []
RECORDER = ReportSpec(
    name="recorder",
    title="Recorder",
    summary="The leads it is fed",
    kinds=("handed_off", "sales_action"),
    result=ReportResult,
    tally=Recorder,
)


class TestOnePass:
    """One read of the union of the reports' kinds feeds each report what it would read."""

    @pytest.mark.parametrize(("since", "until"), RANGES)
    async def test_same_results(
        self, log: tuple[SpyStore, ReportConfig], since: str | None, until: str | None
    ) -> None:
        store, config = log
        asks = every_report(since, until, config)
        alone = [await run_report(name, store, query) for name, query in asks]
        assert await run_reports(store, asks) == alone

    @pytest.mark.parametrize(("since", "until"), RANGES)
    async def test_each_fed_what_it_reads(
        self,
        log: tuple[SpyStore, ReportConfig],
        monkeypatch: pytest.MonkeyPatch,
        since: str | None,
        until: str | None,
    ) -> None:
        """Only its kinds, only from its range's start, and no lead that has none: beside
        reports that read other kinds, and history, it is fed exactly what it reads alone."""
        monkeypatch.setattr(service, "REPORTS", {**REPORTS, "recorder": RECORDER})
        store, config = log
        query = ReportQuery(since=since and date.fromisoformat(since))
        RECORDERS.clear()
        await run_report("recorder", store, query)
        await run_reports(store, [*every_report(since, until, config), ("recorder", query)])
        alone, beside = RECORDERS
        assert alone.leads
        assert beside.leads == alone.leads

    async def test_one_read(self, log: tuple[SpyStore, ReportConfig]) -> None:
        """One read: the union of the kinds, from the earliest start any report needs."""
        store, config = log
        store.reads.clear()
        asks = [
            (name, parse_query(name, "2026-03-01", None, None, config))
            for name in ("sales", "experiments")
        ]
        await run_reports(store, asks)
        kinds = set(REPORTS["sales"].kinds) | set(REPORTS["experiments"].kinds)
        assert store.reads == [(kinds, datetime(2026, 3, 1, tzinfo=UTC), None)]

    async def test_history_when_one_needs_it(self, log: tuple[SpyStore, ReportConfig]) -> None:
        """Velocity reads from the first fact, so the shared read does too."""
        store, config = log
        store.reads.clear()
        asks = [
            (name, parse_query(name, "2026-03-01", None, None, config))
            for name in ("velocity", "sales")
        ]
        await run_reports(store, asks)
        assert [since for _, since, _ in store.reads] == [None]

    async def test_nothing_asked(self, log: tuple[SpyStore, ReportConfig]) -> None:
        assert await run_reports(log[0], []) == []


class TestDashboard:
    """The dashboard's figures, from one read, equal the reports run one by one."""

    @pytest.mark.parametrize(("since", "until"), RANGES)
    @pytest.mark.parametrize("by", ["source", "utm_campaign"])
    async def test_same_sections(
        self, log: tuple[SpyStore, ReportConfig], since: str | None, until: str | None, by: str
    ) -> None:
        store, config = log
        ask = DashboardRequest(since=since, until=until, by=by, lang=Language("en"))
        asks = dashboard_asks(ask, config)
        store.reads.clear()
        results = await run_reports(store, asks)
        assert len(store.reads) == 1
        alone = [await run_report(name, store, query) for name, query in asks]
        assert results == alone
        assert dashboard_sections(results, ask) == dashboard_sections(alone, ask)
