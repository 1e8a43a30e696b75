"""Relative dates in a statement, made absolute against the day it was said.

"He arrived on Sunday", said on Tuesday 28 October, meant 26 October; "the interview is on
Thursday" meant the Thursday after. When a memory is told back, each such phrase gets its
date beside it ("on Sunday (26 October)"), so "when was he born?" has its answer.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from os1.memory.recall.timeparse import WEEKDAYS

COUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3,
}  # fmt: skip
# Past tense in the sentence: a bare weekday then means the one before.
PAST = re.compile(
    r"\b(?:was|were|had|did|went|got|came|arrived|left|met|made|took|gave|saw|ran|won|"
    r"lost|passed|began|became|brought|bought|caught|fought|taught|thought|found|told|"
    r"said|sold|sent|spent|felt|kept|slept|spoke|broke|ate|drank|drove|flew|fell|hid|"
    r"wrote|rode|sang|swam|threw|wore|woke|chose|forgot|froze|heard|knew|paid|sat|stood|"
    r"held|hurt|cut|shut|rang|led|meant|\w{3,}ed)\b",
    re.IGNORECASE,
)
_DAY = r"(?P<day>" + "|".join(WEEKDAYS) + r")(?!s)"
PHRASE = re.compile(
    r"\b(?:(?P<which>last|next|this|on|on the|that)\s+)?" + _DAY + r"\b"
    r"|\b(?P<rel>(?:the )?day after tomorrow|(?:the )?day before yesterday|yesterday|today|"
    r"tonight|tomorrow|this morning|this evening)\b"
    r"|\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|couple of|few)\s+"
    r"(?P<unit>day|week|month|year)s?\s+ago(?:\s+today)?\b"
    r"|\b(?P<span>last|next)\s+(?P<sunit>month|year)\b"
    r"|\bon the (?P<nth>\d{1,2})(?:st|nd|rd|th)\b",
    re.IGNORECASE,
)


def day_text(moment: datetime, told: datetime) -> str:
    text = f"{moment:%A} {moment.day} {moment:%B}"
    return text if moment.year == told.year else f"{text} {moment.year}"


def resolve(phrase: re.Match[str], sentence: str, told: datetime) -> str | None:
    """The date ``phrase`` meant, said on ``told``, as words; None if it is not a day."""
    day = told.replace(hour=12, minute=0, second=0, microsecond=0)
    if phrase.group("day"):
        target = WEEKDAYS[phrase.group("day").lower()]
        which = (phrase.group("which") or "").lower()
        back = (target - day.weekday()) % 7
        if which == "last" or (which not in ("next", "this") and PAST.search(sentence)):
            offset = -(((day.weekday() - target) % 7) or 7)
        elif which == "next":
            offset = back + (7 if back < 3 else 0) if back else 7
        else:
            offset = back
        return day_text(day + timedelta(days=offset), told)
    if phrase.group("rel"):
        rel = phrase.group("rel").lower().removeprefix("the ")
        offset = {
            "yesterday": -1,
            "tomorrow": 1,
            "day after tomorrow": 2,
            "day before yesterday": -2,
        }.get(rel, 0)
        return day_text(day + timedelta(days=offset), told)
    if phrase.group("unit"):
        n_text = phrase.group("n").lower()
        n = int(n_text) if n_text.isdigit() else COUNTS.get(n_text, 1)
        unit = phrase.group("unit").lower()
        if unit == "day" or unit == "week":
            return day_text(day - timedelta(days=n * (7 if unit == "week" else 1)), told)
        if unit == "month":
            month = (day.month - 1 - n) % 12 + 1
            year = day.year + (day.month - 1 - n) // 12
            return datetime(year, month, 1).strftime("%B %Y")
        return str(day.year - n)
    if phrase.group("sunit"):
        step = -1 if phrase.group("span").lower() == "last" else 1
        if phrase.group("sunit").lower() == "year":
            return str(day.year + step)
        month = (day.month - 1 + step) % 12 + 1
        year = day.year + (day.month - 1 + step) // 12
        return datetime(year, month, 1).strftime("%B %Y")
    if phrase.group("nth"):
        nth = int(phrase.group("nth"))
        if not 1 <= nth <= 31:
            return None
        month, year = day.month, day.year
        if nth < day.day and not PAST.search(sentence):
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        try:
            return day_text(datetime(year, month, nth), told)
        except ValueError:
            return None
    return None


def dated(sentence: str, told: datetime) -> str:
    """``sentence`` with each relative date followed by its date: "(26 October)"."""

    def add(found: re.Match[str]) -> str:
        meant = resolve(found, sentence, told)
        return f"{found.group(0)} ({meant})" if meant else found.group(0)

    return PHRASE.sub(add, sentence)


def has_time(sentence: str) -> bool:
    return bool(
        PHRASE.search(sentence)
        or re.search(
            r"\b(?:january|february|march|april|may|june|july|august|september|october|"
            r"november|december|\d{1,2}(?:st|nd|rd|th)|\d{4}|mondays|tuesdays|wednesdays|"
            r"thursdays|fridays|saturdays|sundays)\b",
            sentence,
            re.IGNORECASE,
        )
    )
