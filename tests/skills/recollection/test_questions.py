"""Which messages are questions about the user's own life, and what they ask."""

from __future__ import annotations

import pytest

from os1.skills.recollection.questions import identity, memory_question


@pytest.mark.parametrize(
    "text",
    [
        "Who's Marguerite again?",
        "what's my nephew called?",
        "Where am I working these days?",
        "whats my dogs name again",
        "Remind me, which town does my uncle live in?",
        "When is my sister's wedding?",
        "What did we name the goldfish?",
        "If you were buying me a present, what should you know about what I read?",
        "wait what am i learning again lol",
    ],
)
def test_questions_about_the_users_life_are_memory_questions(text: str) -> None:
    assert memory_question(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "What do you think I should do?",
        "Is that normal for a puppy?",
        "Any tips for sleeping better?",
        "How do you stay so calm?",
        "Guess who got the part!!!",
        "My brother, who is a nurse, finally called me back.",
        "What do people do on a rainy Sunday",
        "Can you believe it?",
        "I was thinking about what my aunt said, and I laughed.",
    ],
)
def test_other_messages_are_not(text: str) -> None:
    assert memory_question(text) is None


def test_identity_questions() -> None:
    assert identity("What's your name?") == "self"
    assert identity("what do i call you again?") == "self"
    assert identity("Do you remember my name?") == "user"
    assert identity("who am i?") == "user"
    # "Who am I going out with these days?" asks about the past, not the user's name.
    assert identity("who am i going out with these days?") is None
    assert identity("Tell me about your day.") is None


def test_what_a_question_asks() -> None:
    asked = memory_question("What date was my niece born?")
    assert asked is not None and asked.wants == "date"
    assert {"niec", "born"} <= set(asked.terms)
    asked = memory_question("Where does Ottilie live now?")
    assert asked is not None and asked.wants == "place" and asked.now
    assert asked.names == ("Ottilie",)
    asked = memory_question("What does Bram do for a living?")
    # "for a living" is about work, not where someone lives.
    assert asked is not None and "work" in asked.terms and "live" not in asked.terms


def test_modifiers_and_verbs_are_not_what_must_be_spoken_of() -> None:
    asked = memory_question("What date was my niece born?")
    assert asked is not None and asked.required == ("niec",)  # "born" is what happened
    asked = memory_question("What's my favourite thing to have with coffee?")
    # Only a modifier: the question names no subject to hold the evidence to.
    assert asked is not None and asked.subject == () and asked.required == ()
    asked = memory_question("What's my little brother studying?")
    assert asked is not None and asked.required == ("brother",)
    assert set(asked.subject) == {"littl", "brother"}


def test_in_laws_are_read_as_someone_elses_relation() -> None:
    for question, relation in [
        ("What's my mother-in-law's name?", "mother"),
        ("whats my son in law called", "husband"),
        ("Who is my sister in law?", "sister"),
    ]:
        asked = memory_question(question)
        assert asked is not None and asked.in_law == relation, question
    asked = memory_question("Where does my mum live?")
    assert asked is not None and asked.in_law == ""
