"""Participants' names in questions: removed for the dense query, found for the speaker
prior, matched as words (never compiled into a pattern per name)."""

from __future__ import annotations

import re

from os1.memory.recall.passages import mentioned, strip_names


def test_strip_names_removes_first_names_and_their_possessive() -> None:
    names = ["Caroline Smith", "Melanie"]
    assert strip_names("What did Caroline's mum say to melanie?", names) == "What did mum say to ?"
    assert strip_names("When did Carolina move?", names) == "When did Carolina move?"


def test_names_with_inner_punctuation_are_whole_words() -> None:
    assert strip_names("Did O'Brien call Mary-Jane’s sister?", ["O'Brien", "Mary-Jane"]) == (
        "Did call sister?"
    )
    # "Jo" is not in "Jo-Anne".
    assert strip_names("Is Jo-Anne coming?", ["Jo"]) == "Is Jo-Anne coming?"


def test_mentioned_finds_participants_by_first_name() -> None:
    names = ["Caroline Smith", "Melanie", "Jon"]
    assert mentioned("what did caroline's sister and MELANIE do?", names) == {
        "Caroline Smith",
        "Melanie",
    }
    assert mentioned("Jonathan called", names) == set()
    assert mentioned("anything", []) == set()


def test_thousands_of_names_leave_the_pattern_cache_alone() -> None:
    re.purge()
    for n in range(2000):
        strip_names(f"What did user{n} say?", [f"user{n}"])
        mentioned(f"Was user{n} there?", [f"user{n}"])
    # Compiling a pattern per name would have filled re's cache (512 entries).
    assert len(getattr(re, "_cache", {})) < 50
