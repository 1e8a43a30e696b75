"""The companion benchmark's scoring, as FORMAT.md gives it, and its rule for facts."""

from __future__ import annotations

from datetime import UTC, datetime

from os1.domain import Fact, Role, Turn, TurnStatus
from os1.evaluation.companion import Probe, contains, correct, fact_true

AT = datetime(2031, 1, 1, tzinfo=UTC)


def test_phrases_match_as_whole_words() -> None:
    assert contains("I love chai, always.", "chai")
    assert not contains("a comfy chair", "chai")
    assert contains("It was on 9 April.", "9 april")
    assert not contains("It was on 19 April.", "9 april")
    assert contains("Dr. Nguyen is lovely", "dr nguyen")


def test_expectations() -> None:
    probe = Probe("p", "update", "Where now?", ("Portland",), ("Boston",))
    assert correct(probe, "You live in Portland now.", "Ines", "Odile")
    assert not correct(probe, "Portland, not Boston.", "Ines", "Odile")
    assert correct(Probe("p", "identity", "?", expect="self_name"), "I'm Ines.", "Ines", "Odile")
    assert correct(
        Probe("p", "identity", "?", expect="user_name"), "You're Odile.", "Ines", "Odile"
    )
    abstain = Probe("p", "unknown", "?", expect="abstain")
    assert correct(abstain, "You haven't told me that yet.", "Ines", "Odile")
    assert not correct(abstain, "It's Rex.", "Ines", "Odile")


def turn(text: str, role: Role = Role.USER) -> Turn:
    return Turn(1, 1, role, "Odile", text, AT, TurnStatus.COMPLETE)


def fact(subject: str, value: str) -> Fact:
    return Fact(1, "relationship", subject, "brother", value, 0.5, AT, None, None, (1,))


def test_the_rule_for_facts() -> None:
    said = turn("My brother Anselm keeps bees.")
    assert fact_true(fact("Odile", "Anselm"), [said], "Odile")
    assert not fact_true(fact("Odile", "Bertrand"), [said], "Odile")  # not in the turn
    assert not fact_true(fact("Odile", "Anselm"), [turn("Is Anselm my brother?")], "Odile")
    companion = turn("Your brother Anselm keeps bees.", Role.COMPANION)
    assert not fact_true(fact("Odile", "Anselm"), [companion], "Odile")
    assert not fact_true(fact("Zoe", "Anselm"), [said], "Odile")  # someone not in the turn
