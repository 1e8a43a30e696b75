"""Taking a reminder request apart, and saying reminders back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.skills.reminders.requests import cancel_about, content_words, split_request
from os1.skills.reminders.speech import (
    describe,
    describe_rule,
    duration_words,
    spoken,
    timer_name,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=LONDON)  # a Wednesday


@pytest.mark.parametrize(
    ("message", "text", "link", "due"),
    [
        ("remind me to call Amy at five", "call Amy", "to", datetime(2027, 3, 24, 17)),
        (
            "Can you remind me in twenty minutes to take the pizza out, please?",
            "take the pizza out",
            "to",
            datetime(2027, 3, 24, 10, 20),
        ),
        (
            "remind me every Monday at 9 to water the plants",
            "water the plants",
            "to",
            datetime(2027, 3, 29, 9),
        ),
        (
            "remind me about the dentist tomorrow morning",
            "the dentist",
            "about",
            datetime(2027, 3, 25, 9),
        ),
        (
            "remind me that I need to call the bank on Friday at 10",
            "I need to call the bank",
            "that",
            datetime(2027, 3, 26, 10),
        ),
        (
            "set a reminder for 5pm to pick up the kids",
            "pick up the kids",
            "to",
            datetime(2027, 3, 24, 17),
        ),
        ("don't let me forget to buy milk tonight", "buy milk", "to", datetime(2027, 3, 24, 20)),
        ("remind me to call my mum at 5", "call my mum", "to", datetime(2027, 3, 24, 17)),
        ("remind me to buy 3 lemons at 6pm", "buy 3 lemons", "to", datetime(2027, 3, 24, 18)),
        ("remind me at five to call Amy", "call Amy", "to", datetime(2027, 3, 24, 17)),
        ("remind me at ten to six to leave", "leave", "to", datetime(2027, 3, 24, 17, 50)),
        ("remind me on Friday to pay the rent", "pay the rent", "to", datetime(2027, 3, 26, 9)),
        (
            "hey Samantha, remind me to feed the cat at 6pm, thanks!",
            "feed the cat",
            "to",
            datetime(2027, 3, 24, 18),
        ),
        (
            "remind me next Tuesday at 2 about the meeting with Bob",
            "the meeting with Bob",
            "about",
            datetime(2027, 3, 30, 14),
        ),
    ],
)
def test_what_and_when(message: str, text: str, link: str, due: datetime) -> None:
    request = split_request(message, NOW)
    assert (request.text, request.link, request.timer) == (text, link, False)
    assert request.when is not None
    assert request.when.due == due.replace(tzinfo=LONDON)


def test_no_time_and_no_text() -> None:
    request = split_request("remind me to call Amy", NOW)
    assert (request.text, request.when) == ("call Amy", None)
    request = split_request("remind me at 5", NOW)
    assert request.text == ""
    assert request.when is not None


@pytest.mark.parametrize(
    ("message", "text", "minutes"),
    [
        ("set a timer for 10 minutes", "10-minute timer", 10),
        ("start a 5 minute timer", "5-minute timer", 5),
        ("set a pasta timer for 8 minutes", "8-minute pasta timer", 8),
        ("timer for an hour and a half", "timer for 1 hour and 30 minutes", 90),
    ],
)
def test_timers(message: str, text: str, minutes: int) -> None:
    request = split_request(message, NOW)
    assert (request.text, request.timer) == (text, True)
    assert request.when is not None
    assert request.when.due == NOW + timedelta(minutes=minutes)


def test_a_timer_without_a_length() -> None:
    request = split_request("start a timer", NOW)
    assert request.timer
    assert request.when is None


@pytest.mark.parametrize(
    ("message", "about"),
    [
        ("cancel the one about Amy", "Amy"),
        ("cancel my reminder to call Amy", "call Amy"),
        ("delete the stretching reminder", "stretching"),
        ("don't remind me about the dentist", "the dentist"),
        ("stop the pasta timer", "pasta"),
        ("cancel the timer", ""),
        ("cancel my reminder", ""),
        ("cancel reminder 3", "3"),
    ],
)
def test_what_a_cancel_names(message: str, about: str) -> None:
    assert cancel_about(message) == about


def test_matching_words() -> None:
    assert content_words("delete the stretching reminder") == {"delete", "stretch"}
    assert content_words("water the plants") == {"water", "plant"}
    assert content_words("wash the glasses") == content_words("wash a glass")


@pytest.mark.parametrize(
    ("said", "back"),
    [
        ("call my mum", "call your mum"),
        ("I need to take my pills", "you need to take your pills"),
        ("I am seeing Paul", "you are seeing Paul"),
        ("tell me I'm brave", "tell you you're brave"),
        ("call Amy", "call Amy"),
    ],
)
def test_spoken_back(said: str, back: str) -> None:
    assert spoken(said) == back


@pytest.mark.parametrize(
    ("due", "words"),
    [
        (datetime(2027, 3, 24, 17), "at 5 pm today"),
        (datetime(2027, 3, 24, 12), "at noon today"),
        (datetime(2027, 3, 24, 20, 30), "at 8:30 pm tonight"),
        (datetime(2027, 3, 25, 0), "at midnight tonight"),
        (datetime(2027, 3, 25, 9), "at 9 am tomorrow"),
        (datetime(2027, 3, 26, 10), "on Friday at 10 am"),
        (datetime(2027, 4, 3, 12), "on 3 April at noon"),
        (datetime(2028, 3, 3, 12), "on 3 March 2028 at noon"),
    ],
)
def test_describe(due: datetime, words: str) -> None:
    assert describe(due.replace(tzinfo=LONDON), NOW) == words


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", "every Monday at 9 am"),
        ("FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=30", "every Monday and Thursday at 9:30 am"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0", "every weekday at 8 am"),
        ("FREQ=DAILY;BYHOUR=19;BYMINUTE=0", "every day at 7 pm"),
        ("FREQ=MONTHLY;BYMONTHDAY=3;BYHOUR=9;BYMINUTE=0", "every month on the 3rd at 9 am"),
        ("FREQ=HOURLY", "every hour"),
        ("FREQ=MINUTELY;INTERVAL=15", "every 15 minutes"),
    ],
)
def test_describe_rule(rule: str, words: str) -> None:
    assert describe_rule(rule, LONDON, first=NOW) == words


def test_durations_and_timer_names() -> None:
    assert duration_words(timedelta(hours=1, minutes=10)) == "1 hour and 10 minutes"
    assert duration_words(timedelta(seconds=30)) == "30 seconds"
    assert timer_name(timedelta(minutes=10)) == "10-minute timer"
    assert timer_name(timedelta(hours=1), "tea") == "1-hour tea timer"
