"""Session summaries say what the user stated; insights never name the companion."""

from __future__ import annotations

from os1.memory.storage.sqlite import SQLiteStore
from os1.skills.reflection.consolidation import consolidate, insights, summarize_session
from tests.skills.reflection.conversation import (
    ASKING,
    COMPANION,
    EVENING,
    LATER,
    USER,
    assert_complete_sentences,
    record,
    set_up,
)


def test_summary_condenses_the_users_statements(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    summary = summarize_session(store, session)
    assert summary is not None
    day, said = summary.text.split(": ", 1)
    assert day == "02 March 2026"
    assert said.startswith(f"{USER} said ")
    assert_complete_sentences(said)
    assert "?" not in said and "That's big news" not in said and "Maybe" not in said
    assert " my " not in said and "Tomas" in said
    assert len(said) < 400
    turns = {t.id: t for t in store.turns(session)}
    assert all(turns[i].speaker == USER for i in summary.source_turn_ids)
    assert [s.id for s in store.summaries.list(session_id=session)] == [summary.id]


def test_a_session_of_questions_is_summarised_as_such(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, ASKING)
    summary = summarize_session(store, session)
    assert summary is not None
    assert summary.text.endswith(f": {USER} asked 2 questions.")


def test_insights_never_name_the_companion(store: SQLiteStore) -> None:
    set_up(store)
    record(store, EVENING)
    record(store, LATER, week=1)
    found = [s.text for s in insights(store)]
    assert f"{USER} keeps coming back to pottery (2 sessions)." in found
    assert not any(COMPANION in text or COMPANION.lower() in text for text in found)
    for word in ("remember", "name", "what", "teacher"):
        assert not any(text.endswith(f"to {word} (2 sessions).") for text in found)


def test_consolidate_leaves_summaries_and_insights(store: SQLiteStore) -> None:
    set_up(store)
    first = record(store, EVENING)
    second = record(store, LATER, week=1)
    consolidate(store, first)
    consolidate(store, second)
    kinds = [s.kind for s in store.summaries.list()]
    assert kinds.count("session") == 2 and "insight" in kinds
    for summary in store.summaries.list():
        if summary.kind == "session":
            assert_complete_sentences(summary.text.split(": ", 1)[1])
