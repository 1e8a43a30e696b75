"""Saying reminders out loud: times as people say them ("5 pm today", "every Monday at
9 am"), and the user's words turned towards them ("call my mum" → "call your mum").

A reminder is stored in the user's own words; only what the companion says is turned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from os1.skills.reminders.recurrence import DAY_NAMES, Rule

EVENING = 18  # from 6 pm, later today is "tonight"

# First person to second, for the companion to say back. "I am" and "I was" go first,
# as whole phrases ("am" alone is left: "9 am").
_PHRASES = (
    (re.compile(r"\bI am\b", re.I), "you are"),
    (re.compile(r"\bI was\b", re.I), "you were"),
)
_WORDS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "im": "you're",
}
_WORD = re.compile(r"\b(?:" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b", re.I)


def spoken(text: str) -> str:
    """The user's words as the companion says them back."""
    for phrase, turned in _PHRASES:
        text = phrase.sub(turned, text)
    return _WORD.sub(lambda m: _WORDS[m.group().lower()], text)


def clock(moment: datetime) -> str:
    """ "5 pm", "5:30 pm", "noon", "midnight"."""
    if moment.hour == 12 and moment.minute == 0:
        return "noon"
    if moment.hour == 0 and moment.minute == 0:
        return "midnight"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'am' if moment.hour < 12 else 'pm'}"


def clock_exact(moment: datetime) -> str:
    """ "5:00 pm": for saying when something was due."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def day_name(day: datetime, now: datetime) -> str:
    """ "3 March", or "3 March 2028" when not this year."""
    name = f"{day.day} {day:%B}"
    return name if day.year == now.year else f"{name} {day.year}"


def describe(due: datetime, now: datetime) -> str:
    """When, relative to now, ready to follow "I'll remind you to …": "at 5 pm today",
    "at 9 am tomorrow", "on Friday at 10 am", "on 3 March at noon". Both in the user's
    zone (``now``'s)."""
    zone = now.tzinfo
    due = due.astimezone(zone)
    if due.hour == 0 and due.minute == 0:  # midnight ends the day before
        night = due - timedelta(days=1)
        ahead = (night.date() - now.date()).days
        if ahead == 0:
            return "at midnight tonight"
        if ahead == 1:
            return "at midnight tomorrow night"
        return f"at midnight, the night of {_on(night, now)}"
    ahead = (due.date() - now.date()).days
    if ahead == 0:
        return f"at {clock(due)} {'tonight' if due.hour >= EVENING else 'today'}"
    if ahead == 1:
        return f"at {clock(due)} tomorrow"
    if ahead == -1:
        return f"at {clock(due)} yesterday"
    return f"on {_on(due, now)} at {clock(due)}"


def _on(day: datetime, now: datetime) -> str:
    ahead = (day.date() - now.date()).days
    return f"{day:%A}" if 0 < ahead < 7 else day_name(day, now)


def describe_rule(rule: Rule | str, zone: ZoneInfo, first: datetime | None = None) -> str:
    """ "every Monday at 9 am", "every weekday at 8 am", "every hour", "every 15 minutes".
    ``first`` (an occurrence) gives the time and day a rule without BYHOUR/BYDAY keeps."""
    if isinstance(rule, str):
        rule = Rule.parse(rule)
    if not rule.wall_clock:
        unit = "minute" if rule.freq == "MINUTELY" else "hour"
        return f"every {unit}" if rule.interval == 1 else f"every {rule.interval} {unit}s"
    seen = (first or datetime.now(UTC)).astimezone(zone)
    at = seen.replace(
        hour=seen.hour if rule.hour is None else rule.hour,
        minute=seen.minute if rule.minute is None else rule.minute,
    )
    when = f"at {clock(at)}"
    if rule.freq == "DAILY":
        return f"every day {when}"
    if rule.freq == "MONTHLY":
        return f"every month on the {ordinal(rule.month_day or seen.day)} {when}"
    days = rule.days or (seen.weekday(),)
    if days == (0, 1, 2, 3, 4):
        return f"every weekday {when}"
    if days == (5, 6):
        return f"every weekend day {when}"
    return f"every {join([DAY_NAMES[d] for d in days])} {when}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join(items: Sequence[str], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def duration_words(delta: timedelta) -> str:
    """ "20 minutes", "1 hour and 10 minutes", "30 seconds"."""
    seconds = int(delta.total_seconds())
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return join(parts) or "0 seconds"


def timer_name(delta: timedelta, label: str = "") -> str:
    """ "10-minute timer", "10-minute pasta timer", "timer for 1 hour and 10 minutes"."""
    words = duration_words(delta)
    label = f"{label} " if label else ""
    count, _, unit = words.partition(" ")
    if " " not in unit:  # one unit: an adjective
        return f"{count}-{unit.removesuffix('s')} {label}timer"
    return f"{label}timer for {words}"
