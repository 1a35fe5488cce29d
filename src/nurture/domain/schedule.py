"""When marketing email may go out: send windows in the lead's time zone, and frequency caps.

Pure functions over aware datetimes; time zones come from the IANA database (``zoneinfo``).
Business hours are wall-clock times, so 09:00 stays 09:00 across daylight-saving changes;
a window edge that falls in a spring-forward gap (02:30 on the night clocks jump from 02:00
to 03:00) is the moment the clock jumps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "Duration",
    "FrequencyCap",
    "SendWindow",
    "add_business_time",
    "lead_zone",
    "next_allowed_by_cap",
    "next_local_time",
    "next_send_slot",
    "parse_duration",
    "zone_named",
]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_ISO_OR_SECONDS = re.compile(r"^-?P[0-9TWDHMS.,]+$|^-?[0-9]+(\.[0-9]+)?$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: object) -> object:
    """Turn ``"90s"``, ``"15m"``, ``"6h"``, ``"2d"`` or ``"1w"`` into a timedelta.

    ISO 8601 (``"P7D"``, which is how pydantic serialises a timedelta) and plain seconds
    pass through to pydantic, so a value survives a round trip through JSON.
    """
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if match:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if _ISO_OR_SECONDS.match(value.strip()):
        return value
    raise ValueError(f"{value!r} is not a duration like 90s, 15m, 6h, 2d or 1w")


Duration = Annotated[timedelta, BeforeValidator(parse_duration), Field(ge=timedelta(0))]


_STRICT = ConfigDict(extra="forbid", frozen=True)
_SEARCH_DAYS = 400
"""How far ahead a slot is looked for before the window is declared impossible."""


class SendWindow(BaseModel):
    """Business days and hours, quiet hours and holidays, in the lead's local time."""

    model_config = _STRICT

    days: frozenset[Annotated[int, Field(ge=1, le=7)]] = frozenset({1, 2, 3, 4, 5})
    """ISO weekdays: 1 is Monday, 7 is Sunday."""
    start: time = time(9, 0)
    end: time = time(18, 0)
    quiet: tuple[tuple[time, time], ...] = ()
    """Intervals inside the day when nothing is sent (lunch, say)."""
    holidays: frozenset[date] = frozenset()
    """Local dates with no sending at all."""
    default_timezone: str = "UTC"
    country_timezones: dict[str, str] = {}
    """ISO country code → IANA zone, for leads whose form gave no zone."""

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.days:
            raise ValueError("days must name at least one weekday")
        if self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        for begin, finish in self.quiet:
            if begin >= finish:
                raise ValueError(f"quiet interval {begin}-{finish} must start before it ends")
        for zone in (self.default_timezone, *self.country_timezones.values()):
            zone_named(zone)
        return self

    def open_intervals(self) -> list[tuple[time, time]]:
        """The day's sending intervals: ``start``-``end`` minus the quiet ones, in order."""
        intervals = [(self.start, self.end)]
        for q_start, q_end in sorted(self.quiet):
            intervals = [
                piece
                for begin, finish in intervals
                for piece in ((begin, min(finish, q_start)), (max(begin, q_end), finish))
                if piece[0] < piece[1]
            ]
        return intervals


class FrequencyCap(BaseModel):
    """At most ``max_emails`` marketing emails per lead in any rolling ``window``."""

    model_config = _STRICT

    max_emails: Annotated[int, Field(ge=1)] = 3
    window: Duration = timedelta(days=7)


def lead_zone(timezone: str | None, country: str | None, window: SendWindow) -> ZoneInfo:
    """The lead's zone: its own, else its country's default, else the configured default."""
    if timezone:
        try:
            return zone_named(timezone)
        except ValueError:
            pass
    if country and country.upper() in window.country_timezones:
        return zone_named(window.country_timezones[country.upper()])
    return zone_named(window.default_timezone)


def next_send_slot(earliest: datetime, zone: ZoneInfo, window: SendWindow) -> datetime:
    """The first instant at or after ``earliest`` inside the window, in UTC.

    Raises:
        ValueError: when no slot exists within 400 days (every day a holiday, say).
    """
    local_day = earliest.astimezone(zone).date()
    for offset in range(_SEARCH_DAYS):
        day = local_day + timedelta(days=offset)
        if day.isoweekday() not in window.days or day in window.holidays:
            continue
        for begin, finish in window.open_intervals():
            opens, closes = _instant(day, begin, zone), _instant(day, finish, zone)
            if earliest < closes:
                return max(earliest, opens).astimezone(UTC)
    raise ValueError(f"the send window has no open slot within {_SEARCH_DAYS} days")


def add_business_time(
    start: datetime, duration: timedelta, zone: ZoneInfo, window: SendWindow
) -> datetime:
    """``start`` plus ``duration`` counted only inside the window (business hours), in UTC.

    One business hour asked at 17:30 on a Friday, with hours 09:00-18:00, ends at 09:30 on
    Monday (or the next working day after a holiday).
    """
    left = duration
    moment = next_send_slot(start, zone, window)
    while True:
        local_day = moment.astimezone(zone).date()
        closes = next(
            _instant(local_day, finish, zone)
            for begin, finish in window.open_intervals()
            if moment < _instant(local_day, finish, zone)
        )
        if moment + left <= closes:
            return (moment + left).astimezone(UTC)
        left -= closes - moment
        moment = next_send_slot(closes, zone, window)


def next_local_time(
    after: datetime, zone: ZoneInfo, at: time, weekdays: frozenset[int] | None = None
) -> datetime:
    """The first instant strictly after ``after`` when the clock in ``zone`` shows ``at``
    (on one of ``weekdays``, ISO numbers, if given), in UTC."""
    day = after.astimezone(zone).date()
    for offset in range(8):
        candidate = day + timedelta(days=offset)
        if weekdays and candidate.isoweekday() not in weekdays:
            continue
        moment = _instant(candidate, at, zone)
        if moment > after:
            return moment
    raise ValueError("weekdays must name at least one day from 1 (Monday) to 7 (Sunday)")


def next_allowed_by_cap(sent: Iterable[datetime], now: datetime, cap: FrequencyCap) -> datetime:
    """The first instant at or after ``now`` when one more marketing email fits the cap."""
    recent = sorted(t for t in sent if t > now - cap.window)
    if len(recent) < cap.max_emails:
        return now
    # The oldest of the last max_emails sends must leave the window first.
    return max(now, recent[len(recent) - cap.max_emails] + cap.window)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a ValueError naming it if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris") from exc


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant the clock in ``zone`` shows ``wall`` on ``day``; in a DST gap, the jump."""
    first = datetime.combine(day, wall, tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == first.replace(tzinfo=None):
        return first.astimezone(UTC)  # the wall time exists (fold=0: the first of two if repeated)
    # Spring forward: wall time skipped. Find the jump between the two offsets' readings.
    low = first.replace(fold=1).astimezone(UTC)  # reads before the gap
    high = first.replace(fold=0).astimezone(UTC)  # reads after the gap
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) < first.replace(tzinfo=None):
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)
