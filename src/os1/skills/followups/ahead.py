"""When something ahead happens, in the words people use for it: "tomorrow", "on
Saturday", "next week", "on the 23rd", "on 3 March", "in two weeks".

Only the day matters here: a follow-up is asked once the event is over, and a clock time
("at 10") would only tempt asking on the same day, before it may have happened. So each
phrase is a span of days (``first`` to ``last``, in the user's zone), and ``after`` is
the morning after the last one. The reminders skill reads clock times too; skills do not
import one another, and this needs far less.

The rules:

- A weekday is the next such day after today: on a Thursday, "on Thursday" and "next
  Thursday" are a week ahead (as the reminders skill reads them).
- "next week" is Monday to Sunday of the week after this one; "this weekend" is this
  week's Saturday and Sunday; "next month" the whole of it.
- "the 23rd" is the next 23rd after today; a date without a year that has passed is next
  year's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from os1.memory.recall import timeparse

# The calendar's words, as recall reads them in questions (and "sept").
WEEKDAYS = timeparse.WEEKDAYS
MONTHS = timeparse.MONTHS | {"sept": 9}
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
COUNTS |= {"couple of": 2, "a couple of": 2, "few": 3, "a few": 3}
# The morning after: a late night still belongs to the day before.
ASK_FROM = time(5)

_WD = "(?:" + "|".join(WEEKDAYS) + ")"
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_COUNT = "(?:" + "|".join(sorted(COUNTS, key=len, reverse=True)) + r"|\d{1,2})"
_END = r"(?![\w'])"
PHRASE = re.compile(
    rf"""\b(?:
        (?P<after>(?:the\s+)?day\s+after\s+tomorrow)
      | (?P<tomorrow>tomorrow)(?:\s+(?:morning|afternoon|evening|night))?
      | (?P<today>tonight|today|later\s+today|this\s+(?:morning|afternoon|evening))
      | (?:on\s+|this\s+(?:coming\s+)?|next\s+|coming\s+)?(?P<wd>{_WD})
        (?:\s+(?:morning|afternoon|evening|night))?
      | (?P<nextweekend>next\s+weekend)
      | (?P<weekend>(?:this\s+(?:coming\s+)?|at\s+the\s+|on\s+the\s+|over\s+the\s+)weekend)
      | (?P<nextweek>next\s+week|the\s+week\s+after\s+next)
      | (?P<thisweek>(?:later\s+)?this\s+week)
      | (?P<nextmonth>next\s+month)
      | in\s+(?P<count>{_COUNT})\s+(?P<unit>day|week)s?(?:'?\s+time)?
      | (?:on\s+)?(?:the\s+)?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH})
      | (?:on\s+)?(?P<m2>{_MONTH})\s+(?:the\s+)?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?
      | on\s+the\s+(?P<nth>\d{{1,2}})(?:st|nd|rd|th)
    ){_END}""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Ahead:
    """The days something ahead happens on, and where its words were in the sentence."""

    first: date
    last: date
    span: tuple[int, int]
    words: str

    def after(self, zone: tzinfo) -> datetime:
        """When it is over: the morning after its last day, in the user's zone."""
        return datetime.combine(self.last + timedelta(days=1), ASK_FROM, tzinfo=zone)


def find_ahead(text: str, now: datetime) -> Ahead | None:
    """The first time ahead that ``text`` names (relative to ``now``), or None."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.date()
    for match in PHRASE.finditer(text):
        days = _days(match, today)
        if days is not None and days[1] >= today:
            words = " ".join(match.group(0).split())
            return Ahead(days[0], days[1], match.span(), words)
    return None


def _days(match: re.Match[str], today: date) -> tuple[date, date] | None:
    g = {k: v.lower() for k, v in match.groupdict().items() if v is not None}
    monday = today - timedelta(days=today.weekday())
    if "after" in g:
        return _one(today + timedelta(days=2))
    if "tomorrow" in g:
        return _one(today + timedelta(days=1))
    if "today" in g:
        return _one(today)
    if "wd" in g:
        return _one(today + timedelta(days=(WEEKDAYS[g["wd"]] - today.weekday()) % 7 or 7))
    if "nextweekend" in g:
        return monday + timedelta(days=12), monday + timedelta(days=13)
    if "weekend" in g:
        return max(today, monday + timedelta(days=5)), monday + timedelta(days=6)
    if "nextweek" in g:
        weeks = 2 if "after" in g["nextweek"] else 1
        start = monday + timedelta(weeks=weeks)
        return start, start + timedelta(days=6)
    if "thisweek" in g:
        return today, monday + timedelta(days=6)
    if "nextmonth" in g:
        start = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)
        return start, end
    if "count" in g:
        count = int(g["count"]) if g["count"].isdigit() else COUNTS[" ".join(g["count"].split())]
        return _one(today + timedelta(days=count * (7 if g["unit"] == "week" else 1)))
    if "nth" in g:
        return _nth(int(g["nth"]), today)
    month = MONTHS[(g.get("m1") or g["m2"]).rstrip(".")]
    return _dated(int(g.get("d1") or g["d2"]), month, today)


def _one(day: date) -> tuple[date, date]:
    return day, day


def _nth(day: int, today: date) -> tuple[date, date] | None:
    """The next ``day`` of a month after today (the 31st skips the short months)."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            found = date(year, month, day)
        except ValueError:
            found = None
        if found is not None and found > today:
            return _one(found)
        year, month = year + month // 12, month % 12 + 1
    return None


def _dated(day: int, month: int, today: date) -> tuple[date, date] | None:
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None  # 31 February
        if found >= today:
            return _one(found)
    return None
