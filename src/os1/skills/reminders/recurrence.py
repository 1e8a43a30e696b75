"""Recurring reminders: the subset of RFC 5545 RRULEs that people ask for by voice.

"every Monday at 9" is ``FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0``. Daily, weekly and
monthly rules are wall-clock rules: the next occurrence is found on the calendar of the
item's own zone and only then turned into an instant, so 9:00 stays 9:00 when the clocks
change. Hourly and minutely rules count real time (every hour is 60 minutes, also on the
night the clocks go back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WALL_CLOCK = ("DAILY", "WEEKLY", "MONTHLY")
ELAPSED = {"MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1)}
# A wall-clock rule has an occurrence within a year (a monthly rule on the 31st skips
# the short months); a search that finds none in 400 days means the rule is wrong.
SEARCH_DAYS = 400


@dataclass(frozen=True)
class Rule:
    """A recurrence: how often, and (for wall-clock rules) on which days and at what time."""

    freq: str
    interval: int = 1
    days: tuple[int, ...] = ()  # weekdays, 0 = Monday (WEEKLY)
    hour: int | None = None
    minute: int | None = None
    month_day: int | None = None  # MONTHLY

    def __str__(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.days:
            parts.append("BYDAY=" + ",".join(DAY_CODES[d] for d in self.days))
        if self.month_day is not None:
            parts.append(f"BYMONTHDAY={self.month_day}")
        if self.hour is not None:
            parts.append(f"BYHOUR={self.hour}")
        if self.minute is not None:
            parts.append(f"BYMINUTE={self.minute}")
        return ";".join(parts)

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Read an RRULE; a rule outside the subset raises ``ValueError`` saying why."""
        fields: dict[str, str] = {}
        for part in text.strip().removeprefix("RRULE:").split(";"):
            name, sep, value = part.partition("=")
            if not sep or not value:
                raise ValueError(f"not an RRULE part: {part!r}")
            fields[name.strip().upper()] = value.strip().upper()
        freq = fields.pop("FREQ", "")
        if freq not in WALL_CLOCK and freq not in ELAPSED:
            raise ValueError(
                f"unsupported FREQ {freq!r} (use MINUTELY, HOURLY, DAILY, WEEKLY or MONTHLY)"
            )
        try:
            interval = int(fields.pop("INTERVAL", "1"))
            days = tuple(DAY_CODES.index(d) for d in _split(fields.pop("BYDAY", "")))
            month_day = _number(fields.pop("BYMONTHDAY", ""))
            hour = _number(fields.pop("BYHOUR", ""))
            minute = _number(fields.pop("BYMINUTE", ""))
        except ValueError as error:
            raise ValueError(f"bad RRULE {text!r}: {error}") from None
        if fields:
            raise ValueError(f"unsupported RRULE parts: {', '.join(sorted(fields))}")
        if interval < 1 or (interval != 1 and freq in WALL_CLOCK):
            raise ValueError("INTERVAL is supported only for MINUTELY and HOURLY rules")
        if (hour is not None and not 0 <= hour <= 23) or (
            minute is not None and not 0 <= minute <= 59
        ):
            raise ValueError("BYHOUR must be 0-23 and BYMINUTE 0-59")
        if month_day is not None and not 1 <= month_day <= 31:
            raise ValueError("BYMONTHDAY must be 1-31")
        return cls(freq, interval, tuple(sorted(set(days))), hour, minute, month_day)

    @property
    def wall_clock(self) -> bool:
        return self.freq in WALL_CLOCK


def _split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _number(value: str) -> int | None:
    return int(value) if value else None


def local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day in ``zone``, as a real instant in that zone. A time in
    the hour the clocks skip (1:30 on the last Sunday of March in London) comes out an
    hour later, as a clock that was not changed would show it."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def next_occurrence(
    rule: Rule | str, after: datetime, zone: ZoneInfo, previous: datetime | None = None
) -> datetime:
    """The first occurrence of ``rule`` strictly after ``after``, in ``zone``.

    ``previous`` is the occurrence before (an item's last due time): elapsed-time rules
    count on from it, and a wall-clock rule without BYHOUR/BYDAY keeps its time and day."""
    if isinstance(rule, str):
        rule = Rule.parse(rule)
    # Occurrences come after the previous one, even one still in the future.
    if previous is not None and previous.astimezone(UTC) > after.astimezone(UTC):
        after = previous
    after = after.astimezone(zone)
    anchor = (previous or after).astimezone(zone)
    if not rule.wall_clock:
        step = ELAPSED[rule.freq] * rule.interval
        if previous is None:
            return (after.astimezone(UTC) + step).astimezone(zone)
        # Skip every occurrence missed while nothing was running, in one step.
        behind = after.astimezone(UTC) - anchor.astimezone(UTC)
        missed = behind // step + 1
        return (anchor.astimezone(UTC) + step * missed).astimezone(zone)
    at = time(
        anchor.hour if rule.hour is None else rule.hour,
        anchor.minute if rule.minute is None else rule.minute,
    )
    days = rule.days or (anchor.weekday(),)
    month_day = rule.month_day or anchor.day
    day = after.date()
    for _ in range(SEARCH_DAYS):
        fits = (
            rule.freq == "DAILY"
            or (rule.freq == "WEEKLY" and day.weekday() in days)
            or (rule.freq == "MONTHLY" and day.day == month_day)
        )
        if fits:
            candidate = local(day, at, zone)
            if candidate.astimezone(UTC) > after.astimezone(UTC):
                return candidate
        day += timedelta(days=1)
    raise ValueError(f"{rule} has no occurrence within {SEARCH_DAYS} days")
