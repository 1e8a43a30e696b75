"""What counts as something ahead, and when it is: made-up sentences, Theodore's week
(Tuesday 10 March 2026, in London)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from os1.skills.followups.ahead import find_ahead
from os1.skills.followups.mentions import find_mentions, find_plans, gerund, past_mention

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=LONDON)  # a Tuesday


@pytest.mark.parametrize(
    ("words", "first", "last"),
    [
        ("tomorrow", date(2026, 3, 11), date(2026, 3, 11)),
        ("the day after tomorrow", date(2026, 3, 12), date(2026, 3, 12)),
        ("tonight", date(2026, 3, 10), date(2026, 3, 10)),
        ("on Thursday", date(2026, 3, 12), date(2026, 3, 12)),
        ("next Thursday", date(2026, 3, 12), date(2026, 3, 12)),
        ("on Tuesday", date(2026, 3, 17), date(2026, 3, 17)),  # today's weekday: next week
        ("Saturday night", date(2026, 3, 14), date(2026, 3, 14)),
        ("this weekend", date(2026, 3, 14), date(2026, 3, 15)),
        ("next weekend", date(2026, 3, 21), date(2026, 3, 22)),
        ("next week", date(2026, 3, 16), date(2026, 3, 22)),
        ("next month", date(2026, 4, 1), date(2026, 4, 30)),
        ("in two weeks", date(2026, 3, 24), date(2026, 3, 24)),
        ("in 3 days", date(2026, 3, 13), date(2026, 3, 13)),
        ("on the 23rd", date(2026, 3, 23), date(2026, 3, 23)),
        ("on the 5th", date(2026, 4, 5), date(2026, 4, 5)),
        ("on 3 March", date(2027, 3, 3), date(2027, 3, 3)),  # passed this year
        ("March 20th", date(2026, 3, 20), date(2026, 3, 20)),
    ],
)
def test_time_words_are_days_ahead(words: str, first: date, last: date) -> None:
    ahead = find_ahead(f"it is {words}, I think", NOW)
    assert ahead is not None, words
    assert (ahead.first, ahead.last) == (first, last)
    assert ahead.words.lower().endswith(words.lower().split()[-1])


def test_asked_from_the_morning_after() -> None:
    ahead = find_ahead("on Thursday", NOW)
    assert ahead is not None
    assert ahead.after(LONDON) == datetime(2026, 3, 13, 5, 0, tzinfo=LONDON)
    assert find_ahead("no time here at all", NOW) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        find_ahead("tomorrow", NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("message", "event", "first"),
    [
        (
            "I've got a job interview at Harbourside on Thursday.",
            "your job interview at Harbourside",
            date(2026, 3, 12),
        ),
        ("I have a date with Sam on Saturday", "your date with Sam", date(2026, 3, 14)),
        ("My sister's wedding is next week, I'm so excited!", "your sister's wedding", None),
        ("I'm signing the divorce papers next week.", "signing the divorce papers", None),
        ("I'm seeing my dad tomorrow", "seeing your dad", date(2026, 3, 11)),
        ("I have surgery on the 23rd.", "your surgery", date(2026, 3, 23)),
        ("I'm going to the dentist on Friday", "your dentist appointment", date(2026, 3, 13)),
        ("I'll meet Amy for lunch tomorrow", "meeting Amy for lunch", date(2026, 3, 11)),
        ("Our flight to Lisbon is on Sunday morning", "your flight to Lisbon", date(2026, 3, 15)),
        ("Amy and I are going to his recital on Friday", "his recital", date(2026, 3, 13)),
        ("I’m so nervous about the exam tomorrow", "your exam", date(2026, 3, 11)),
        (
            "Should I bring flowers? I have a date with Sam on Saturday.",
            "your date with Sam",
            date(2026, 3, 14),
        ),
    ],
)
def test_a_statement_about_something_ahead_is_noted(
    message: str, event: str, first: date | None
) -> None:
    [found] = find_mentions(message, NOW)
    assert found.event == event
    if first is not None:
        assert found.ahead.first == first


@pytest.mark.parametrize(
    "message",
    [
        "Should I go to the interview on Thursday?",
        "should I go to the interview on Thursday",
        "Do you think the date on Saturday will go well",
        "The date on Saturday went well.",
        "I had an interview yesterday and another one last Thursday.",
        "If I get an interview on Thursday I'll be thrilled.",
        "My interview was moved to Thursday.",
        "The party on Saturday was called off.",
        "Remind me about my interview on Thursday.",
        "I need to test it tomorrow.",
        "I'm working tomorrow.",
        "I'm meeting you tomorrow, aren't I",
        "Amy's party is on Saturday.",
        "I have an interview.",
    ],
)
def test_questions_the_past_and_maybes_note_nothing(message: str) -> None:
    assert find_mentions(message, NOW) == []


def test_two_things_in_one_message_are_two_mentions() -> None:
    found = find_mentions("I have a date with Sam on Saturday. And my exam is on Monday!", NOW)
    assert [(m.event, m.key, m.ahead.first) for m in found] == [
        ("your date with Sam", "date", date(2026, 3, 14)),
        ("your exam", "exam", date(2026, 3, 16)),
    ]


def test_telling_how_it_went() -> None:
    assert past_mention("The interview went really well!", "interview")
    assert not past_mention("How was the interview?", "interview")
    assert past_mention("The job interview's done, it went fine.", "job interview")
    assert not past_mention("The interviewer was late.", "interview")
    assert not past_mention("The date went well.", "interview")


def test_gerunds() -> None:
    assert [gerund(v) for v in ("sign", "move", "run", "see", "tie", "visit")] == [
        "signing",
        "moving",
        "running",
        "seeing",
        "tying",
        "visiting",
    ]


@pytest.mark.parametrize(
    ("message", "plan", "key"),
    [
        ("I should call my sister.", "call your sister", "sister"),
        ("I've been meaning to catch up with Amy for ages", "catch up with Amy", "amy"),
        ("I want to see my sister's husband soon", "see your sister's husband", "husband"),
        ("I'd like to take up climbing again, I think", "take up climbing again", "again"),
        ("Honestly I really should visit my dad and his dog", "visit your dad", "dad"),
    ],
)
def test_a_plan_with_no_day_is_noted_for_encouragement(message: str, plan: str, key: str) -> None:
    [found] = find_plans(message, NOW)
    assert (found.event, found.key) == (plan, key)
    assert found.ahead.first == found.ahead.last == NOW.date()


@pytest.mark.parametrize(
    "message",
    [
        "I want to see what happens.",
        "I should call you later",
        "Should I call my sister?",
        "I should call my sister tomorrow.",  # a day: not a plan to nudge
        "I called my sister.",
        "I don't want to see my dad.",
    ],
)
def test_no_plan(message: str) -> None:
    assert find_plans(message, NOW) == []
