"""The range of a report is in UTC days: the first included from midnight, the last
excluded; a query copied with another range gets that range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from nurture.domain.reports import ReportQuery
from nurture.domain.reports.common import ratio

NOVEMBER = ReportQuery(since=date(2026, 11, 1), until=date(2026, 12, 1))


class TestPeriod:
    """Moments are compared in UTC with the range's midnights."""

    def test_bounds(self) -> None:
        period = NOVEMBER.period()
        assert period.covers(datetime(2026, 11, 1, tzinfo=UTC))
        assert period.covers(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
        assert not period.covers(datetime(2026, 12, 1, tzinfo=UTC))
        assert not period.covers(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))

    def test_other_zones(self) -> None:
        """23:30 on 30 November in Brazil (UTC-2) is 1 December UTC: out of November."""
        brazil = timezone(timedelta(hours=-2))
        assert not NOVEMBER.period().covers(datetime(2026, 11, 30, 23, 30, tzinfo=brazil))

    def test_open_ends(self) -> None:
        assert ReportQuery().period().covers(datetime(1999, 1, 1, tzinfo=UTC))
        assert ReportQuery().period().start is None

    def test_a_copy_with_another_range(self) -> None:
        NOVEMBER.period()
        december = NOVEMBER.model_copy(update={"since": date(2026, 12, 1), "until": None})
        assert not december.period().covers(datetime(2026, 11, 2, tzinfo=UTC))
        assert december.period().start == datetime(2026, 12, 1, tzinfo=UTC)


class TestRatio:
    """A rate over nothing is null, not zero; rates keep four decimals."""

    def test_ratio(self) -> None:
        assert ratio(1, 3) == 0.3333
        assert ratio(0, 5) == 0.0
        assert ratio(3, 0) is None
