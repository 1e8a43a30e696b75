"""Relative dates made absolute against the day they were said."""

from __future__ import annotations

from datetime import datetime

from os1.skills.recollection.dates import dated, has_time
from os1.skills.recollection.telling import second_person, told_back, when_said

# A Tuesday.
TOLD = datetime(2031, 3, 11, 20, 0)


def test_a_past_weekday_is_the_one_before() -> None:
    assert dated("She arrived on Sunday.", TOLD) == "She arrived on Sunday (Sunday 9 March)."


def test_a_coming_weekday_is_the_one_after() -> None:
    assert (
        dated("The audition is on Thursday.", TOLD)
        == "The audition is on Thursday (Thursday 13 March)."
    )
    assert "(Monday 10 March)" in dated("I saw it yesterday", TOLD)
    assert "(Wednesday 12 March)" in dated("we leave tomorrow", TOLD)


def test_so_long_ago() -> None:
    assert "(Tuesday 25 February)" in dated("I started two weeks ago today", TOLD)
    assert "(January 2031)" in dated("We moved two months ago", TOLD)
    assert "(2030)" in dated("I quit a year ago", TOLD)


def test_habits_and_plain_text_are_left_alone() -> None:
    assert dated("Tuesdays are always long.", TOLD) == "Tuesdays are always long."
    assert dated("No date here.", TOLD) == "No date here."
    assert has_time("on the 23rd") and has_time("in May") and not has_time("a red kite")


def test_the_users_words_are_turned_round() -> None:
    assert (
        second_person("I'm a welder and my van is blue.") == "You're a welder and your van is blue."
    )
    assert (
        second_person("I was born here, we moved later.") == "You were born here, you moved later."
    )
    assert (
        told_back("My cat, Pip, hid on Sunday", TOLD)
        == "Your cat, Pip, hid on Sunday (Sunday 9 March)."
    )
    assert when_said(TOLD, datetime(2031, 5, 1)) == "on Tuesday 11 March"
    assert when_said(TOLD, datetime(2032, 5, 1)) == "on Tuesday 11 March 2031"
