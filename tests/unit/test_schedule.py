"""Send windows and frequency caps: wall-clock hours in the lead's zone, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from nurture.domain.schedule import (
    FrequencyCap,
    SendWindow,
    add_business_time,
    lead_zone,
    next_allowed_by_cap,
    next_send_slot,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = SendWindow(default_timezone="Europe/Paris", country_timezones={"US": "America/New_York"})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class TestWindow:
    """Slots fall on business days and hours of the lead's own clock."""

    def test_inside_the_window_is_now(self) -> None:
        """Tuesday 10:00 Paris is sendable at once."""
        now = utc(2026, 6, 2, 8, 0)  # 10:00 CEST
        assert next_send_slot(now, PARIS, WINDOW) == now

    def test_before_opening_waits_for_nine(self) -> None:
        """Tuesday 06:00 Paris waits until 09:00 Paris."""
        assert next_send_slot(utc(2026, 6, 2, 4, 0), PARIS, WINDOW) == utc(2026, 6, 2, 7, 0)

    def test_friday_evening_waits_for_monday(self) -> None:
        """Friday 19:00 Paris goes Monday 09:00."""
        assert next_send_slot(utc(2026, 6, 5, 17, 0), PARIS, WINDOW) == utc(2026, 6, 8, 7, 0)

    def test_same_instant_other_zone(self) -> None:
        """14:00 UTC is 16:00 in Paris (open) but 10:00 in New York (open too); 22:00 UTC
        is closed in Paris and open in New York."""
        late = utc(2026, 6, 2, 20, 0)
        assert next_send_slot(late, PARIS, WINDOW) == utc(2026, 6, 3, 7, 0)
        assert next_send_slot(late, NEW_YORK, WINDOW) == late

    def test_holiday_is_skipped(self) -> None:
        """1 May is a holiday: Friday's send moves to Monday 4 May."""
        window = WINDOW.model_copy(update={"holidays": frozenset({date(2026, 5, 1)})})
        assert next_send_slot(utc(2026, 5, 1, 8, 0), PARIS, window) == utc(2026, 5, 4, 7, 0)

    def test_quiet_hours(self) -> None:
        """With 12:00-14:00 quiet, 12:30 waits for 14:00, 11:00 does not wait."""
        window = WINDOW.model_copy(update={"quiet": ((time(12), time(14)),)})
        assert next_send_slot(utc(2026, 6, 2, 10, 30), PARIS, window) == utc(2026, 6, 2, 12, 0)
        assert next_send_slot(utc(2026, 6, 2, 9, 0), PARIS, window) == utc(2026, 6, 2, 9, 0)


class TestDaylightSaving:
    """09:00 stays 09:00 local when the clocks change."""

    def test_spring_forward_weekend(self) -> None:
        """Clocks jump on Sunday 29 March 2026: Monday 09:00 Paris is 07:00 UTC, not 08:00."""
        saturday = utc(2026, 3, 28, 10, 0)  # 11:00 CET
        assert next_send_slot(saturday, PARIS, WINDOW) == utc(2026, 3, 30, 7, 0)

    def test_fall_back_weekend(self) -> None:
        """Clocks go back on Sunday 25 October 2026: Monday 09:00 Paris is 08:00 UTC."""
        saturday = utc(2026, 10, 24, 10, 0)
        assert next_send_slot(saturday, PARIS, WINDOW) == utc(2026, 10, 26, 8, 0)

    def test_window_opening_inside_the_gap(self) -> None:
        """A window opening at 02:30 on the night 02:00 becomes 03:00 opens at the jump."""
        window = SendWindow(days=frozenset(range(1, 8)), start=time(2, 30), end=time(5, 0))
        night = utc(2026, 3, 28, 23, 0)  # 00:00 CET on 29 March
        assert next_send_slot(night, PARIS, window) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST

    def test_new_york_changes_on_its_own_date(self) -> None:
        """US clocks jump on 8 March 2026: Monday 9 March 09:00 New York is 13:00 UTC."""
        assert next_send_slot(utc(2026, 3, 7, 15, 0), NEW_YORK, WINDOW) == utc(2026, 3, 9, 13, 0)


class TestLeadZone:
    """The form's zone, else the country's, else the default."""

    def test_order_of_preference(self) -> None:
        """Own zone first, then country, then the default (also for a bad own zone)."""
        assert lead_zone("Asia/Tokyo", "US", WINDOW) == ZoneInfo("Asia/Tokyo")
        assert lead_zone(None, "us", WINDOW) == NEW_YORK
        assert lead_zone(None, "DE", WINDOW) == PARIS
        assert lead_zone("Mars/Olympus", None, WINDOW) == PARIS


