"""The journal entry: complete sentences about what the user said, whatever the model
writes; and a persona whose interests and counts read as a person would write them."""

from __future__ import annotations

from os1.cli.manage import _persona_text
from os1.domain import Turn
from os1.llm.scripted import ScriptedBackend, ScriptedToolBackend
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind.templates import counted
from os1.skills.reflection.journal import grounded, reflect
from tests.skills.reflection.conversation import (
    ASKING,
    COMPANION,
    EVENING,
    USER,
    assert_complete_sentences,
    record,
    set_up,
)

# What the embedded base model wrote once: invented, and cut off mid-sentence.
CUT_SHORT = " that Marisol was at the beach with her friend Jo and she said:"


def test_entry_retells_the_session_in_complete_sentences(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    persona = reflect(store, ScriptedBackend([CUT_SHORT]), session)
    assert persona is not None
    entry = persona.journal[-1].text
    assert_complete_sentences(entry)
    assert entry.startswith(f"Today {USER} told me ")
    assert "Tomas" in entry and "pottery" in entry
    assert "beach" not in entry and "said:" not in entry  # the model's words were dropped
    assert "?" not in entry and " my " not in entry and " I'm " not in entry
    assert len(entry) < 600


def test_a_grounded_feeling_from_the_model_is_kept(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    persona = reflect(store, ScriptedBackend([" proud of Marisol and the pottery bowl."]), session)
    assert persona is not None
    entry = persona.journal[-1].text
    assert entry.endswith("I felt proud of Marisol and the pottery bowl.")
    assert_complete_sentences(entry)


def test_an_invented_feeling_is_dropped() -> None:
    turns: list[Turn] = []  # nothing said: every content word is invented
    assert not grounded("I felt glad she won the lottery.", turns, [USER, COMPANION])
    assert not grounded("I felt glad and she said:", turns, [USER, COMPANION])
    assert not grounded("I felt it.", turns, [USER, COMPANION])  # no feeling in it
    assert not grounded("I felt sad for her.", turns, [USER, COMPANION])  # who is "her"?
    assert grounded("I felt glad we talked today.", turns, [USER, COMPANION])


def test_a_capable_model_writes_the_entry_cut_to_complete_sentences(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    written = (
        "**Journal, 2 March**\n\nMarisol told me her brother Tomas is moving to Lisbon. "
        "I am glad her pottery bowl came out well. And then she"
    )
    model = ScriptedToolBackend([written])
    persona = reflect(store, model, session)
    assert persona is not None
    entry = persona.journal[-1].text
    assert entry == (
        "Marisol told me her brother Tomas is moving to Lisbon. "
        "I am glad her pottery bowl came out well."
    )
    asked = model.prompts[-1].chat[-1].content
    assert "pottery class tonight" in asked and "That's big news" not in asked
    assert "What should I name it" not in asked  # questions are not what the user told


def test_questions_only_make_a_plain_entry_and_no_interests(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, ASKING)
    persona = reflect(store, ScriptedBackend([CUT_SHORT]), session)
    assert persona is not None
    assert persona.journal[-1].text == f"Today {USER} mostly asked me questions."
    assert persona.interests == []


def test_interests_exclude_question_words_and_names(store: SQLiteStore) -> None:
    set_up(store)
    grown = store.persona()
    assert grown is not None
    # A version written before these rules, with a question's words as interests.
    grown.interests = ["papers", "name", "remember", COMPANION.lower()]
    store.save_persona(grown, "an older reflection")
    session = record(store, EVENING)
    persona = reflect(store, ScriptedBackend([CUT_SHORT]), session)
    assert persona is not None
    assert persona.interests[0] == "pottery" and "papers" in persona.interests
    lowered = {i.lower() for i in persona.interests}
    assert not lowered & {"name", "remember", "what", "wren", "marisol", "tomas", "lisbon"}


def test_counts_read_naturally(store: SQLiteStore) -> None:
    assert counted(1, "session") == "1 session"
    assert counted(3, "session") == "3 sessions"
    assert counted(0, "question") == "0 questions"
    set_up(store)
    first = record(store, EVENING)
    persona = reflect(store, ScriptedBackend([CUT_SHORT]), first)
    assert persona is not None
    shown = _persona_text(persona).plain
    assert "1 session together" in shown and "1 sessions" not in shown
    persona = reflect(store, ScriptedBackend([CUT_SHORT]), record(store, ASKING, week=1))
    assert persona is not None
    assert "2 sessions together" in _persona_text(persona).plain
