"""What the SQLite store derives from turns: facts, summaries and vectors, each a part
built by ``SQLiteStore`` on its connection; and what goes when turns change or go.

Every derived row links to its source turns. Facts have a validity interval: when a
single-valued fact changes ("I moved to Berlin"), the old one gets ``valid_to`` and a
pointer to its successor; it is never deleted unless the user asks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

import numpy as np
import numpy.typing as npt

from os1.domain import Fact, Summary
from os1.memory.extraction import ExtractedFact
from os1.memory.storage.codec import from_iso, now, to_iso
from os1.memory.storage.search import query_words
from os1.memory.stores import VectorBatch

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class SQLiteFacts:
    """``store.facts`` on SQLite."""

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        """``transaction`` is the store's: one atomic write, ``BEGIN IMMEDIATE``."""
        self._db = db
        self._transaction = transaction

    def add(
        self, fact: ExtractedFact, source_turn_ids: Sequence[int], at: datetime | None = None
    ) -> Fact:
        """Record a fact; a repeat strengthens the old one, a change supersedes it."""
        moment = to_iso(at or now())
        with self._transaction() as db:
            same = db.execute(
                "SELECT id, importance FROM facts WHERE subject = ? AND predicate = ? "
                "AND lower(value) = lower(?) AND valid_to IS NULL",
                (fact.subject, fact.predicate, fact.value),
            ).fetchone()
            if same is not None:
                fact_id = int(same["id"])
                db.execute(
                    "UPDATE facts SET importance = ? WHERE id = ?",
                    (max(float(same["importance"]), fact.importance), fact_id),
                )
            else:
                cur = db.execute(
                    "INSERT INTO facts(kind, subject, predicate, value, importance, valid_from, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        fact.kind,
                        fact.subject,
                        fact.predicate,
                        fact.value,
                        fact.importance,
                        moment,
                        to_iso(now()),
                    ),
                )
                fact_id = int(cur.lastrowid or 0)
                if fact.single_valued:
                    db.execute(
                        "UPDATE facts SET valid_to = ?, superseded_by = ? WHERE subject = ? "
                        "AND predicate = ? AND valid_to IS NULL AND id != ?",
                        (moment, fact_id, fact.subject, fact.predicate, fact_id),
                    )
            db.executemany(
                "INSERT OR IGNORE INTO fact_sources(fact_id, turn_id) VALUES (?, ?)",
                [(fact_id, t) for t in source_turn_ids],
            )
        found = self.get(fact_id)
        assert found is not None
        return found

    def get(self, fact_id: int) -> Fact | None:
        facts = list(self._facts("WHERE f.id = ?", (fact_id,)))
        return facts[0] if facts else None

    def from_turns(self, turn_ids: Iterable[int]) -> list[Fact]:
        ids = list(turn_ids)
        marks = ",".join("?" * len(ids))
        return (
            list(
                self._facts(
                    f"WHERE f.id IN (SELECT fact_id FROM fact_sources WHERE turn_id IN ({marks}))",
                    ids,
                )
            )
            if ids
            else []
        )

    def edit(self, fact_id: int, value: str) -> Fact | None:
        with self._transaction() as db:
            db.execute("UPDATE facts SET value = ? WHERE id = ?", (value, fact_id))
        return self.get(fact_id)

    def delete(self, fact_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE facts SET superseded_by = NULL WHERE superseded_by = ?", (fact_id,))
            db.execute("DELETE FROM facts WHERE id = ?", (fact_id,))

    def search(self, query: str, limit: int) -> list[tuple[Fact, float]]:
        match = fts_query(query)
        if not match:
            return []
        rows = self._db.execute(
            "SELECT rowid, -bm25(facts_fts) AS score FROM facts_fts WHERE facts_fts MATCH ? "
            "ORDER BY bm25(facts_fts) LIMIT ?",
            (match, limit),
        ).fetchall()
        out = []
        for row in rows:
            found = self.get(int(row["rowid"]))
            if found is not None:
                out.append((found, float(row["score"])))
        return out

    def _facts(self, where: str, params: Sequence[object]) -> Iterator[Fact]:
        rows = self._db.execute(
            "SELECT f.*, (SELECT group_concat(turn_id) FROM fact_sources s "
            f"WHERE s.fact_id = f.id) AS sources FROM facts f {where}",
            tuple(params),
        )
        for r in rows:
            yield Fact(
                id=int(r["id"]),
                kind=str(r["kind"]),
                subject=str(r["subject"]),
                predicate=str(r["predicate"]),
                value=str(r["value"]),
                importance=float(r["importance"]),
                valid_from=datetime.fromisoformat(r["valid_from"]),
                valid_to=from_iso(r["valid_to"]),
                superseded_by=r["superseded_by"],
                source_turn_ids=_ids(r["sources"]),
            )

    # Last: a method named ``list`` would shadow the type in the annotations below it.
    def list(self, include_past: bool = False, limit: int = 1000) -> list[Fact]:
        where = "" if include_past else "WHERE f.valid_to IS NULL"
        return list(self._facts(f"{where} ORDER BY f.id DESC LIMIT ?", (limit,)))


class SQLiteSummaries:
    """``store.summaries`` on SQLite."""

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        self._db = db
        self._transaction = transaction

    def add(
        self, kind: str, text: str, source_turn_ids: Sequence[int], session_id: int | None = None
    ) -> Summary:
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO summaries(kind, session_id, text, created_at) VALUES (?, ?, ?, ?)",
                (kind, session_id, text, to_iso(now())),
            )
            summary_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT OR IGNORE INTO summary_sources(summary_id, turn_id) VALUES (?, ?)",
                [(summary_id, t) for t in source_turn_ids],
            )
        found = self.get(summary_id)
        assert found is not None
        return found

    def get(self, summary_id: int) -> Summary | None:
        found = self._summaries(summary_id=summary_id)
        return found[0] if found else None

    def edit(self, summary_id: int, text: str) -> Summary | None:
        with self._transaction() as db:
            db.execute("UPDATE summaries SET text = ? WHERE id = ?", (text, summary_id))
            _bump_generation(db)
        return self.get(summary_id)

    def clear(self, kind: str, session_id: int | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM summaries WHERE kind = ? AND session_id IS ?", (kind, session_id)
            )

    def _summaries(
        self, kind: str | None = None, summary_id: int | None = None, session_id: int | None = None
    ) -> list[Summary]:
        clauses, params = [], []
        for column, value in (("kind", kind), ("id", summary_id), ("session_id", session_id)):
            if value is not None:
                clauses.append(f"s.{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            "SELECT s.*, (SELECT group_concat(turn_id) FROM summary_sources x "
            f"WHERE x.summary_id = s.id) AS sources FROM summaries s {where} ORDER BY s.id",
            params,
        )
        return [
            Summary(
                id=int(r["id"]),
                kind=str(r["kind"]),
                session_id=r["session_id"],
                text=str(r["text"]),
                created_at=datetime.fromisoformat(r["created_at"]),
                source_turn_ids=_ids(r["sources"]),
            )
            for r in rows
        ]

    # Last: a method named ``list`` would shadow the type in the annotations below it.
    def list(self, kind: str | None = None, session_id: int | None = None) -> list[Summary]:
        return self._summaries(kind=kind, session_id=session_id)


class SQLiteVectors:
    """``store.vectors`` on SQLite."""

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        self._db = db
        self._transaction = transaction

    def put(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Store one vector per (turn_id, idx) row."""
        with self._transaction() as db:
            insert_vectors(db, model, kind, rows, vectors)

    def after(self, after_rowid: int, limit: int = 100_000) -> tuple[VectorBatch, int]:
        """Up to ``limit`` vectors stored after ``after_rowid``, by (model, kind): turn ids
        and matrix; and the last rowid read (``after_rowid`` when there were none).

        Selecting by rowid alone makes this a range scan of only the new rows, so a
        search that finds nothing new pays almost nothing; the limit keeps loading a very
        large store in bounded memory.
        """
        rows = self._db.execute(
            "SELECT rowid, model, kind, turn_id, vector FROM turn_vectors WHERE rowid > ? "
            "ORDER BY rowid LIMIT ?",
            (after_rowid, limit),
        ).fetchall()
        grouped: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
        for _, model, kind, turn_id, vector in rows:
            grouped.setdefault((model, kind), []).append((turn_id, vector))
        out: VectorBatch = {}
        for key, items in grouped.items():
            ids = np.fromiter((i for i, _ in items), dtype=np.int64, count=len(items))
            matrix = np.frombuffer(b"".join(v for _, v in items), dtype=np.float32)
            out[key] = (ids, matrix.reshape(len(items), -1).copy())
        return out, (int(rows[-1][0]) if rows else after_rowid)

    def counts_after(self, after_rowid: int) -> dict[tuple[str, str], int]:
        """How many vectors each (model, kind) has after ``after_rowid``."""
        rows = self._db.execute(
            "SELECT model, kind, count(*) FROM turn_vectors WHERE rowid > ? GROUP BY model, kind",
            (after_rowid,),
        )
        return {(str(m), str(k)): int(c) for m, k, c in rows}

    def last_rowid(self) -> int:
        row = self._db.execute("SELECT max(rowid) FROM turn_vectors").fetchone()
        return int(row[0] or 0)

    def turns_without(self, model: str, limit: int = 100_000) -> list[int]:
        rows = self._db.execute(
            "SELECT id FROM turns t WHERE NOT EXISTS (SELECT 1 FROM turn_vectors v "
            "WHERE v.turn_id = t.id AND v.model = ?) ORDER BY id LIMIT ?",
            (model, limit),
        )
        return [int(r[0]) for r in rows]


def edit_turn(db: sqlite3.Connection, turn_id: int, text: str) -> dict[str, int] | None:
    """Correct what a turn says, in the caller's transaction (``SQLiteStore.edit_turn``).
    What was derived from the old words goes, as when forgetting: its facts and summaries,
    its vectors and the next turn's context (both rebuilt by the next index). None if
    there is no such turn."""
    followers = _followers(db, [turn_id])
    changed = db.execute("UPDATE turns SET text = ? WHERE id = ?", (text, turn_id))
    if changed.rowcount == 0:
        return None
    fact_ids, summary_ids = _derived_from(db, [turn_id])
    _delete_derived(db, fact_ids, summary_ids)
    vectors = db.execute("DELETE FROM turn_vectors WHERE turn_id = ?", (turn_id,)).rowcount
    _refresh_context(db, followers)
    _bump_generation(db)
    return {"facts": len(fact_ids), "summaries": len(summary_ids), "vectors": vectors}


def forget_turns(db: sqlite3.Connection, ids: list[int]) -> dict[str, int]:
    """Delete turns and everything derived from them: facts, summaries, vectors, in the
    caller's transaction (``SQLiteStore.forget_turns``).

    Derived rows are deleted whole even when they have other sources too, because
    they may carry what the forgotten turn said. Returns how many of each went.
    """
    marks = ",".join("?" * len(ids))
    fact_ids, summary_ids = _derived_from(db, ids)
    followers = _followers(db, ids)
    vectors = db.execute(f"DELETE FROM turn_vectors WHERE turn_id IN ({marks})", ids).rowcount
    _delete_derived(db, fact_ids, summary_ids)
    turns = db.execute(f"DELETE FROM turns WHERE id IN ({marks})", ids).rowcount
    _refresh_context(db, followers)
    _bump_generation(db)
    return {
        "turns": turns,
        "facts": len(fact_ids),
        "summaries": len(summary_ids),
        "vectors": vectors,
    }


def _derived_from(db: sqlite3.Connection, turn_ids: list[int]) -> tuple[list[int], list[int]]:
    """The facts and the summaries that came from these turns."""
    marks = ",".join("?" * len(turn_ids))
    facts = db.execute(
        f"SELECT DISTINCT fact_id FROM fact_sources WHERE turn_id IN ({marks})", turn_ids
    )
    summaries = db.execute(
        f"SELECT DISTINCT summary_id FROM summary_sources WHERE turn_id IN ({marks})", turn_ids
    )
    return [int(r[0]) for r in facts], [int(r[0]) for r in summaries]


def _delete_derived(db: sqlite3.Connection, fact_ids: list[int], summary_ids: list[int]) -> None:
    """Derived rows are deleted whole even when they have other sources too, because they
    may carry what the changed or forgotten turn said."""
    if fact_ids:
        marks = ",".join("?" * len(fact_ids))
        db.execute(
            f"UPDATE facts SET superseded_by = NULL WHERE superseded_by IN ({marks})", fact_ids
        )
        db.execute(f"DELETE FROM facts WHERE id IN ({marks})", fact_ids)
    if summary_ids:
        marks = ",".join("?" * len(summary_ids))
        db.execute(f"DELETE FROM summaries WHERE id IN ({marks})", summary_ids)


def _followers(db: sqlite3.Connection, turn_ids: list[int]) -> list[int]:
    """The turn after each of these in its session (not one of them): it carries the turn
    before it as context, in full-text and in its vectors."""
    marks = ",".join("?" * len(turn_ids))
    rows = db.execute(
        "SELECT (SELECT n.id FROM turns n WHERE n.session_id = t.session_id "
        f"AND n.id > t.id AND n.id NOT IN ({marks}) ORDER BY n.id LIMIT 1) "
        f"FROM turns t WHERE t.id IN ({marks})",
        turn_ids + turn_ids,
    )
    return [int(r[0]) for r in rows if r[0] is not None]


def _refresh_context(db: sqlite3.Connection, followers: list[int]) -> None:
    """Rebuild these turns' full-text context from the turn now before them; their vectors
    are dropped, to be re-embedded by the next index."""
    for follower in followers:
        db.execute("DELETE FROM turn_vectors WHERE turn_id = ?", (follower,))
        db.execute(
            "UPDATE turns_fts SET context = coalesce((SELECT p.speaker || ': ' || "
            "substr(p.text || ' ' || p.extra, 1, 300) FROM turns p, turns t "
            "WHERE t.id = ? AND p.session_id = t.session_id AND p.id < t.id "
            "ORDER BY p.id DESC LIMIT 1), '') WHERE rowid = ?",
            (follower, follower),
        )


def _bump_generation(db: sqlite3.Connection) -> None:
    """Tells every in-memory index (in any process) to reload."""
    db.execute(
        "INSERT INTO memory_state(key, value) VALUES ('generation', 1) "
        "ON CONFLICT(key) DO UPDATE SET value = value + 1"
    )


def insert_vectors(
    db: sqlite3.Connection,
    model: str,
    kind: str,
    rows: Sequence[tuple[int, int]],
    vectors: npt.NDArray[np.float32],
) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO turn_vectors(turn_id, model, kind, idx, vector) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (turn_id, model, kind, idx, np.asarray(v, dtype=np.float32).tobytes())
            for (turn_id, idx), v in zip(rows, vectors, strict=True)
        ],
    )


def _ids(joined: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(x) for x in joined.split(","))) if joined else ()


def fts_query(text: str, drop_stopwords: bool = False) -> str:
    """Quote each word so user text can never be read as FTS5 query syntax."""
    return " OR ".join(f'"{w}"' for w in query_words(text, drop_stopwords))
