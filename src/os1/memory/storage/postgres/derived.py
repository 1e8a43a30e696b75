"""Facts, summaries and vectors for one user, on PostgreSQL, each a part built by
``PostgresStore``; and what goes when turns change or go: the same rules as
``os1.memory.storage.sqlite_derived`` (see there), in PostgreSQL's SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from os1.domain import Fact, Summary
from os1.memory.extraction import ExtractedFact
from os1.memory.storage.codec import now
from os1.memory.storage.postgres.database import Connection, UserRows
from os1.memory.storage.postgres.restore import (
    CONTEXT_CHARS,
    PostgresRestorer,
    insert_vectors,
    utc,
)
from os1.memory.storage.search import query_words
from os1.memory.stores import VectorBatch

FACT_COLUMNS = (
    "f.id, f.kind, f.subject, f.predicate, f.value, f.importance, f.valid_from, f.valid_to, "
    "f.superseded_by, ARRAY(SELECT s.turn_id FROM fact_sources s WHERE s.user_id = f.user_id "
    "AND s.fact_id = f.id ORDER BY s.turn_id)"
)
SUMMARY_COLUMNS = (
    "s.id, s.kind, s.session_id, s.text, s.created_at, ARRAY(SELECT x.turn_id FROM "
    "summary_sources x WHERE x.user_id = s.user_id AND x.summary_id = s.id ORDER BY x.turn_id)"
)
BUMP_GENERATION = (
    "INSERT INTO memory_state (user_id, key, value) VALUES (%s, 'generation', 1) "
    "ON CONFLICT (user_id, key) DO UPDATE SET value = memory_state.value + 1"
)


class PostgresFacts:
    """``store.facts`` on PostgreSQL."""

    def __init__(self, user: UserRows) -> None:
        self._user = user
        self.user_id = user.user_id

    def add(
        self, fact: ExtractedFact, source_turn_ids: Sequence[int], at: datetime | None = None
    ) -> Fact:
        """Record a fact; a repeat strengthens the old one, a change supersedes it."""
        moment = utc(at or now())
        user = self.user_id
        with self._user.write() as conn:
            same = conn.execute(
                "SELECT id, importance FROM facts WHERE user_id = %s AND subject = %s "
                "AND predicate = %s AND lower(value) = lower(%s) AND valid_to IS NULL",
                (user, fact.subject, fact.predicate, fact.value),
            ).fetchone()
            restorer = PostgresRestorer(conn, user, keep_ids=False)
            if same is not None:
                fact_id = int(same[0])
                conn.execute(
                    "UPDATE facts SET importance = %s WHERE user_id = %s AND id = %s",
                    (max(float(same[1]), fact.importance), user, fact_id),
                )
                restorer.sources("fact_sources", fact_id, source_turn_ids)
            else:
                fact_id = restorer.fact(
                    Fact(
                        id=0,
                        kind=fact.kind,
                        subject=fact.subject,
                        predicate=fact.predicate,
                        value=fact.value,
                        importance=fact.importance,
                        valid_from=moment,
                        valid_to=None,
                        superseded_by=None,
                        source_turn_ids=tuple(source_turn_ids),
                    )
                )
                if fact.single_valued:
                    conn.execute(
                        "UPDATE facts SET valid_to = %s, superseded_by = %s WHERE user_id = %s "
                        "AND subject = %s AND predicate = %s AND valid_to IS NULL AND id != %s",
                        (moment, fact_id, user, fact.subject, fact.predicate, fact_id),
                    )
        found = self.get(fact_id)
        assert found is not None
        return found

    def get(self, fact_id: int) -> Fact | None:
        facts = self._facts("AND f.id = %s", (fact_id,))
        return facts[0] if facts else None

    def from_turns(self, turn_ids: Iterable[int]) -> list[Fact]:
        return self._facts(
            "AND f.id IN (SELECT fact_id FROM fact_sources WHERE user_id = f.user_id "
            "AND turn_id = ANY(%s))",
            ([int(t) for t in turn_ids],),
        )

    def edit(self, fact_id: int, value: str) -> Fact | None:
        with self._user.write() as conn:
            conn.execute(
                "UPDATE facts SET value = %s WHERE user_id = %s AND id = %s",
                (value, self.user_id, fact_id),
            )
        return self.get(fact_id)

    def delete(self, fact_id: int) -> None:
        with self._user.write() as conn:
            _delete_facts(conn, self.user_id, [fact_id])

    def search(self, query: str, limit: int) -> list[tuple[Fact, float]]:
        words = query_words(query)
        if not words:
            return []
        rows = self._user.rows(
            f"SELECT {FACT_COLUMNS}, ts_rank(f.search, q) AS score "
            "FROM facts f, to_tsquery('english', %s) AS q WHERE f.user_id = %s "
            "AND f.search @@ q ORDER BY score DESC, f.id LIMIT %s",
            (" | ".join(words), self.user_id, limit),
        )
        return [(_fact(r), float(r[10])) for r in rows]

    def _facts(self, rest: str, params: Sequence[object]) -> list[Fact]:
        rows = self._user.rows(
            f"SELECT {FACT_COLUMNS} FROM facts f WHERE f.user_id = %s {rest}",
            (self.user_id, *params),
        )
        return [_fact(r) for r in rows]

    # Last: a method named ``list`` would shadow the type in the annotations below it.
    def list(self, include_past: bool = False, limit: int = 1000) -> list[Fact]:
        current = "" if include_past else "AND f.valid_to IS NULL"
        return self._facts(f"{current} ORDER BY f.id DESC LIMIT %s", (limit,))


class PostgresSummaries:
    """``store.summaries`` on PostgreSQL."""

    def __init__(self, user: UserRows) -> None:
        self._user = user
        self.user_id = user.user_id

    def add(
        self, kind: str, text: str, source_turn_ids: Sequence[int], session_id: int | None = None
    ) -> Summary:
        with self._user.write() as conn:
            summary_id = PostgresRestorer(conn, self.user_id, keep_ids=False).summary(
                Summary(0, kind, session_id, text, now(), tuple(source_turn_ids))
            )
        found = self.get(summary_id)
        assert found is not None
        return found

    def get(self, summary_id: int) -> Summary | None:
        found = self._summaries(summary_id=summary_id)
        return found[0] if found else None

    def _summaries(
        self, kind: str | None = None, summary_id: int | None = None, session_id: int | None = None
    ) -> list[Summary]:
        clauses, params = [], []
        for column, value in (("kind", kind), ("id", summary_id), ("session_id", session_id)):
            if value is not None:
                clauses.append(f"AND s.{column} = %s")
                params.append(value)
        rows = self._user.rows(
            f"SELECT {SUMMARY_COLUMNS} FROM summaries s WHERE s.user_id = %s "
            f"{' '.join(clauses)} ORDER BY s.id",
            (self.user_id, *params),
        )
        return [
            Summary(
                id=int(r[0]),
                kind=str(r[1]),
                session_id=r[2],
                text=str(r[3]),
                created_at=r[4],
                source_turn_ids=tuple(int(t) for t in r[5]),
            )
            for r in rows
        ]

    def edit(self, summary_id: int, text: str) -> Summary | None:
        with self._user.write() as conn:
            conn.execute(
                "UPDATE summaries SET text = %s WHERE user_id = %s AND id = %s",
                (text, self.user_id, summary_id),
            )
            conn.execute(BUMP_GENERATION, (self.user_id,))
        return self.get(summary_id)

    def clear(self, kind: str, session_id: int | None = None) -> None:
        with self._user.write() as conn:
            conn.execute(
                "DELETE FROM summaries WHERE user_id = %s AND kind = %s "
                "AND session_id IS NOT DISTINCT FROM %s",
                (self.user_id, kind, session_id),
            )

    # Last: a method named ``list`` would shadow the type in the annotations below it.
    def list(self, kind: str | None = None, session_id: int | None = None) -> list[Summary]:
        return self._summaries(kind=kind, session_id=session_id)


class PostgresVectors:
    """``store.vectors`` on PostgreSQL."""

    def __init__(self, user: UserRows) -> None:
        self._user = user
        self.user_id = user.user_id

    def put(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Store one vector per (turn_id, idx) row."""
        with self._user.write() as conn:
            insert_vectors(conn, self.user_id, model, kind, rows, vectors)

    def after(self, after_rowid: int, limit: int = 100_000) -> tuple[VectorBatch, int]:
        """Up to ``limit`` vectors written after position ``after_rowid`` (their seq), by
        (model, kind): turn ids and matrix; and the last seq read. An index on
        (user_id, seq) makes a call that finds nothing new one index probe."""
        rows = self._user.rows(
            "SELECT seq, model, kind, turn_id, vector FROM turn_vectors "
            "WHERE user_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (self.user_id, after_rowid, limit),
            binary=True,
        )
        grouped: dict[tuple[str, str], list[tuple[int, npt.NDArray[np.float32]]]] = {}
        for _, model, kind, turn_id, vector in rows:
            grouped.setdefault((model, kind), []).append((turn_id, vector))
        out: VectorBatch = {}
        for key, items in grouped.items():
            ids = np.fromiter((i for i, _ in items), dtype=np.int64, count=len(items))
            out[key] = (ids, np.stack([v for _, v in items]).astype(np.float32, copy=False))
        return out, (int(rows[-1][0]) if rows else after_rowid)

    def counts_after(self, after_rowid: int) -> dict[tuple[str, str], int]:
        rows = self._user.rows(
            "SELECT model, kind, count(*) FROM turn_vectors WHERE user_id = %s AND seq > %s "
            "GROUP BY model, kind",
            (self.user_id, after_rowid),
        )
        return {(str(m), str(k)): int(c) for m, k, c in rows}

    def last_rowid(self) -> int:
        rows = self._user.rows(
            "SELECT coalesce(max(seq), 0) FROM turn_vectors WHERE user_id = %s", (self.user_id,)
        )
        return int(rows[0][0])

    def turns_without(self, model: str, limit: int = 100_000) -> list[int]:
        rows = self._user.rows(
            "SELECT id FROM turns t WHERE t.user_id = %s AND NOT EXISTS (SELECT 1 FROM "
            "turn_vectors v WHERE v.user_id = t.user_id AND v.turn_id = t.id AND v.model = %s) "
            "ORDER BY id LIMIT %s",
            (self.user_id, model, limit),
        )
        return [int(r[0]) for r in rows]


