"""Versioned migrations of the PostgreSQL schema: numbered SQL steps, applied in order.

``os1_schema`` records each step applied. ``upgrade`` runs the missing ones in one
transaction under an advisory lock, so several servers starting at once apply each step
exactly once. A step, once released, is never edited: a change is a new step.

Every table carries ``user_id``, and every key starts with it: one database serves
every user, and a store built for one user reads and writes only that user's rows. Ids
are numbered per user (a user's first turn is turn 1, as in their SQLite file), so
``os1 db migrate`` keeps every id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from os1.memory.storage.errors import StoreError

# Keys for pg_advisory_xact_lock(class, key): one class for migrations, one for users.
MIGRATION_LOCK = (0x0051, 0)
USER_LOCK_CLASS = 0x0052


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS = [
    Migration(
        1,
        "memory: sessions, turns, facts, summaries, vectors, profile, persona",
        """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE sessions (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    reflected_at timestamptz,
    PRIMARY KEY (user_id, id)
);
CREATE TABLE turns (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    session_id bigint NOT NULL,
    role text NOT NULL,
    speaker text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    status text NOT NULL,
    importance double precision NOT NULL DEFAULT 0,
    extra text NOT NULL DEFAULT '',
    -- The turn before it in the same session, so a reply such as "Yes, last Saturday!"
    -- is found through what it answers (as SQLite's turns_fts does).
    context text NOT NULL DEFAULT '',
    -- The turn's own words weigh A, so a search can ask for them alone ('word:A').
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', text), 'A')
        || setweight(to_tsvector('english', speaker || ' ' || extra || ' ' || context), 'B')
    ) STORED,
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, session_id) REFERENCES sessions (user_id, id)
);
CREATE INDEX turns_session ON turns (user_id, session_id, id);
CREATE INDEX turns_search ON turns USING gin (search);

CREATE TABLE facts (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    predicate text NOT NULL,
    value text NOT NULL,
    importance double precision NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to timestamptz,
    superseded_by bigint,
    created_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('english', subject || ' ' || predicate || ' ' || value)
    ) STORED,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX facts_key ON facts (user_id, subject, predicate, valid_to);
CREATE INDEX facts_search ON facts USING gin (search);
CREATE TABLE fact_sources (
    user_id bigint NOT NULL,
    fact_id bigint NOT NULL,
    turn_id bigint NOT NULL,
    PRIMARY KEY (user_id, fact_id, turn_id),
    FOREIGN KEY (user_id, fact_id) REFERENCES facts (user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, turn_id) REFERENCES turns (user_id, id) ON DELETE CASCADE
);
CREATE INDEX fact_sources_turn ON fact_sources (user_id, turn_id);

CREATE TABLE summaries (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    kind text NOT NULL,
    session_id bigint,
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, session_id) REFERENCES sessions (user_id, id)
);
CREATE TABLE summary_sources (
    user_id bigint NOT NULL,
    summary_id bigint NOT NULL,
    turn_id bigint NOT NULL,
    PRIMARY KEY (user_id, summary_id, turn_id),
    FOREIGN KEY (user_id, summary_id) REFERENCES summaries (user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, turn_id) REFERENCES turns (user_id, id) ON DELETE CASCADE
);
CREATE INDEX summary_sources_turn ON summary_sources (user_id, turn_id);

