"""The PostgreSQL store: the same ``Store`` as SQLite's, for one user of a shared database.

Every statement names ``user_id``, the user this store was built for, so a store for
user 7 can neither read nor write user 8's rows. Writes for one user take that user's
advisory lock, as SQLite's ``BEGIN IMMEDIATE`` takes its file's, so ids (numbered per
user) and the order of vectors never race between two stores of the same user.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from os1.domain import Persona, Role, Session, SkillMigration, Turn, TurnStatus, UserProfile
from os1.memory.storage.codec import now, persona_from_json, profile_from_json
from os1.memory.storage.columns import MEMORY_TABLES
from os1.memory.storage.postgres import skill_schema
from os1.memory.storage.postgres.agenda import PostgresAgenda
from os1.memory.storage.postgres.database import DEFAULT_POOL_SIZE, Database, UserRows, database
from os1.memory.storage.postgres.derived import (
    PostgresFacts,
    PostgresSummaries,
    PostgresVectors,
    edit_turn,
    forget_turns,
)
from os1.memory.storage.postgres.migrations import schema_version
from os1.memory.storage.postgres.restore import PostgresRestorer, insert_timings, utc
from os1.memory.storage.search import query_words, search_by_rank
from os1.memory.stores import Agenda, Facts, IndexChanges, Summaries, Vectors

SESSION_COLUMNS = "id, started_at, ended_at, reflected_at"
TURN_COLUMNS = "id, session_id, role, speaker, text, created_at, status, importance, extra"
STATE_VALUE = "SELECT value FROM memory_state WHERE user_id = %s AND key = %s"


class PostgresStore:
    """One user's memory in a PostgreSQL database that holds every user's."""

    def __init__(self, url: str, user_id: int, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.user_id = int(user_id)
        self._database: Database = database(url, pool_size)
        self._user = UserRows(self._database, self.user_id)
        # What is derived from turns: parts writing this user's rows, under this user's lock.
        self.facts: Facts = PostgresFacts(self._user)
        self.summaries: Summaries = PostgresSummaries(self._user)
        self.vectors: Vectors = PostgresVectors(self._user)
        # Typed as the protocol (a settable attribute of ``Store``); the assignment checks it.
        self.agenda: Agenda = PostgresAgenda(self._database, self.user_id, self._user.write)

    # --- connections ------------------------------------------------------------

    def one_connection(self) -> AbstractContextManager[None]:
        return self._database.holding()

    @contextmanager
    def restoring(self, keep_ids: bool) -> Iterator[PostgresRestorer]:
        """Whole records written in one transaction (import, ``os1 db migrate``)."""
        with self._user.write() as conn:
            yield PostgresRestorer(conn, self.user_id, keep_ids)

    @property
    def schema_version(self) -> int:
        with self._database.connection() as conn:
            return schema_version(conn)

    def apply_skill_migrations(self, migrations: Sequence[SkillMigration]) -> list[str]:
        if not migrations:
            return []
        with self._database.connection() as conn:
            return skill_schema.apply(conn, migrations)

    def close(self) -> None:
        """Nothing to release: the connections belong to the process's shared pool."""

    # --- sessions ---------------------------------------------------------------

    def start_session(self, at: datetime | None = None) -> Session:
        session = Session(id=0, started_at=at or now())
        with self._user.write() as conn:
            new_id = PostgresRestorer(conn, self.user_id, keep_ids=False).session(session)
        return replace(session, id=new_id)

    def end_session(self, session_id: int, at: datetime | None = None) -> None:
        with self._user.write() as conn:
            conn.execute(
                "UPDATE sessions SET ended_at = %s WHERE user_id = %s AND id = %s "
                "AND ended_at IS NULL",
                (utc(at or now()), self.user_id, session_id),
            )

    def mark_reflected(self, session_id: int) -> None:
        with self._user.write() as conn:
            conn.execute(
                "UPDATE sessions SET reflected_at = %s WHERE user_id = %s AND id = %s",
                (now(), self.user_id, session_id),
            )

    def current_session(self, gap: timedelta, at: datetime | None = None) -> Session | None:
        row = self._user.one(
            f"SELECT {SESSION_COLUMNS}, coalesce((SELECT max(t.created_at) FROM turns t "
            "WHERE t.user_id = s.user_id AND t.session_id = s.id), s.started_at) "
            "FROM sessions s WHERE s.user_id = %s AND s.ended_at IS NULL "
            "ORDER BY s.id DESC LIMIT 1",
            (self.user_id,),
        )
        if row is None or (at or now()) - row[4] > gap:
            return None
        return _session(row)

    def open_sessions(self) -> list[Session]:
        return self._sessions("AND ended_at IS NULL ORDER BY id")

    def unreflected_sessions(self) -> list[Session]:
        return self._sessions("AND ended_at IS NOT NULL AND reflected_at IS NULL ORDER BY id")

    def sessions(self) -> list[Session]:
        return self._sessions("ORDER BY id")

    def _sessions(self, rest: str, params: Sequence[object] = ()) -> list[Session]:
        rows = self._user.rows(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = %s {rest}",
            (self.user_id, *params),
        )
        return [_session(r) for r in rows]

    def last_turn_at(self, session_id: int) -> datetime | None:
        row = self._user.one(
            "SELECT max(created_at) FROM turns WHERE user_id = %s AND session_id = %s",
            (self.user_id, session_id),
        )
        return row[0] if row else None

    def adjacent_sessions(self, session_id: int) -> tuple[Session | None, Session | None]:
        earlier = self._sessions("AND id < %s ORDER BY id DESC LIMIT 1", (session_id,))
        later = self._sessions("AND id > %s ORDER BY id LIMIT 1", (session_id,))
        return (earlier[0] if earlier else None, later[0] if later else None)

    # --- turns ------------------------------------------------------------------

    def add_turn(
        self,
        session_id: int,
        role: Role,
        speaker: str,
        text: str,
        status: TurnStatus = TurnStatus.COMPLETE,
        at: datetime | None = None,
        importance: float = 0.0,
        extra: str = "",
    ) -> Turn:
        turn = Turn(
            id=0,
            session_id=session_id,
            role=role,
            speaker=speaker,
            text=text,
            created_at=at or now(),
            status=status,
            importance=importance,
            extra=extra,
        )
        # One round trip (migration 3), not five: this runs twice every turn.
        row = self._user.one(
            "SELECT os1_add_turn(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self.user_id,
                session_id,
                role.value,
                speaker,
                text,
                utc(turn.created_at),
                status.value,
                importance,
                extra,
            ),
        )
        return replace(turn, id=int(row[0]))

    def finish_turn(self, turn_id: int, text: str, status: TurnStatus) -> None:
        with self._user.write() as conn:
            conn.execute(
                "UPDATE turns SET text = %s, status = %s WHERE user_id = %s AND id = %s",
                (text, status.value, self.user_id, turn_id),
            )

    def edit_turn(self, turn_id: int, text: str) -> dict[str, int] | None:
        """Correct what a turn says; what was derived from the old words goes (see
        ``os1.memory.storage.sqlite_derived.edit_turn``). None if there is no such turn."""
        with self._user.write() as conn:
            return edit_turn(conn, self.user_id, turn_id, text)

    def recent_turns(self, limit: int, session_id: int | None = None) -> list[Turn]:
        if session_id is None:
            rows = self._turns("ORDER BY id DESC LIMIT %s", (limit,))
        else:
            rows = self._turns("AND session_id = %s ORDER BY id DESC LIMIT %s", (session_id, limit))
        return rows[::-1]

    def turns(self, session_id: int | None = None) -> list[Turn]:
        if session_id is None:
            return self._turns("ORDER BY id")
        return self._turns("AND session_id = %s ORDER BY id", (session_id,))

    def turns_after(self, turn_id: int, limit: int = 1_000_000) -> list[Turn]:
        return self._turns("AND id > %s ORDER BY id LIMIT %s", (turn_id, limit))

    def turns_after_state(self, key: str, limit: int = 1_000_000) -> list[Turn]:
        return self._turns(
            "AND id > coalesce((SELECT value FROM memory_state m WHERE m.user_id = %s "
            "AND m.key = %s), 0) ORDER BY id LIMIT %s",
            (self.user_id, key, limit),
        )

    def index_changes(self, after_turn_id: int, limit: int) -> IndexChanges:
        # One statement: a row per new turn (or one row of NULLs), each with the two marks.
        rows = self._user.rows(
            "SELECT (SELECT value FROM memory_state WHERE user_id = %(user)s "
            "AND key = 'generation'), (SELECT coalesce(max(seq), 0) FROM turn_vectors "
            f"WHERE user_id = %(user)s), t.* FROM (SELECT 1) AS one LEFT JOIN LATERAL "
            f"(SELECT {TURN_COLUMNS} FROM turns WHERE user_id = %(user)s AND id > %(after)s "
            "ORDER BY id LIMIT %(limit)s) AS t ON true",
            {"user": self.user_id, "after": after_turn_id, "limit": limit},
        )
        generation, last_vector = rows[0][0], rows[0][1]
        turns = [_turn(r[2:]) for r in rows if r[2] is not None]
        return IndexChanges(int(generation or 0), turns, int(last_vector))

    def turns_by_ids(self, ids: Sequence[int]) -> dict[int, Turn]:
        found = self._turns("AND id = ANY(%s)", ([int(i) for i in ids],))
        return {t.id: t for t in found}

    def _turns(self, rest: str, params: Sequence[object] = ()) -> list[Turn]:
        rows = self._user.rows(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE user_id = %s {rest}", (self.user_id, *params)
        )
        return [_turn(r) for r in rows]

    def previous_turns(self, turns: Sequence[Turn]) -> dict[int, Turn]:
        """For each turn, the turn before it in the same session, if any."""
        rows = self._user.rows(
            f"SELECT x.id, {', '.join('p.' + c for c in TURN_COLUMNS.split(', '))} "
            "FROM unnest(%(ids)s::bigint[]) AS x(id) "
            "JOIN turns t ON t.user_id = %(user)s AND t.id = x.id "
            f"CROSS JOIN LATERAL (SELECT {TURN_COLUMNS} FROM turns p WHERE p.user_id = t.user_id "
            "AND p.session_id = t.session_id AND p.id < t.id ORDER BY p.id DESC LIMIT 1) p",
            {"ids": [t.id for t in turns], "user": self.user_id},
        )
        return {int(r[0]): _turn(r[1:]) for r in rows}

    def neighbours(self, turn_id: int, before: int = 1, after: int = 1) -> list[Turn]:
        """The turn with up to ``before`` and ``after`` turns around it, same session, in
        order; empty when the turn does not exist."""
        same_session = (
            "user_id = %(user)s AND session_id = "
            "(SELECT session_id FROM turns WHERE user_id = %(user)s AND id = %(id)s)"
        )
        rows = self._user.rows(
            f"(SELECT {TURN_COLUMNS} FROM turns WHERE {same_session} AND id < %(id)s "
            f"ORDER BY id DESC LIMIT %(before)s) UNION ALL (SELECT {TURN_COLUMNS} FROM turns "
            f"WHERE {same_session} AND id >= %(id)s ORDER BY id LIMIT %(after)s)",
            {"user": self.user_id, "id": turn_id, "before": max(before, 0), "after": after + 1},
        )
        return sorted((_turn(r) for r in rows), key=lambda t: t.id)

    def speakers(self) -> list[str]:
        rows = self._user.rows(
            "SELECT DISTINCT speaker FROM turns WHERE user_id = %s", (self.user_id,)
        )
        return [str(r[0]) for r in rows]

    def turn_count(self) -> int:
        return int(
            self._user.one("SELECT count(*) FROM turns WHERE user_id = %s", (self.user_id,))[0]
        )

    def save_timings(self, turn_id: int, timings: dict[str, float]) -> None:
        with self._user.write() as conn:
            insert_timings(conn, self.user_id, turn_id, timings)

    def timings(self, turn_id: int) -> dict[str, float]:
        rows = self._user.rows(
            "SELECT stage, seconds FROM turn_timings WHERE user_id = %s AND turn_id = %s "
            "ORDER BY seconds",
            (self.user_id, turn_id),
        )
        return {str(r[0]): float(r[1]) for r in rows}

    def search_turns(
        self, query: str, limit: int, exclude_session: int | None = None
    ) -> list[tuple[Turn, float]]:
        """Full-text search over every turn; higher scores are better."""
        return search_by_rank(self, query, limit, exclude_session)

    def bm25(self, query: str, limit: int, text_only: bool = False) -> list[tuple[int, float]]:
        """(turn id, rank) of the best matches, best first, by PostgreSQL's ``ts_rank``
        (not BM25 itself: recall's BM25 is ``os1.memory.recall.lexical``, the same on both
        stores). Stopwords are ignored; ``text_only`` matches the turn's own words alone,
        without its speaker, caption and the turn before it."""
        words = query_words(query, drop_stopwords=True)
        if not words:
            return []
        weight = ":A" if text_only else ""
        rows = self._user.rows(
            "SELECT id, ts_rank('{1, 1, 1, 1}', search, q) AS score "
            "FROM turns, to_tsquery('english', %s) AS q "
            "WHERE user_id = %s AND search @@ q ORDER BY score DESC, id LIMIT %s",
            (" | ".join(w + weight for w in words), self.user_id, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    # --- state ------------------------------------------------------------------

    def state(self, key: str) -> int:
        row = self._user.one(STATE_VALUE, (self.user_id, key))
        return int(row[0]) if row else 0

    def set_state(self, key: str, value: int) -> None:
        # One upsert is atomic by itself: one round trip, without a transaction or lock.
        with self._database.connection() as conn:
            PostgresRestorer(conn, self.user_id, keep_ids=True).state({key: value})

    def all_state(self) -> dict[str, int]:
        rows = self._user.rows(
            "SELECT key, value FROM memory_state WHERE user_id = %s", (self.user_id,)
        )
        return {str(k): int(v) for k, v in rows}

    def forget_turns(self, turn_ids: Iterable[int]) -> dict[str, int]:
        """Delete turns and everything derived from them (as ``storage.sqlite_derived``)."""
        ids = sorted({int(t) for t in turn_ids})
        if not ids:
            return {"turns": 0, "facts": 0, "summaries": 0, "vectors": 0}
        with self._user.write() as conn:
            return forget_turns(conn, self.user_id, ids)

    def erase(self) -> dict[str, int]:
        """Delete every row of this user's (and no one else's), back to before the first
        run; how many went from each table."""
        user = self.user_id
        with self._user.write() as conn:
            row = conn.execute(
                "SELECT value FROM memory_state WHERE user_id = %s AND key = 'generation'",
                (user,),
            ).fetchone()
            erased = {
                table: conn.execute(
                    f"DELETE FROM {table} WHERE user_id = %s".encode(), (user,)
                ).rowcount
                for table in MEMORY_TABLES
            }
            # Every in-memory index (in any process) reloads, finding nothing.
            conn.execute(
                "INSERT INTO memory_state (user_id, key, value) VALUES (%s, 'generation', %s)",
                (user, (int(row[0]) if row else 0) + 1),
            )
        return erased

    # --- profile and persona ----------------------------------------------------

    def save_profile(self, profile: UserProfile) -> None:
        with self._user.write() as conn:
            PostgresRestorer(conn, self.user_id, keep_ids=True).profile(profile)

    def profile(self) -> UserProfile | None:
        row = self._user.one("SELECT doc::text FROM profile WHERE user_id = %s", (self.user_id,))
        return profile_from_json(row[0]) if row else None

    def save_persona(self, persona: Persona, reason: str) -> int:
        with self._user.write() as conn:
            restorer = PostgresRestorer(conn, self.user_id, keep_ids=False)
            return restorer.persona(0, now(), reason, persona)

    def persona(self) -> Persona | None:
        row = self._user.one(
            "SELECT doc::text FROM persona_versions WHERE user_id = %s ORDER BY id DESC LIMIT 1",
            (self.user_id,),
        )
        return persona_from_json(row[0]) if row else None

    def persona_history(self) -> list[tuple[int, datetime, str, Persona]]:
        rows = self._user.rows(
            "SELECT id, created_at, reason, doc::text FROM persona_versions "
            "WHERE user_id = %s ORDER BY id",
            (self.user_id,),
        )
        return [(int(r[0]), r[1], str(r[2]), persona_from_json(r[3])) for r in rows]


def _session(row: Sequence[Any]) -> Session:
    return Session(id=int(row[0]), started_at=row[1], ended_at=row[2], reflected_at=row[3])


def _turn(row: Sequence[Any]) -> Turn:
    return Turn(
        id=int(row[0]),
        session_id=int(row[1]),
        role=Role(row[2]),
        speaker=str(row[3]),
        text=str(row[4]),
        created_at=row[5],
        status=TurnStatus(row[6]),
        importance=float(row[7]),
        extra=str(row[8]),
    )