def edit_turn(conn: Connection, user: int, turn_id: int, text: str) -> dict[str, int] | None:
    """Correct what a turn says, in the caller's write (``PostgresStore.edit_turn``); what
    was derived from the old words goes (as ``storage.sqlite_derived.edit_turn``). None
    if there is no such turn."""
    followers = _followers(conn, user, [turn_id])
    changed = conn.execute(
        "UPDATE turns SET text = %s WHERE user_id = %s AND id = %s",
        (text, user, turn_id),
    ).rowcount
    if changed == 0:
        return None
    dropped = _drop_derived(conn, user, [turn_id])
    _refresh_context(conn, user, followers)
    conn.execute(BUMP_GENERATION, (user,))
    return dropped


def forget_turns(conn: Connection, user: int, ids: list[int]) -> dict[str, int]:
    """Delete turns and everything derived from them, in the caller's write
    (``PostgresStore.forget_turns``; see ``os1.memory.storage.sqlite_derived.forget_turns``)."""
    followers = _followers(conn, user, ids)
    dropped = _drop_derived(conn, user, ids)
    turns = conn.execute(
        "DELETE FROM turns WHERE user_id = %s AND id = ANY(%s)", (user, ids)
    ).rowcount
    _refresh_context(conn, user, followers)
    conn.execute(BUMP_GENERATION, (user,))
    return {"turns": turns, **dropped}


