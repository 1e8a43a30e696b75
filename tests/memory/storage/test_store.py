from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from os1.domain import Persona, Role, TurnStatus, UserProfile
from os1.memory.extraction import ExtractedFact
from os1.memory.storage.errors import StoreBusy, StoreError
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store


@pytest.fixture
def store(any_store: Store) -> Store:
    """The tests that take ``store`` run on SQLite and on PostgreSQL."""
    return any_store


@pytest.fixture
def sqlite_store(home: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(home / "os1.db")
    yield opened
    opened.close()


def test_database_is_in_wal_mode(sqlite_store: SQLiteStore) -> None:
    import sqlite3

    with sqlite3.connect(sqlite_store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_turns_keep_order_time_session_and_status(store: Store) -> None:
    session = store.start_session()
    first = store.add_turn(session.id, Role.USER, "Theodore", "Hello")
    second = store.add_turn(session.id, Role.COMPANION, "Samantha", "Hi", TurnStatus.INTERRUPTED)
    turns = store.turns(session.id)
    assert [t.id for t in turns] == [first.id, second.id]
    assert turns[1].status is TurnStatus.INTERRUPTED
    assert turns[0].created_at <= turns[1].created_at
    assert store.recent_turns(1) == [turns[1]]


def test_sessions_open_close_and_expire(store: Store) -> None:
    session = store.start_session()
    store.add_turn(session.id, Role.USER, "Theodore", "Hello")
    assert store.current_session(timedelta(minutes=30)) == session
    later = session.started_at + timedelta(hours=2)
    assert store.current_session(timedelta(minutes=30), at=later) is None
    store.end_session(session.id)
    assert store.unreflected_sessions()[0].id == session.id
    store.mark_reflected(session.id)
    assert store.unreflected_sessions() == []


def test_profile_and_every_persona_version_are_kept(store: Store) -> None:
    store.save_profile(UserProfile(name="Theodore", social="social", mother="complicated"))
    assert store.profile() == UserProfile(name="Theodore", social="social", mother="complicated")
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    store.save_persona(Persona(name="Samantha", voice="feminine", traits=["funny"]), "grew")
    history = store.persona_history()
    assert [reason for _, _, reason, _ in history] == ["first run", "grew"]
    current = store.persona()
    assert current is not None and current.traits == ["funny"]


def test_full_text_search_ignores_query_syntax(store: Store) -> None:
    session = store.start_session()
    store.add_turn(session.id, Role.USER, "Theodore", "Catherine wants the divorce papers signed")
    store.add_turn(session.id, Role.USER, "Theodore", "I went hiking on Sunday")
    hits = store.search_turns('divorce" OR (papers* NEAR', 5)
    assert hits[0][0].text.startswith("Catherine")
    assert store.search_turns("?!", 5) == []


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "os1.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="newer OS1"):
        SQLiteStore(path)


def test_garbage_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "os1.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable OS1 database"):
        SQLiteStore(path)
    assert path.read_bytes().startswith(b"this is not sqlite")


def test_database_locked_by_another_process_gives_clear_error(sqlite_store: SQLiteStore) -> None:
    store = sqlite_store
    session = store.start_session()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(store.path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        busy = SQLiteStore(store.path, busy_timeout_s=0.2)
        with pytest.raises(StoreBusy, match="locked by another process"):
            busy.add_turn(session.id, Role.USER, "Theodore", "Are you there?")
        busy.close()
    finally:
        holder.kill()
        holder.wait()
    # Once the other process is gone, the same write succeeds and nothing earlier is lost.
    time.sleep(0.05)
    store.add_turn(session.id, Role.USER, "Theodore", "Are you there?")
    assert [t.text for t in store.turns(session.id)] == ["Are you there?"]


def test_timings_state_and_turn_edits(store: Store) -> None:
    session = store.start_session()
    turn = store.add_turn(session.id, Role.USER, "Theodore", "Hello", TurnStatus.PENDING)
    store.finish_turn(turn.id, "Hello there", TurnStatus.COMPLETE)
    store.save_timings(turn.id, {"first_token": 0.4, "speech_end": 0.0})
    assert store.timings(turn.id) == {"speech_end": 0.0, "first_token": 0.4}
    store.set_state("facts_through_turn", turn.id)
    assert store.state("facts_through_turn") == turn.id and store.state("missing") == 0
    assert store.edit_turn(turn.id, "Hello Catherine") == {"facts": 0, "summaries": 0, "vectors": 0}
    assert store.turns_by_ids([turn.id])[turn.id].text == "Hello Catherine"
    assert store.state("generation") == 1  # in-memory indexes reload after an edit
    assert store.edit_turn(turn.id + 100, "nothing") is None
    assert store.search_turns("Catherine", 5)[0][0].id == turn.id
    assert store.speakers() == ["Theodore"] and store.turn_count() == 1
    assert store.last_turn_at(session.id) == turn.created_at


def test_index_changes_and_turns_after_state_read_what_is_new(store: Store) -> None:
    session = store.start_session()
    ids = [store.add_turn(session.id, Role.USER, "Theodore", f"turn {i}").id for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]  # numbered per user, from 1
    changes = store.index_changes(0, limit=3)
    assert [t.id for t in changes.turns] == [1, 2, 3]
    assert changes.generation == 0 and changes.last_vector_rowid == 0
    assert [t.id for t in store.index_changes(3, limit=10).turns] == [4, 5]
    assert store.index_changes(5, limit=10).turns == []
    store.vectors.put("m", "context", [(2, 0)], np.ones((1, 4), np.float32))
    assert store.index_changes(5, limit=10).last_vector_rowid > 0
    store.set_state("facts_through_turn", 3)
    assert [t.id for t in store.turns_after_state("facts_through_turn")] == [4, 5]
    assert [t.id for t in store.turns_after_state("never_set", limit=2)] == [1, 2]
    store.edit_turn(1, "turn one")
    assert store.index_changes(5, limit=10).generation == 1


def test_search_reads_a_reply_through_the_turn_before_it(store: Store) -> None:
    session = store.start_session()
    store.add_turn(session.id, Role.USER, "Theodore", "We went hiking in Griffith Park.")
    reply = store.add_turn(session.id, Role.COMPANION, "Samantha", "Yes, last Saturday!")
    other = store.start_session()
    store.add_turn(other.id, Role.USER, "Theodore", "The weather is nice today.")
    found = dict(store.bm25("hike", 10))
    assert reply.id in found and len(found) == 2
    assert reply.id not in dict(store.bm25("hike", 10, text_only=True))
    # Forgetting the first turn takes it out of the reply's context too.
    store.forget_turns([reply.id - 1])
    assert store.bm25("hike", 10) == []


def test_editing_a_turn_drops_what_came_from_its_old_words(store: Store) -> None:
    session = store.start_session()
    said = store.add_turn(session.id, Role.USER, "Theodore", "My sister Anna lives in Lisbon.")
    reply = store.add_turn(session.id, Role.COMPANION, "Samantha", "That sounds lovely.")
    store.facts.add(ExtractedFact("relationship", "Theodore", "sister", "Anna", 0.8), [said.id])
    store.summaries.add("session", "Theodore's sister lives in Lisbon", [said.id], session.id)
    store.vectors.put("m", "context", [(said.id, 0), (reply.id, 0)], np.eye(2, 4, dtype=np.float32))
    assert reply.id in dict(store.bm25("Lisbon", 10))  # the reply carries it as context

    dropped = store.edit_turn(said.id, "My sister Maria lives in Porto.")
    assert dropped == {"facts": 1, "summaries": 1, "vectors": 1}
    assert store.facts.list(include_past=True) == [] and store.summaries.list() == []
    # The next turn's context is rebuilt from the new words, and both are re-embedded.
    assert store.bm25("Lisbon", 10) == []
    assert set(dict(store.bm25("Porto", 10))) == {said.id, reply.id}
    assert store.vectors.turns_without("m") == [said.id, reply.id]
    assert store.state("generation") == 1


def test_editing_a_summary(store: Store) -> None:
    session = store.start_session()
    turn = store.add_turn(session.id, Role.USER, "Theodore", "We talked about the trip.")
    summary = store.summaries.add("session", "Talked about a trip", [turn.id], session.id)
    edited = store.summaries.edit(summary.id, "Planned the trip to Lisbon")
    assert edited is not None and edited.text == "Planned the trip to Lisbon"
    assert edited.source_turn_ids == (turn.id,)
    edited = store.summaries.get(summary.id)
    assert edited is not None and edited.text == "Planned the trip to Lisbon"
    assert store.summaries.edit(summary.id + 100, "nothing") is None


def test_erasing_removes_everything_and_indexes_reload(store: Store) -> None:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    session = store.start_session()
    said = store.add_turn(session.id, Role.USER, "Theodore", "My secret is zanzibarquokka.")
    store.facts.add(
        ExtractedFact("preference", "Theodore", "likes", "zanzibarquokka", 0.5), [said.id]
    )
    store.summaries.add("session", "A secret: zanzibarquokka", [said.id], session.id)
    store.vectors.put("m", "context", [(said.id, 0)], np.eye(1, 4, dtype=np.float32))
    store.save_timings(said.id, {"first_token": 0.3})
    store.set_state("generation", 4)

    erased = store.erase()
    assert erased["turns"] == 1 and erased["facts"] == 1 and erased["persona_versions"] == 1
    assert store.sessions() == [] and store.turns() == [] and store.turn_count() == 0
    assert store.facts.list(include_past=True) == [] and store.summaries.list() == []
    assert store.profile() is None and store.persona() is None and store.persona_history() == []
    assert store.search_turns("zanzibarquokka", 5) == []
    assert store.facts.search("zanzibarquokka", 5) == []
    assert store.vectors.after(0)[0] == {} and store.timings(said.id) == {}
    assert store.all_state() == {"generation": 5}  # every in-memory index reloads
    # The first run can start again.
    again = store.start_session()
    assert store.add_turn(again.id, Role.USER, "Theodore", "Hello again.").text == "Hello again."


def test_erasing_leaves_nothing_in_the_sqlite_file(sqlite_store: SQLiteStore) -> None:
    session = sqlite_store.start_session()
    for n in range(50):
        said = sqlite_store.add_turn(session.id, Role.USER, "Theodore", f"zanzibarquokka {n}")
        sqlite_store.facts.add(
            ExtractedFact("preference", "Theodore", "likes", "quokkas", 0.5), [said.id]
        )
    sqlite_store.erase()
    for path in sqlite_store.path.parent.glob("os1.db*"):
        assert b"zanzibarquokka" not in path.read_bytes(), path.name
        assert b"quokkas" not in path.read_bytes(), path.name