-- seq orders every vector as it was written (SQLite's rowid), so a retriever loads only
-- what is new. The column has no fixed dimension: each embedding model has its own.
CREATE TABLE turn_vectors (
    seq bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    turn_id bigint NOT NULL,
    model text NOT NULL,
    kind text NOT NULL,
    idx integer NOT NULL,
    vector vector NOT NULL,
    UNIQUE (user_id, model, kind, turn_id, idx),
    FOREIGN KEY (user_id, turn_id) REFERENCES turns (user_id, id) ON DELETE CASCADE
);
CREATE INDEX turn_vectors_user_seq ON turn_vectors (user_id, seq);
CREATE INDEX turn_vectors_turn ON turn_vectors (user_id, turn_id);

CREATE TABLE memory_state (
    user_id bigint NOT NULL,
    key text NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE TABLE profile (
    user_id bigint PRIMARY KEY,
    doc jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE turn_timings (
    user_id bigint NOT NULL,
    turn_id bigint NOT NULL,
    stage text NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (user_id, turn_id, stage),
    FOREIGN KEY (user_id, turn_id) REFERENCES turns (user_id, id) ON DELETE CASCADE
);
CREATE TABLE persona_versions (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    reason text NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (user_id, id)
);
""",
    ),
    Migration(
        2,
        "server accounts, shared by every server process",
        """
CREATE TABLE accounts (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    token_sha256 text NOT NULL,
    created_at text NOT NULL,
    revoked_at text
);
""",
    ),
    Migration(
        3,
        "os1_add_turn: a new turn in one round trip",
        # Every turn writes two turns (the user's, the reply). As statements of their own,
        # each write was five round trips (BEGIN, the user's lock, the next id, the insert,
        # COMMIT); under load every round trip waits for a core. The function does the
        # same in one call: each statement in it sees what committed before the lock was
        # taken, so the numbering is the store's (max + 1 under the user's lock). The
        # context column is restore.py's context_of_previous for a new turn.
        f"""
CREATE FUNCTION os1_add_turn(
    p_user bigint, p_session bigint, p_role text, p_speaker text, p_text text,
    p_created_at timestamptz, p_status text, p_importance double precision, p_extra text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock({USER_LOCK_CLASS}, p_user::integer);
    SELECT coalesce(max(id), 0) + 1 INTO new_id FROM turns WHERE user_id = p_user;
    INSERT INTO turns (user_id, id, session_id, role, speaker, text, created_at, status,
                       importance, extra, context)
    VALUES (p_user, new_id, p_session, p_role, p_speaker, p_text, p_created_at, p_status,
            p_importance, p_extra,
            coalesce((SELECT p.speaker || ': ' || left(p.text || ' ' || p.extra, 300)
                      FROM turns p WHERE p.user_id = p_user AND p.session_id = p_session
                      ORDER BY p.id DESC LIMIT 1), ''));
    RETURN new_id;
END $$;
""",
    ),
    Migration(
        4,
        "agenda: scheduled items, notices, confirmations",
        """
CREATE TABLE scheduled (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    skill text NOT NULL,
    kind text NOT NULL,
    text text NOT NULL,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    recurrence text NOT NULL DEFAULT '',
    timezone text NOT NULL DEFAULT 'UTC',
    status text NOT NULL DEFAULT 'pending',
    fired_at timestamptz,
    PRIMARY KEY (user_id, id)
);
-- The scheduler's question, every tick: which of this user's pending items are due?
CREATE INDEX scheduled_pending ON scheduled (user_id, due_at) WHERE status = 'pending';
CREATE TABLE notices (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    text text NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL,
    due_at timestamptz,
    late boolean NOT NULL DEFAULT false,
    delivered_at timestamptz,
    -- The item it came from. No foreign key: a notice is a record of what was said.
    scheduled_id bigint,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX notices_pending ON notices (user_id, id) WHERE delivered_at IS NULL;
CREATE TABLE confirmations (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    skill text NOT NULL,
    action text NOT NULL,
    args jsonb NOT NULL,
    question text NOT NULL,
    asked_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'waiting',
    answered_at timestamptz,
    result text NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, id)
);
CREATE INDEX confirmations_waiting ON confirmations (user_id, id) WHERE status = 'waiting';
""",
    ),
]
LATEST = MIGRATIONS[-1].version


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The last step applied; 0 for a database OS1 has never used."""
    exists = conn.execute("SELECT to_regclass('os1_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM os1_schema").fetchone()
    return int(row[0]) if row else 0


def upgrade(conn: psycopg.Connection[Any], target: int = LATEST) -> tuple[int, int]:
    """Apply the steps up to ``target`` that are missing; returns (before, after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", MIGRATION_LOCK)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS os1_schema (version integer PRIMARY KEY, "
            "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        before = schema_version(conn)
        if before > LATEST:
            raise StoreError(
                f"This PostgreSQL database was written by a newer OS1 (schema {before}, "
                f"this OS1 knows {LATEST}). Upgrade OS1."
            )
        for step in MIGRATIONS:
            if before < step.version <= target:
                conn.execute(step.sql.encode())
                conn.execute(
                    "INSERT INTO os1_schema (version, description) VALUES (%s, %s)",
                    (step.version, step.description),
                )
        return before, max(before, min(target, LATEST))
