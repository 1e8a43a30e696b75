"""Time in what people say, and recurring times across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.skills.reminders.recurrence import Rule, next_occurrence
from os1.skills.reminders.when import duration, find_when, number, parse_when

LONDON = ZoneInfo("Europe/London")
# Wednesday 24 March 2027, 10:00 in London (GMT; the clocks go forward on Sunday 28th).
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=LONDON)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)  # type: ignore[misc]


def due(words: str, now: datetime = NOW) -> datetime | None:
    found = find_when(words, now)
    return None if found is None else found.due


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("at 5pm", at(2027, 3, 24, 17)),
        ("at 5 p.m.", at(2027, 3, 24, 17)),
        ("at 17:30", at(2027, 3, 24, 17, 30)),
        ("at 5.30pm", at(2027, 3, 24, 17, 30)),
        ("at 9am", at(2027, 3, 25, 9)),  # 9 am today has passed
        ("at noon", at(2027, 3, 24, 12)),
        ("at midnight", at(2027, 3, 25, 0)),
        ("at half past five", at(2027, 3, 24, 17, 30)),
        ("at quarter to six", at(2027, 3, 24, 17, 45)),
        ("at ten to six", at(2027, 3, 24, 17, 50)),
        ("at five thirty", at(2027, 3, 24, 17, 30)),
        ("at 8 in the morning", at(2027, 3, 25, 8)),
        ("at 06:00", at(2027, 3, 25, 6)),  # a leading zero is a 24-hour time
    ],
)
def test_clock_times(words: str, expected: datetime) -> None:
    assert due(words) == expected


@pytest.mark.parametrize(
    ("now", "words", "expected"),
    [
        (NOW, "at five", at(2027, 3, 24, 17)),  # 5 am has passed
        (at(2027, 3, 24, 3), "at five", at(2027, 3, 24, 17)),  # 5 am is not daytime
        (at(2027, 3, 24, 7), "at 8", at(2027, 3, 24, 8)),
        (at(2027, 3, 24, 9), "at 8", at(2027, 3, 24, 20)),
        (at(2027, 3, 24, 22), "at nine", at(2027, 3, 25, 9)),
        (NOW, "at 12", at(2027, 3, 24, 12)),
        (NOW, "at 7", at(2027, 3, 24, 19)),
    ],
)
def test_a_bare_hour_is_the_next_daytime_one(now: datetime, words: str, expected: datetime) -> None:
    assert due(words, now) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("in twenty minutes", NOW + timedelta(minutes=20)),
        ("in 1 minute", NOW + timedelta(minutes=1)),
        ("in a minute", NOW + timedelta(minutes=1)),
        ("in an hour", NOW + timedelta(hours=1)),
        ("in half an hour", NOW + timedelta(minutes=30)),
        ("in an hour and a half", NOW + timedelta(minutes=90)),
        ("in 2 hours and 10 minutes", NOW + timedelta(hours=2, minutes=10)),
        ("in twenty-five minutes", NOW + timedelta(minutes=25)),
        ("in 10minutes", NOW + timedelta(minutes=10)),
        ("ten minutes from now", NOW + timedelta(minutes=10)),
        ("in 2 days", at(2027, 3, 26, 10)),
        ("in 2 days at 9", at(2027, 3, 26, 9)),
    ],
)
def test_durations(words: str, expected: datetime) -> None:
    found = find_when(words, NOW)
    assert found is not None and found.due == expected


def test_a_duration_counts_real_time_across_the_change() -> None:
    # 00:30 GMT on the 28th, plus two hours, is 03:30 BST: the clock skipped an hour.
    night = at(2027, 3, 28, 0, 30)
    found = due("in 2 hours", night)
    assert found is not None
    assert found.astimezone(UTC) == night.astimezone(UTC) + timedelta(hours=2)
    assert (found.hour, found.minute) == (3, 30)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tomorrow", at(2027, 3, 25, 9)),
        ("tomorrow morning", at(2027, 3, 25, 9)),
        ("tomorrow at 8", at(2027, 3, 25, 8)),
        ("at 3 tomorrow", at(2027, 3, 25, 15)),
        ("tomorrow evening at 7", at(2027, 3, 25, 19)),
        ("tonight", at(2027, 3, 24, 20)),
        ("at five tonight", at(2027, 3, 24, 17)),
        ("this evening", at(2027, 3, 24, 18)),
        ("this afternoon", at(2027, 3, 24, 15)),
        ("today at 9", at(2027, 3, 24, 21)),
        ("the day after tomorrow", at(2027, 3, 26, 9)),
        ("on Friday at 10", at(2027, 3, 26, 10)),
        ("next Monday", at(2027, 3, 29, 9)),
        ("on Wednesday", at(2027, 3, 31, 9)),  # today is Wednesday: a week ahead
        ("next wednesday at 10am", at(2027, 3, 31, 10)),
        ("on 3 March at noon", at(2028, 3, 3, 12)),  # passed this year
        ("on the 3rd of April at 4pm", at(2027, 4, 3, 16)),
        ("on March 3rd 2029", at(2029, 3, 3, 9)),
        ("april 1", at(2027, 4, 1, 9)),
    ],
)
def test_days(words: str, expected: datetime) -> None:
    assert due(words) == expected


@pytest.mark.parametrize(
    ("words", "rule", "first"),
    [
        ("every Monday at 9", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", at(2027, 3, 29, 9)),
        ("every day at 7", "FREQ=DAILY;BYHOUR=7;BYMINUTE=0", at(2027, 3, 25, 7)),
        ("daily at 7pm", "FREQ=DAILY;BYHOUR=19;BYMINUTE=0", at(2027, 3, 24, 19)),
        (
            "every weekday at 8",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0",
            at(2027, 3, 25, 8),
        ),
        ("on weekends at 10", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0", at(2027, 3, 27, 10)),
        (
            "every Monday and Thursday at 9",
            "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0",
            at(2027, 3, 25, 9),
        ),
        ("on Tuesdays", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=9;BYMINUTE=0", at(2027, 3, 30, 9)),
        ("every morning", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", at(2027, 3, 25, 9)),
        ("every evening", "FREQ=DAILY;BYHOUR=18;BYMINUTE=0", at(2027, 3, 24, 18)),
        ("every day at 5", "FREQ=DAILY;BYHOUR=17;BYMINUTE=0", at(2027, 3, 24, 17)),
        ("every hour", "FREQ=HOURLY", NOW + timedelta(hours=1)),
        ("every 15 minutes", "FREQ=MINUTELY;INTERVAL=15", NOW + timedelta(minutes=15)),
        ("every month", "FREQ=MONTHLY;BYMONTHDAY=24;BYHOUR=9;BYMINUTE=0", at(2027, 4, 24, 9)),
    ],
)
def test_recurring(words: str, rule: str, first: datetime) -> None:
    found = find_when(words, NOW)
    assert found is not None
    assert (found.recurrence, found.due) == (rule, first)


@pytest.mark.parametrize(
    "words", ["call 3 people", "later", "today", "every other day", "soon", "in two to three days"]
)
def test_no_time_or_too_vague(words: str) -> None:
    assert find_when(words, NOW) is None


def test_spans_say_where_the_time_words_are() -> None:
    text = "remind me to call Amy at five"
    found = find_when(text, NOW)
    assert found is not None
    assert [text[a:b] for a, b in found.spans] == ["at five"]
    text = "every Monday at 9 water the plants"
    found = find_when(text, NOW)
    assert found is not None
    assert [text[a:b] for a, b in found.spans] == ["every Monday", "at 9"]


def test_durations_reported() -> None:
    found = find_when("in 2 hours and 10 minutes", NOW)
    assert found is not None and found.delta == timedelta(hours=2, minutes=10)
    assert find_when("at 5pm", NOW).delta is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("words", "value"),
    [("five", 5), ("twenty-five", 25), ("twenty five", 25), ("sixty", 60), ("an", 1), ("x", None)],
)
def test_number_words(words: str, value: int | None) -> None:
    assert number(words) == value


def test_duration_words() -> None:
    assert duration("half an hour") == timedelta(minutes=30)
    assert duration("2 and a half hours") == timedelta(minutes=150)
    assert duration("a quarter of an hour") == timedelta(minutes=15)
    assert duration("90 seconds") == timedelta(seconds=90)
    assert duration("nothing") is None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("5", at(2027, 3, 24, 17)),
        ("17:30", at(2027, 3, 24, 17, 30)),
        ("tomorrow 9", at(2027, 3, 25, 9)),
        ("friday 10", at(2027, 3, 26, 10)),
        ("20 minutes", NOW + timedelta(minutes=20)),
        ("2027-03-30T17:00:00Z", at(2027, 3, 30, 18)),  # BST by then
        ("2027-03-30T17:00:00+02:00", at(2027, 3, 30, 16)),
        ("2027-04-01 08:00", at(2027, 4, 1, 8)),  # no offset: the user's zone
        ("2027-04-01", at(2027, 4, 1, 9)),
    ],
)
def test_a_field_holding_only_a_time(words: str, expected: datetime) -> None:
    found = parse_when(words, NOW)
    assert found is not None
    assert found.due == expected
    assert found.due.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("words", ["", "garbage", "2027-13-45T10:00"])
def test_a_field_without_a_time(words: str) -> None:
    assert parse_when(words, NOW) is None


def test_now_must_know_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find_when("at 5", datetime(2027, 3, 24, 10))


# --- recurrence across daylight saving -------------------------------------------------


def test_every_day_at_nine_stays_at_nine_when_the_clocks_go_forward() -> None:
    saturday = at(2027, 3, 27, 9)  # GMT: 09:00Z
    sunday = next_occurrence("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", saturday, LONDON, saturday)
    assert (sunday.day, sunday.hour, sunday.minute) == (28, 9, 0)
    assert sunday.utcoffset() == timedelta(hours=1)
    assert sunday.astimezone(UTC) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


def test_every_monday_at_nine_across_the_october_change() -> None:
    rule = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
    before = at(2027, 10, 25, 9)  # Monday, BST
    assert before.utcoffset() == timedelta(hours=1)
    after = next_occurrence(rule, before, LONDON, before)
    assert (after.month, after.day, after.hour) == (11, 1, 9)
    assert after.utcoffset() == timedelta(0)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=7, hours=1)


def test_a_time_the_clocks_skip_comes_an_hour_later() -> None:
    rule = Rule("DAILY", hour=1, minute=30)
    saturday = at(2027, 3, 27, 1, 30)
    sunday = next_occurrence(rule, saturday, LONDON, saturday)
    assert sunday.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert (sunday.hour, sunday.minute) == (2, 30)  # 1:30 did not happen that night
    monday = next_occurrence(rule, sunday, LONDON, sunday)
    assert (monday.day, monday.hour, monday.minute) == (29, 1, 30)


def test_every_hour_is_sixty_minutes_when_the_clocks_go_back() -> None:
    start = datetime(2027, 10, 31, 0, 30, tzinfo=UTC).astimezone(LONDON)  # 1:30 BST
    one = next_occurrence("FREQ=HOURLY", start, LONDON, start)
    assert one.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    assert (one.hour, one.minute, one.utcoffset()) == (1, 30, timedelta(0))  # 1:30 GMT


def test_missed_occurrences_are_skipped() -> None:
    rule = "FREQ=DAILY;BYHOUR=7;BYMINUTE=0"
    last = at(2027, 3, 20, 7)
    assert next_occurrence(rule, NOW, LONDON, last) == at(2027, 3, 25, 7)
    hourly = next_occurrence("FREQ=HOURLY;INTERVAL=2", NOW, LONDON, at(2027, 3, 24, 5))
    assert hourly == at(2027, 3, 24, 11)


def test_a_rule_without_a_time_keeps_the_previous_one() -> None:
    last = at(2027, 3, 22, 8, 15)  # a Monday
    assert next_occurrence("FREQ=WEEKLY", NOW, LONDON, last) == at(2027, 3, 29, 8, 15)
    assert next_occurrence("FREQ=MONTHLY", NOW, LONDON, at(2027, 3, 31, 9)) == at(2027, 5, 31, 9)


def test_rules_round_trip_and_bad_ones_say_why() -> None:
    text = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0"
    assert str(Rule.parse(text)) == text
    assert str(Rule.parse("RRULE:FREQ=HOURLY;INTERVAL=2")) == "FREQ=HOURLY;INTERVAL=2"
    for bad, why in [
        ("FREQ=YEARLY", "unsupported FREQ"),
        ("FREQ=DAILY;COUNT=3", "unsupported RRULE parts: COUNT"),
        ("FREQ=DAILY;INTERVAL=2", "INTERVAL"),
        ("FREQ=WEEKLY;BYDAY=XX", "bad RRULE"),
        ("FREQ=DAILY;BYHOUR=25", "BYHOUR"),
        ("nonsense", "not an RRULE part"),
    ]:
        with pytest.raises(ValueError, match=why):
            Rule.parse(bad)