def _drop_derived(conn: Connection, user: int, turn_ids: list[int]) -> dict[str, int]:
    """Delete what came from these turns: their vectors, and their facts and summaries
    whole even when those have other sources too (they may carry what the changed or
    forgotten turn said); how many of each went."""
    fact_ids, summary_ids = _derived_from(conn, user, turn_ids)
    vectors = conn.execute(
        "DELETE FROM turn_vectors WHERE user_id = %s AND turn_id = ANY(%s)", (user, turn_ids)
    ).rowcount
    if fact_ids:
        _delete_facts(conn, user, fact_ids)
    conn.execute("DELETE FROM summaries WHERE user_id = %s AND id = ANY(%s)", (user, summary_ids))
    return {"facts": len(fact_ids), "summaries": len(summary_ids), "vectors": vectors}


def _delete_facts(conn: Connection, user: int, fact_ids: list[int]) -> None:
    conn.execute(
        "UPDATE facts SET superseded_by = NULL WHERE user_id = %s AND superseded_by = ANY(%s)",
        (user, fact_ids),
    )
    conn.execute("DELETE FROM facts WHERE user_id = %s AND id = ANY(%s)", (user, fact_ids))


def _derived_from(conn: Connection, user: int, turn_ids: list[int]) -> tuple[list[int], list[int]]:
    """The facts and the summaries that came from these turns."""
    facts = _column(
        conn,
        "SELECT DISTINCT fact_id FROM fact_sources WHERE user_id = %s AND turn_id = ANY(%s)",
        (user, turn_ids),
    )
    summaries = _column(
        conn,
        "SELECT DISTINCT summary_id FROM summary_sources WHERE user_id = %s AND turn_id = ANY(%s)",
        (user, turn_ids),
    )
    return [int(f) for f in facts], [int(s) for s in summaries]


