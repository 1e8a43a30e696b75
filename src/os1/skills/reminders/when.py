"""When, in what people say: "at five", "in twenty minutes", "tomorrow morning",
"on 3 March at noon", "every Monday at 9".

``find_when`` finds the time words in a sentence (and where they are, so the rest is
what to be reminded of); ``parse_when`` reads a field that holds only a time (a tool's
argument, ``--at``), ISO 8601 included. Times are in the user's zone, relative to
``now``; the result is timezone-aware.

The rules, in the order they apply:

- A bare hour from 1 to 11 ("at five") is the next 5:00 or 17:00 that is still ahead,
  preferring daytime (7:00-21:59): at 10:00 "at five" is 17:00 today, at 3:00 too (5:00
  is not daytime); at 22:00 "at nine" is 9:00 tomorrow. With a day ("tomorrow at 8")
  the same preference picks 8:00; "at 3 tomorrow" is 15:00. "morning", "evening" and
  am/pm settle it outright.
- A day with no time is at 9:00 ("tomorrow", "on Friday"); parts of the day have their
  own hours: morning 9:00, afternoon 15:00, evening 18:00, night ("tonight") 20:00.
- A weekday is the next such day after today: on a Monday, "on Monday" and
  "next Monday" are both a week ahead.
- A date without a year that has passed this year is next year's.
- "in N minutes/hours" counts real time; "in N days/weeks" keeps the time of day (or
  takes the one given: "in 2 days at 9").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from os1.skills.reminders.recurrence import DAY_NAMES, Rule, local, next_occurrence

SMALL = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
WORDS = {w: i + 1 for i, w in enumerate(SMALL)} | TENS | {"a": 1, "an": 1}
_UNITS = "|".join(SMALL[:9])
NUM = (
    rf"(?:(?:twenty|thirty|forty|fifty)[- ](?:{_UNITS})|"
    + "|".join(sorted([*SMALL, *TENS], key=len, reverse=True))
    + r"|\d+)"
)
HOUR = r"(?:[01]?\d|2[0-3]|" + "|".join(sorted(SMALL[:12], key=len, reverse=True)) + ")"
WEEKDAYS = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
WD = "(?:" + "|".join(WEEKDAYS) + ")"
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november "
        "december".split()
    )
}
MONTHS |= {m[:3]: n for m, n in list(MONTHS.items())} | {"sept": 9}
MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
PART = "(?:morning|afternoon|evening|night)"
PARTS = {"morning": time(9), "afternoon": time(15), "evening": time(18), "night": time(20)}
DEFAULT_TIME = time(9)
DAYTIME = range(7, 22)
# The end of a word: "5 pm" but not "5 pmx"; "p.m." ends in a dot, where \b does not hold.
END = r"(?![\w'])"

UNIT = {
    "second": timedelta(seconds=1),
    "sec": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "hr": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_UNIT = r"(?:second|sec|minute|min|hour|hr|day|week)s?"
_AMOUNT = rf"(?:{NUM}|an?|a\s+couple\s+of|a\s+few)"
_PIECE = (
    rf"(?:half\s+an?\s+hour|(?:a\s+)?quarter\s+of\s+an?\s+hour|an?\s+hour\s+and\s+a\s+half"
    rf"|{_AMOUNT}\s+and\s+a\s+half\s*-?\s*{_UNIT}|{_AMOUNT}\s*-?\s*{_UNIT})"
)
DURATION = rf"{_PIECE}(?:(?:\s*,\s*|\s+and\s+|\s+){_PIECE})*"
_AMOUNT_UNIT = re.compile(rf"({_AMOUNT})\s*({_UNIT})$")

RECURRING = re.compile(
    rf"""\b(?:every|each)\s+(?:single\s+)?(?:
        (?:(?P<n>{NUM})\s+)?(?P<unit>minute|hour)s?
      | (?P<weekday>week\s?day|working\s+day|work\s?day)s?
      | (?P<weekend>weekend)s?
      | (?P<days>{WD}s?(?:\s*(?:,|and|&)\s*(?:every\s+)?{WD}s?)*)(?:\s+(?P<dpart>{PART})s?)?
      | (?P<part>{PART})
      | (?P<day>day)
      | (?P<week>week)
      | (?P<month>month)
    ){END}
    | \b(?P<adverb>daily|hourly|weekly|monthly|nightly){END}
    | \bon\s+(?P<plural>{WD}s(?:\s*(?:,|and|&)\s*{WD}s)*){END}
    | \bon\s+(?:(?P<weekdays>week\s?days)|(?P<weekends>weekends)){END}
    """,
    re.IGNORECASE | re.VERBOSE,
)
LATER = re.compile(
    rf"\b(?:in|within|after)\s+(?P<dur>{DURATION}){END}"
    rf"|\b(?P<bare>{DURATION})\s+(?:from\s+now|later){END}",
    re.IGNORECASE,
)
SPAN = re.compile(rf"\b(?P<dur>{DURATION}){END}", re.IGNORECASE)
DATE = re.compile(
    rf"""\b(?:on\s+)?(?:the\s+)?(?:
        (?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{MONTH})
      | (?P<m2>{MONTH})\s+(?:the\s+)?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?
    )(?:,?\s+(?P<year>\d{{4}}))?{END}""",
    re.IGNORECASE | re.VERBOSE,
)
DAY = re.compile(
    rf"""\b(?:
        (?P<after>(?:the\s+)?day\s+after\s+tomorrow)
      | (?P<tomorrow>tomorrow)
      | (?P<tonight>tonight)
      | (?:later\s+)?(?P<today>today)
      | this\s+(?P<this>morning|afternoon|evening)
      | (?:on\s+|this\s+|next\s+|coming\s+|this\s+coming\s+)?(?P<wd>{WD})
    )(?:\s+(?:at\s+)?(?P<part>{PART}))?{END}""",
    re.IGNORECASE | re.VERBOSE,
)
CLOCK = re.compile(
    rf"""(?:\b(?P<lead>at|by)\s+(?:around\s+|about\s+)?)?\b(?:
        (?P<noon>noon|midday|midnight)
      | (?P<rel>half|(?:a\s+)?quarter|{NUM})\s+(?:minutes?\s+)?(?P<dir>past|after|to|before)
        \s+(?P<rh>{HOUR})
      | (?P<h>{HOUR})(?:[:.](?P<m>[0-5]\d)|\s+(?P<mw>oh\s+(?:{NUM})|{NUM}))?
    )(?:\s*(?P<ap>[ap])\.?\s?m\.?|\s+(?P<oclock>o'?clock))?{END}""",
    re.IGNORECASE | re.VERBOSE,
)
IN_PART = re.compile(
    rf"\b(?:in\s+the\s+(?P<part>morning|afternoon|evening)|(?P<night>at\s+night)){END}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class When:
    """A due time (timezone-aware, in the user's zone), and a recurrence (an RRULE, or
    "" for once). ``spans`` are where the time words were; ``delta`` is set for "in N
    minutes" (the reply can say how long)."""

    due: datetime
    recurrence: str = ""
    spans: tuple[tuple[int, int], ...] = ()
    delta: timedelta | None = None


@dataclass(frozen=True)
class Clock:
    hour: int  # 0-23, or 24 for midnight at the end of the day
    minute: int
    ambiguous: bool  # a bare hour 1-12 without am/pm: 5 is 5:00 or 17:00


def number(words: str) -> int | None:
    """ "twenty-five", "25", "an" → 25, 25, 1; anything else → None."""
    words = " ".join(words.lower().replace("-", " ").split())
    if words.isdigit():
        return int(words)
    if words in WORDS:
        return WORDS[words]
    tens, _, unit = words.partition(" ")
    if tens in TENS and unit in SMALL[:9]:
        return TENS[tens] + SMALL.index(unit) + 1
    if words == "a couple of":
        return 2
    if words == "a few":
        return 3
    return None


def duration(words: str) -> timedelta | None:
    """ "twenty minutes", "2 hours and 10 minutes", "half an hour", "10-minute"."""
    total = timedelta()
    for piece in re.finditer(_PIECE, words, re.IGNORECASE):
        text = " ".join(piece.group().lower().replace("-", " ").split())
        if text.startswith(("half an", "half a ")):
            total += timedelta(minutes=30)
        elif "quarter of" in text:
            total += timedelta(minutes=15)
        elif text.endswith("hour and a half"):
            total += timedelta(minutes=90)
        else:
            amount_unit = _AMOUNT_UNIT.match(text.replace(" and a half", ""))
            if amount_unit is None:
                return None
            amount = number(amount_unit.group(1))
            step = UNIT[amount_unit.group(2).removesuffix("s")]
            if amount is None:
                return None
            total += step * amount + (step / 2 if " and a half" in text else timedelta())
    return total if total > timedelta() else None


def _clock(match: re.Match[str], bare: bool = False) -> Clock | None:
    """A clock match as a time of day, or None when it is not one: "at 3" is, a bare "3"
    is not ("call 3 people"), unless ``bare`` (a field that holds only a time)."""
    g = match.groupdict()
    if g["noon"]:
        return Clock(24 if g["noon"].lower() == "midnight" else 12, 0, False)
    marked = bare or bool(g["lead"] or g["m"] or g["ap"] or g["oclock"])
    if g["rel"]:
        rel = g["rel"].lower()
        before = g["dir"].lower() in ("to", "before")
        if before and not (g["lead"] or rel == "half" or "quarter" in rel):
            return None  # "two to three days" is not 2:57
        hour = number(g["rh"])
        minutes = 30 if rel == "half" else 15 if "quarter" in rel else number(rel)
        if hour is None or minutes is None or not 0 < minutes < 60 or hour > 12:
            return None
        if before:
            hour, minutes = (hour - 1) or 12, 60 - minutes
        return _with_ampm(hour, minutes, g["ap"])
    if not marked or (g["mw"] and not (g["lead"] or bare)):
        return None
    hour = number(g["h"])
    minute = int(g["m"]) if g["m"] else 0
    if g["mw"]:
        spoken = g["mw"].lower().removeprefix("oh").strip()
        minute = number(spoken) or 0
        if not 0 < minute < 60:
            return None
    if hour is None or hour > 23:
        return None
    if g["ap"]:
        return _with_ampm(hour, minute, g["ap"]) if 1 <= hour <= 12 else None
    explicit = hour == 0 or hour > 12 or g["h"].startswith("0")
    return Clock(hour, minute, ambiguous=not explicit)


def _with_ampm(hour: int, minute: int, ap: str | None) -> Clock:
    if not ap:
        return Clock(hour, minute, ambiguous=True)
    return Clock(hour % 12 + (12 if ap.lower() == "p" else 0), minute, False)


def _in_part(clock: Clock, part: str) -> Clock:
    """ "at 8 in the morning", "tonight at 11": the part of the day settles am or pm."""
    if not clock.ambiguous:
        return clock
    if part == "morning":
        return Clock(clock.hour % 12, clock.minute, False)
    if part == "night" and clock.hour == 12:
        return Clock(24, clock.minute, False)
    return Clock(clock.hour % 12 + 12, clock.minute, False)


def _daytime_hour(clock: Clock) -> int:
    """An ambiguous hour as its daytime one (for rules): 7-11 am, 12 noon, 1-6 pm."""
    if not clock.ambiguous:
        return clock.hour
    hour = clock.hour % 12
    return hour if hour in DAYTIME else hour + 12


def _at(day: date, clock: Clock, zone: ZoneInfo) -> datetime:
    if clock.hour == 24:
        return local(day + timedelta(days=1), time(0, clock.minute), zone)
    return local(day, time(clock.hour, clock.minute), zone)


def _choose(days: list[date], clock: Clock, now: datetime) -> datetime:
    """The moment for a clock time on one of ``days``: the first one ahead, preferring
    daytime for an ambiguous hour; if all have passed, the daytime one on the first day."""
    zone = _zone(now)
    hours = [clock.hour]
    if clock.ambiguous:
        hours = sorted({clock.hour % 12, clock.hour % 12 + 12})
    options = [_at(d, Clock(h, clock.minute, False), zone) for d in days for h in hours]
    ahead = [o for o in options if o.astimezone(UTC) > now.astimezone(UTC)]
    for pool in ([o for o in ahead if o.hour in DAYTIME], ahead):
        if pool:
            return pool[0]
    daytime = [o for o in options if o.hour in DAYTIME]
    return (daytime or options)[0]


def _zone(moment: datetime) -> ZoneInfo:
    zone = moment.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise ValueError("times need a ZoneInfo timezone")
    return zone


def _rule(match: re.Match[str], clock: Clock | None, part: str, now: datetime) -> Rule:
    g = {k: (v or "").lower() for k, v in match.groupdict().items()}
    adverb = g["adverb"]
    if g["unit"] or adverb == "hourly":
        freq = "MINUTELY" if g["unit"] == "minute" else "HOURLY"
        return Rule(freq, interval=(number(g["n"]) or 1) if g["n"] else 1)
    part = g["dpart"] or g["part"] or ("night" if adverb == "nightly" else "") or part
    if clock is not None and part:
        clock = _in_part(clock, part)
    at = (
        time(_daytime_hour(clock) % 24, clock.minute)
        if clock is not None
        else PARTS.get(part, DEFAULT_TIME)
    )
    if g["weekday"] or g["weekdays"]:
        return Rule("WEEKLY", days=(0, 1, 2, 3, 4), hour=at.hour, minute=at.minute)
    if g["weekend"] or g["weekends"]:
        return Rule("WEEKLY", days=(5, 6), hour=at.hour, minute=at.minute)
    names = g["days"] or g["plural"]
    if names:
        days = tuple(sorted({WEEKDAYS[d] for d in re.findall(WD, names)}))
        return Rule("WEEKLY", days=days, hour=at.hour, minute=at.minute)
    if g["week"] or adverb == "weekly":
        return Rule("WEEKLY", days=(now.weekday(),), hour=at.hour, minute=at.minute)
    if g["month"] or adverb == "monthly":
        return Rule("MONTHLY", month_day=now.day, hour=at.hour, minute=at.minute)
    return Rule("DAILY", hour=at.hour, minute=at.minute)


class _Text:
    """The sentence, with each part found blanked out so the next search skips it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[tuple[int, int]] = []

    def find(
        self, pattern: re.Pattern[str], accept: Callable[[re.Match[str]], object] | None = None
    ) -> re.Match[str] | None:
        for match in pattern.finditer(self.text):
            if accept is None or accept(match) is not None:
                start, end = match.span()
                self.text = self.text[:start] + " " * (end - start) + self.text[end:]
                self.spans.append((start, end))
                return match
        return None


def find_when(text: str, now: datetime, bare: bool = False) -> When | None:
    """The time in a sentence, or None when it names none (or one too vague: "later").
    With ``bare`` a number on its own is an hour ("tomorrow 9"): for a field that holds
    only a time."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = _zone(now)
    words = _Text(text)
    recurring = words.find(RECURRING)
    later = None if recurring else words.find(LATER)
    dated = words.find(DATE, lambda m: _date(m, now))
    day = None if dated else words.find(DAY)
    clock_match = words.find(CLOCK, lambda m: _clock(m, bare))
    clock = _clock(clock_match, bare) if clock_match else None
    in_part = words.find(IN_PART)
    part = ""
    if day and day.group("part"):
        part = day.group("part").lower()
    elif day and (day.group("tonight") or day.group("this")):
        part = "night" if day.group("tonight") else day.group("this").lower()
    elif in_part:
        part = (in_part.group("part") or "night").lower()
    spans = tuple(sorted(words.spans))

    if recurring:
        rule = _rule(recurring, clock, part, now)
        return When(next_occurrence(rule, now, zone), str(rule), spans)
    if later:
        delta = duration(later.group("dur") or later.group("bare"))
        if delta is None:
            return None
        if delta % timedelta(days=1) or clock is None:
            if delta < timedelta(days=1):
                due = now.astimezone(UTC) + delta
                return When(due.astimezone(zone).replace(microsecond=0), "", spans, delta)
            moment = local(now.date() + timedelta(days=delta.days), now.time(), zone)
            rest = delta - timedelta(days=delta.days)
            due = (moment.astimezone(UTC) + rest).astimezone(zone).replace(microsecond=0)
            return When(due, "", spans, delta)
        return When(_choose([now.date() + delta], clock, now), "", spans)
    if clock is not None and part:
        clock = _in_part(clock, part)
    on = _date(dated, now) if dated else _day(day, now) if day else None
    if on is None:
        soon = [now.date(), now.date() + timedelta(days=1)]
        if clock is not None:
            return When(_choose(soon, clock, now), "", spans)
        if part:  # "in the evening": the next one
            return When(_choose(soon, Clock(PARTS[part].hour, 0, False), now), "", spans)
        return None
    if clock is None:
        if day is not None and day.group("today") and not part:
            return None  # "today" needs a time
        clock = Clock((PARTS[part] if part else DEFAULT_TIME).hour, 0, False)
    return When(_choose([on], clock, now), "", spans)


def _date(match: re.Match[str], now: datetime) -> date | None:
    g = match.groupdict()
    month = MONTHS[(g["m1"] or g["m2"]).lower().rstrip(".")]
    day = int(g["d1"] or g["d2"])
    year = int(g["year"]) if g["year"] else now.year
    try:
        found = date(year, month, day)
        if not g["year"] and found < now.date():
            found = date(year + 1, month, day)
    except ValueError:
        return None  # 31 February
    return found


def _day(match: re.Match[str], now: datetime) -> date:
    today = now.date()
    if match.group("after"):
        return today + timedelta(days=2)
    if match.group("tomorrow"):
        return today + timedelta(days=1)
    if match.group("wd"):
        ahead = (WEEKDAYS[match.group("wd").lower()] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return today


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def parse_when(words: str, now: datetime) -> When | None:
    """A field that holds only a time: ISO 8601 ("2027-03-03T17:00+00:00"; without an
    offset, in the user's zone) or words ("tomorrow at 8", "5pm", "17:30")."""
    words = words.strip()
    zone = _zone(now)
    if ISO_DATE.match(words) or ISO_TIME.match(words):
        try:
            moment = datetime.fromisoformat(words)
        except ValueError:
            return None
        if ISO_DATE.match(words):
            moment = moment.replace(hour=DEFAULT_TIME.hour)
        if moment.tzinfo is None:
            return When(local(moment.date(), moment.time(), zone))
        return When(moment.astimezone(zone))
    if SPAN.fullmatch(words):  # "20 minutes": from now (else 20 would be an hour)
        delta = duration(words)
        if delta is not None:
            return find_when(f"in {words}", now)
    return find_when(words, now, bare=True)
