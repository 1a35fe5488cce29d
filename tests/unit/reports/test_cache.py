"""Report results are kept for the same question while the store's high-water mark stays
put and they are young enough, and computed again otherwise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from nurture.domain.reports import ReportQuery
from nurture.domain.reports.funnel import FunnelReport
from nurture.services.report_cache import ReportCache
from nurture.services.reports import parse_query
from tests.unit.reports import test_funnel
from tests.unit.reports.factbook import at, fact
from tests.unit.reports.test_service import stored

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
FUNNEL = [("funnel", parse_query("funnel"))]


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> datetime:
        return self.now


def created(report: object) -> int:
    assert isinstance(report, FunnelReport)
    return report.stages[0].reached


class TestReportCache:
    """Same question, same mark, young enough: the figures kept; anything else: computed."""

    async def test_kept_while_nothing_is_appended(self) -> None:
        store, clock = await stored(test_funnel.LOG), Clock()
        cache = ReportCache(clock=clock)
        first = await cache.run(store, FUNNEL)
        clock.now += timedelta(minutes=4)
        again = await cache.run(store, FUNNEL)
        assert again is first
        assert first.computed_at == NOON
        assert len(store.reads) == 1

    async def test_computed_again_after_an_append(self) -> None:
        store = await stored(test_funnel.LOG)
        cache = ReportCache()
        before = await cache.run(store, FUNNEL)
        await store.append([fact("new-lead", "lead_created", at(3), source="web")])
        after = await cache.run(store, FUNNEL)
        assert created(after.results[0]) == created(before.results[0]) + 1
        assert len(store.reads) == 2

    async def test_computed_again_when_old(self) -> None:
        """What a mark may miss (an erasure on some backends) is seen after ``max_age``."""
        store, clock = await stored(test_funnel.LOG), Clock()
        cache = ReportCache(max_age=timedelta(minutes=5), clock=clock)
        await cache.run(store, FUNNEL)
        clock.now += timedelta(minutes=5)
        assert (await cache.run(store, FUNNEL)).computed_at == clock.now
        assert len(store.reads) == 2

    async def test_per_question(self) -> None:
        """Another range is another question; the oldest question goes when full."""
        store = await stored(test_funnel.LOG)
        cache = ReportCache(size=1)
        november: list[tuple[str, ReportQuery]] = [
            ("funnel", parse_query("funnel", "2026-11-01", "2026-12-01"))
        ]
        await cache.run(store, FUNNEL)
        await cache.run(store, november)
        await cache.run(store, november)
        assert len(store.reads) == 2
        await cache.run(store, FUNNEL)
        assert len(store.reads) == 3

    async def test_one_computation_for_requests_at_once(self) -> None:
        store = await stored(test_funnel.LOG)
        cache = ReportCache()
        first, second = await asyncio.gather(cache.run(store, FUNNEL), cache.run(store, FUNNEL))
        assert first is second
        assert len(store.reads) == 1