def _followers(conn: Connection, user: int, turn_ids: list[int]) -> list[int]:
    """The turn after each of these in its session (not one of them): it carries the turn
    before it as context."""
    followers = _column(
        conn,
        "SELECT (SELECT n.id FROM turns n WHERE n.user_id = t.user_id "
        "AND n.session_id = t.session_id AND n.id > t.id AND n.id <> ALL(%(ids)s) "
        "ORDER BY n.id LIMIT 1) FROM turns t WHERE t.user_id = %(user)s "
        "AND t.id = ANY(%(ids)s)",
        {"user": user, "ids": turn_ids},
    )
    return [int(f) for f in followers if f is not None]


def _refresh_context(conn: Connection, user: int, followers: list[int]) -> None:
    """Rebuild these turns' context from the turn now before them; their vectors are
    dropped, to be re-embedded by the next index."""
    if not followers:
        return
    conn.execute(
        "DELETE FROM turn_vectors WHERE user_id = %s AND turn_id = ANY(%s)", (user, followers)
    )
    conn.execute(
        "UPDATE turns t SET context = coalesce((SELECT p.speaker || ': ' || "
        f"left(p.text || ' ' || p.extra, {CONTEXT_CHARS}) FROM turns p "
        "WHERE p.user_id = t.user_id AND p.session_id = t.session_id AND p.id < t.id "
        "ORDER BY p.id DESC LIMIT 1), '') WHERE t.user_id = %s AND t.id = ANY(%s)",
        (user, followers),
    )


def _column(conn: Connection, sql: str, params: Sequence[object] | dict[str, object]) -> list[Any]:
    return [r[0] for r in conn.execute(sql.encode(), params)]


def _fact(row: Sequence[Any]) -> Fact:
    return Fact(
        id=int(row[0]),
        kind=str(row[1]),
        subject=str(row[2]),
        predicate=str(row[3]),
        value=str(row[4]),
        importance=float(row[5]),
        valid_from=row[6],
        valid_to=row[7],
        superseded_by=None if row[8] is None else int(row[8]),
        source_turn_ids=tuple(int(t) for t in row[9]),
    )
