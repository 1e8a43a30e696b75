"""Writing whole records into one user's rows, for import, ``os1 db migrate`` and the
store's own upserts (profile, state, persona versions, timings)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from os1.domain import (
    Confirmation,
    Fact,
    Notice,
    Persona,
    Scheduled,
    Session,
    Summary,
    Turn,
    UserProfile,
)
from os1.memory.storage.agenda_rows import confirmation_columns, notice_columns, scheduled_columns
from os1.memory.storage.codec import now, persona_to_json, profile_to_json
from os1.memory.storage.columns import fact_columns, session_columns, summary_columns, turn_columns
from os1.memory.storage.postgres.database import Connection, Cursor

# As much of the previous turn as SQLite's trigger puts into a turn's context.
CONTEXT_CHARS = 300


def context_of_previous(new: bool) -> str:
    """The turn before this one in its session, as SQLite's trigger writes it into
    turns_fts. A new turn's id is not a parameter (the statement numbers it) and every
    turn already stored comes before it. (``os1_add_turn``, migration 3, has the same.)"""
    before = "" if new else "AND p.id < %(id)s "
    return (
        "coalesce((SELECT p.speaker || ': ' || "
        f"left(p.text || ' ' || p.extra, {CONTEXT_CHARS}) FROM turns p "
        f"WHERE p.user_id = %(user_id)s AND p.session_id = %(session_id)s {before}"
        "ORDER BY p.id DESC LIMIT 1), '')"
    )


# The tables whose ids are numbered per user.
NUMBERED = {
    "sessions",
    "turns",
    "facts",
    "summaries",
    "persona_versions",
    "scheduled",
    "notices",
    "confirmations",
}


def inserted_id(cursor: Cursor) -> int:
    """The id an ``INSERT ... RETURNING id`` gave its row."""
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def insert_timings(
    conn: Connection, user_id: int, turn_id: int, timings: Mapping[str, float]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO turn_timings (user_id, turn_id, stage, seconds) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (user_id, turn_id, stage) DO UPDATE SET seconds = excluded.seconds",
            [(user_id, turn_id, stage, float(s)) for stage, s in timings.items()],
        )


def insert_vectors(
    conn: Connection,
    user_id: int,
    model: str,
    kind: str,
    rows: Sequence[tuple[int, int]],
    vectors: npt.NDArray[np.float32],
) -> None:
    # A vector written again moves to the end (a new seq), as SQLite's INSERT OR REPLACE
    # gives it a new rowid: retrievers load it as new.
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO turn_vectors (user_id, turn_id, model, kind, idx, vector) "
            "VALUES (%s, %s, %s, %s, %s, %b) ON CONFLICT (user_id, model, kind, turn_id, idx) "
            "DO UPDATE SET vector = excluded.vector, seq = DEFAULT",
            [
                (user_id, int(turn_id), model, kind, int(idx), np.asarray(v, np.float32))
                for (turn_id, idx), v in zip(rows, vectors, strict=True)
            ],
        )


class PostgresRestorer:
    """A ``Restorer`` on one open transaction that holds the user's lock."""

    def __init__(self, conn: Connection, user_id: int, keep_ids: bool) -> None:
        self._conn = conn
        self._user = user_id
        self._keep_ids = keep_ids

    def _insert(
        self,
        table: str,
        record_id: int,
        values: Mapping[str, object],
        computed: Mapping[str, str] | None = None,
    ) -> Cursor:
        """Insert one row, keeping ``record_id`` or numbering it next for its user (in the
        statement itself: this runs holding the user's lock). ``computed`` columns are SQL
        over the others' parameters. The cursor returns the row's id."""
        columns: dict[str, object] = {"user_id": self._user, **values}
        expressions = [f"%({c})s" for c in columns]
        if self._keep_ids:
            columns["id"] = record_id
            expressions.append("%(id)s")
        else:
            assert table in NUMBERED
            expressions.append(
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table} WHERE user_id = %(user_id)s)"
            )
        names = [c for c in columns if c != "id"] + ["id", *(computed or {})]
        expressions += list((computed or {}).values())
        return self._conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(expressions)}) "
            "RETURNING id".encode(),
            columns,
        )

    def profile(self, profile: UserProfile) -> None:
        self._conn.execute(
            "INSERT INTO profile (user_id, doc, updated_at) VALUES (%s, %s::jsonb, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc, "
            "updated_at = excluded.updated_at",
            (self._user, profile_to_json(profile), now()),
        )

    def persona(self, version: int, created_at: datetime, reason: str, persona: Persona) -> int:
        return inserted_id(
            self._insert(
                "persona_versions",
                version,
                {"created_at": utc(created_at), "reason": reason, "doc": persona_to_json(persona)},
            )
        )

    def session(self, session: Session) -> int:
        return inserted_id(self._insert("sessions", session.id, session_columns(session, utc)))

    def turn(self, turn: Turn) -> int:
        context = context_of_previous(new=not self._keep_ids)
        return inserted_id(
            self._insert("turns", turn.id, turn_columns(turn, utc), {"context": context})
        )

    def fact(self, fact: Fact) -> int:
        fact_id = inserted_id(self._insert("facts", fact.id, fact_columns(fact, utc, now())))
        self.sources("fact_sources", fact_id, fact.source_turn_ids)
        return fact_id

    def summary(self, summary: Summary) -> int:
        summary_id = inserted_id(
            self._insert("summaries", summary.id, summary_columns(summary, utc))
        )
        self.sources("summary_sources", summary_id, summary.source_turn_ids)
        return summary_id

    def sources(self, table: str, owner: int, turn_ids: Sequence[int]) -> None:
        """Link a fact or summary to its source turns; turns that are gone are left out."""
        column = {"fact_sources": "fact_id", "summary_sources": "summary_id"}[table]
        self._conn.execute(
            f"INSERT INTO {table} (user_id, {column}, turn_id) SELECT %(user)s, %(owner)s, t.id "
            "FROM turns t WHERE t.user_id = %(user)s AND t.id = ANY(%(turns)s) "
            "ON CONFLICT DO NOTHING".encode(),
            {"user": self._user, "owner": owner, "turns": [int(t) for t in turn_ids]},
        )

    def state(self, values: Mapping[str, int]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO memory_state (user_id, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
                [(self._user, key, int(value)) for key, value in values.items()],
            )

    def timings(self, turn_id: int, timings: Mapping[str, float]) -> None:
        insert_timings(self._conn, self._user, turn_id, timings)

    def vectors(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        insert_vectors(self._conn, self._user, model, kind, rows, vectors)

    def scheduled(self, item: Scheduled) -> int:
        return inserted_id(self._insert("scheduled", item.id, scheduled_columns(item, utc)))

    def notice(self, notice: Notice) -> int:
        return inserted_id(self._insert("notices", notice.id, notice_columns(notice, utc)))

    def confirmation(self, confirmation: Confirmation) -> int:
        columns = confirmation_columns(confirmation, utc)
        return inserted_id(self._insert("confirmations", confirmation.id, columns))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
