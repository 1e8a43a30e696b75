"""Time in questions: "yesterday", "last week", "in May 2023", "before the trip".

``parse`` returns the span of time a question is about, relative to ``now`` (in an
evaluation, the dataset's own dates, never today's). Phrases anchored on an event
("before the trip") return the words of the event, which the retriever resolves by
searching for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november "
        "december".split()
    )
}
MONTHS.update({m[:3]: n for m, n in list(MONTHS.items())})
WEEKDAYS = {
    d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())
}
UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "few": 3,
    "couple": 2,
    "several": 4,
}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"


@dataclass(frozen=True)
class TimeSpan:
    start: datetime | None
    end: datetime | None
    # "before"/"after" an event that is not a date: the event's words, to be searched.
    anchor: str = ""
    relation: str = ""

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_span(year: int, month: int, tz: object) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=tz)  # type: ignore[arg-type]
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)  # type: ignore[arg-type]
    return start, end


def parse(question: str, now: datetime) -> TimeSpan | None:
    q = question.lower()
    tz = now.tzinfo
    today = _day(now)

    if m := re.search(
        r"\b(before|after|since|until|prior to) (the |my |our |his |her |their )?"
        r"([a-z0-9][a-z0-9' ,-]{2,40}?)(?=[?.!]|$)",
        q,
    ):
        dated = parse(m.group(3), now)
        relation = "before" if m.group(1) in ("before", "until", "prior to") else "after"
        if dated is not None and dated.start is not None:
            if relation == "before":
                return TimeSpan(None, dated.start)
            return TimeSpan(dated.end, None)
        return TimeSpan(None, None, anchor=m.group(3).strip(), relation=relation)
    if m := re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? {_MONTH},? (\d{{4}})\b", q):
        start = datetime(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)), tzinfo=tz)
        return TimeSpan(start, start + timedelta(days=1))
    if m := re.search(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b", q):
        start = datetime(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)), tzinfo=tz)
        return TimeSpan(start, start + timedelta(days=1))
    if m := re.search(rf"\b{_MONTH},? (\d{{4}})\b", q):
        return TimeSpan(*_month_span(int(m.group(2)), MONTHS[m.group(1)], tz))
    if m := re.search(r"\b(?:in|during) (\d{4})\b", q):
        year = int(m.group(1))
        return TimeSpan(datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz))
    if "yesterday" in q:
        return TimeSpan(today - timedelta(days=1), today)
    if re.search(r"\b(today|tonight|this morning)\b", q):
        return TimeSpan(today, today + timedelta(days=1))
    if m := re.search(
        r"\b(\d+|a|an|one|two|three|four|five|six|few|couple|several)"
        r"(?: of)? (day|week|month|year)s? ago\b",
        q,
    ):
        count = int(m.group(1)) if m.group(1).isdigit() else NUMBERS[m.group(1)]
        days = count * UNITS[m.group(2)]
        centre = today - timedelta(days=days)
        slack = timedelta(days=max(1, days // 3))
        return TimeSpan(centre - slack, centre + slack + timedelta(days=1))
    if m := re.search(r"\b(last|this|past) (week|month|year|weekend)\b", q):
        if m.group(2) == "weekend":
            back = (today.weekday() - 5) % 7 or 7
            start = today - timedelta(days=back)
            return TimeSpan(start, start + timedelta(days=2))
        days = UNITS[m.group(2)]
        if m.group(1) == "this":
            return TimeSpan(today - timedelta(days=days), now + timedelta(seconds=1))
        return TimeSpan(today - timedelta(days=2 * days), today + timedelta(days=1))
    if m := re.search(
        r"\b(?:last|on) (monday|tuesday|wednesday|thursday|friday|saturday|"
        r"sunday)\b",
        q,
    ):
        back = (today.weekday() - WEEKDAYS[m.group(1)]) % 7 or 7
        start = today - timedelta(days=back)
        return TimeSpan(start, start + timedelta(days=1))
    if m := re.search(rf"\b(?:in|during|last) {_MONTH}\b", q):
        month = MONTHS[m.group(1)]
        year = (
            now.year
            if month < now.month or (month == now.month and "last" not in q)
            else (now.year - 1)
        )
        return TimeSpan(*_month_span(year, month, tz))
    return None