class TestWindowConfig:
    """An impossible window is refused naming the rule."""

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"start": time(18), "end": time(9)}, "must be before end"),
            ({"days": frozenset()}, "at least one weekday"),
            ({"quiet": ((time(14), time(12)),)}, "must start before it ends"),
            ({"default_timezone": "Europe/Atlantis"}, "unknown time zone"),
            ({"days": frozenset({8})}, "less than or equal to 7"),
        ],
    )
    def test_refused(self, fields: dict[str, object], message: str) -> None:
        """Each broken field is named."""
        with pytest.raises(ValidationError, match=message):
            SendWindow.model_validate(fields)

    def test_no_slot_at_all(self) -> None:
        """A window whose only day is always a holiday says so instead of looping."""
        days = {date(2026, 1, 5) + timedelta(weeks=w) for w in range(60)}
        window = SendWindow(days=frozenset({1}), holidays=frozenset(days))
        with pytest.raises(ValueError, match="no open slot"):
            next_send_slot(utc(2026, 1, 1, 0, 0), PARIS, window)


class TestFrequencyCap:
    """At most N marketing emails in any rolling window."""

    CAP = FrequencyCap(max_emails=3, window=timedelta(days=7))

    def test_under_the_cap_sends_now(self) -> None:
        """Two sends this week: a third may go now."""
        now = utc(2026, 6, 10, 12)
        sent = [now - timedelta(days=1), now - timedelta(days=2)]
        assert next_allowed_by_cap(sent, now, self.CAP) == now

    def test_at_the_cap_waits_for_the_oldest_to_expire(self) -> None:
        """Sends 6, 2 and 1 days ago: the next may go when the 6-day-old one is 7 days old."""
        now = utc(2026, 6, 10, 12)
        sent = [now - timedelta(days=d) for d in (6, 2, 1)]
        assert next_allowed_by_cap(sent, now, self.CAP) == now + timedelta(days=1)

    def test_old_sends_do_not_count(self) -> None:
        """Sends older than the window are forgotten."""
        now = utc(2026, 6, 10, 12)
        sent = [now - timedelta(days=d) for d in (30, 20, 8)]
        assert next_allowed_by_cap(sent, now, self.CAP) == now

    def test_cap_then_window(self) -> None:
        """A capped send released on Saturday still waits for Monday's window."""
        now = utc(2026, 6, 5, 10)  # Friday
        sent = [now - timedelta(days=d) for d in (6, 3, 1)]
        allowed = next_allowed_by_cap(sent, now, self.CAP)  # Saturday 10:00 UTC
        assert next_send_slot(allowed, PARIS, WINDOW) == utc(2026, 6, 8, 7, 0)


class TestNextLocalTime:
    """``wait_until`` targets: the next time the lead's clock shows a given time."""

    def test_later_today_or_tomorrow(self) -> None:
        """08:00 Paris → 10:00 today; 11:00 Paris → 10:00 tomorrow."""
        from nurture.domain.schedule import next_local_time

        assert next_local_time(utc(2026, 6, 2, 6), PARIS, time(10)) == utc(2026, 6, 2, 8)
        assert next_local_time(utc(2026, 6, 2, 9), PARIS, time(10)) == utc(2026, 6, 3, 8)

    def test_on_a_weekday_across_dst(self) -> None:
        """Next Tuesday 10:00 Paris, from the Friday before the spring change: 08:00 UTC."""
        from nurture.domain.schedule import next_local_time

        friday = utc(2026, 3, 27, 12)
        assert next_local_time(friday, PARIS, time(10), frozenset({2})) == utc(2026, 3, 31, 8)


class TestDurations:
    """Durations read as 2d in config files and survive pydantic's JSON round trip."""

    def test_round_trip(self) -> None:
        """A cap of 7d serialises to ISO 8601 and reads back equal."""
        cap = FrequencyCap.model_validate({"window": "7d"})
        assert FrequencyCap.model_validate_json(cap.model_dump_json()) == cap

    @pytest.mark.parametrize("bad", ["7 days", "a week", "7x"])
    def test_unreadable_duration_named(self, bad: str) -> None:
        """Anything else is refused with the accepted forms."""
        with pytest.raises(ValidationError, match="like 90s, 15m, 6h, 2d or 1w"):
            FrequencyCap.model_validate({"window": bad})


class TestBusinessTime:
    """add_business_time counts only working hours: the SLA clock of the sales hand-off."""

    WINDOW = SendWindow(start=time(9, 0), end=time(18, 0), quiet=((time(12, 30), time(14, 0)),))
    PARIS = ZoneInfo("Europe/Paris")

    def test_within_the_day(self) -> None:
        """10:00 + 1h = 11:00 Paris (09:00 UTC in winter → 10:00 UTC)."""
        start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        end = add_business_time(start, timedelta(hours=1), self.PARIS, self.WINDOW)
        assert end == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def test_across_lunch_and_the_weekend(self) -> None:
        """Friday 12:00 + 1h: 30 minutes before lunch, 30 after, so 14:30; Friday 17:30 + 1h
        ends Monday 09:30."""
        friday_noon = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        assert add_business_time(
            friday_noon, timedelta(hours=1), self.PARIS, self.WINDOW
        ) == datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
        friday_late = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
        assert add_business_time(
            friday_late, timedelta(hours=1), self.PARIS, self.WINDOW
        ) == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)

    def test_starting_at_night(self) -> None:
        """Asked at 02:00, 30 business minutes end at 09:30."""
        night = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
        assert add_business_time(night, timedelta(minutes=30), self.PARIS, self.WINDOW) == datetime(
            2026, 11, 24, 8, 30, tzinfo=UTC
        )
