"""Topics come from what the user states, never from questions or names."""

from __future__ import annotations

from os1.memory.storage.sqlite import SQLiteStore
from os1.skills.reflection.words import recurring, topics
from tests.skills.reflection.conversation import (
    ASKING,
    COMPANION,
    EVENING,
    LATER,
    USER,
    record,
    set_up,
)

NEVER = {"remember", "name", "what", "where", "memories", "wren", "marisol", "tomas", "lisbon"}


def test_topics_are_repeated_content_words(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    found = topics(store.turns(session), [COMPANION, USER])
    assert found[0] == "pottery"
    assert not NEVER & {w.lower() for w in found}


def test_questions_give_no_topics(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, ASKING)
    assert topics(store.turns(session), [COMPANION, USER]) == []


def test_recurring_words_across_sessions_never_name_the_companion(store: SQLiteStore) -> None:
    set_up(store)
    record(store, EVENING)
    record(store, LATER, week=1)
    found = {r.word: r.sessions for r in recurring(store.turns(), [COMPANION, USER])}
    assert found["pottery"] == 2
    assert found["Tomas"] == 2  # a person the user returns to is worth noticing
    assert COMPANION not in found and USER not in found
    assert not {"remember", "name", "what", "teacher"} & set(found)
