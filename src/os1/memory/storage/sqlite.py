"""The SQLite store: every turn, session, profile and persona version, in WAL mode.

Writes commit at once with ``synchronous=FULL``: a user's turn is on disk before the
model is asked for a reply, so a crash mid-reply loses nothing the user said.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path

from os1.domain import Persona, Role, Session, SkillMigration, Turn, TurnStatus, UserProfile
from os1.memory.storage import sqlite_skill_schema as skill_schema
from os1.memory.storage.codec import (
    from_iso,
    now,
    persona_from_json,
    persona_to_json,
    profile_from_json,
    profile_to_json,
    to_iso,
)
from os1.memory.storage.columns import MEMORY_TABLES
from os1.memory.storage.errors import StoreBusy, StoreError
from os1.memory.storage.search import search_by_rank
from os1.memory.storage.sqlite_agenda import SQLiteAgenda
from os1.memory.storage.sqlite_derived import (
    SQLiteFacts,
    SQLiteSummaries,
    SQLiteVectors,
    edit_turn,
    forget_turns,
    fts_query,
)
from os1.memory.storage.sqlite_restore import SQLiteRestorer
from os1.memory.storage.sqlite_schema import SCHEMA
from os1.memory.stores import Agenda, Facts, IndexChanges, Summaries, Vectors

SCHEMA_VERSION = 3


class SQLiteStore:
    """One person's memory in one SQLite file (``Store``)."""

    def __init__(
        self, path: Path, busy_timeout_s: float = 5.0, cache_kb: int | None = None
    ) -> None:
        """``cache_kb`` caps this connection's page cache (SQLite's default is 2 MB): a
        server with thousands of users open keeps each small."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        try:
            # One thread at a time, but not always the same one (voice replies run on a worker).
            self._db = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            with self._translate_errors():
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                if cache_kb is not None:
                    self._db.execute(f"PRAGMA cache_size=-{int(cache_kb)}")
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{path} was written by a newer OS1 (schema {version}). Upgrade OS1."
                    )
                if version < SCHEMA_VERSION:
                    # executescript commits on its own, so the transaction is in the script.
                    self._db.executescript(
                        f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
                    )
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} is not a usable OS1 database ({exc}). Move it away to start fresh, "
                "or restore it from an export."
            ) from None
        # Typed as the protocol: ``Store.agenda`` is a settable attribute, so mypy wants it
        # exactly ``Agenda``; the assignment still checks SQLiteAgenda against it.
        self.agenda: Agenda = SQLiteAgenda(self._db, self.transaction)
        # What is derived from turns: parts on this connection, writing in its transactions.
        self.facts: Facts = SQLiteFacts(self._db, self._transaction)
        self.summaries: Summaries = SQLiteSummaries(self._db, self._transaction)
        self.vectors: Vectors = SQLiteVectors(self._db, self._transaction)

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(
                    f"The OS1 database {self.path} is locked by another process (waited "
                    f"{self._busy_timeout_s:g} s). Is another os1 command writing? Let it "
                    "finish and try again, or raise store.busy_timeout_s."
                ) from None
            raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._translate_errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        return self._transaction()

    def one_connection(self) -> AbstractContextManager[None]:
        return nullcontext()  # a store is one connection already

    @contextmanager
    def restoring(self, keep_ids: bool) -> Iterator[SQLiteRestorer]:
        """Whole records written in one transaction (import, ``os1 db migrate``)."""
        with self._transaction() as db:
            yield SQLiteRestorer(db, keep_ids)

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def all_state(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._db.execute("SELECT key, value FROM memory_state")}

    def apply_skill_migrations(self, migrations: Sequence[SkillMigration]) -> list[str]:
        with self._translate_errors():
            return skill_schema.apply(self._db, migrations)

    def close(self) -> None:
        self._db.close()

    # --- sessions -------------------------------------------------------------

    def start_session(self, at: datetime | None = None) -> Session:
        started = at or now()
        with self._transaction() as db:
            cur = db.execute("INSERT INTO sessions(started_at) VALUES (?)", (to_iso(started),))
        return Session(id=int(cur.lastrowid or 0), started_at=started)

    def end_session(self, session_id: int, at: datetime | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (to_iso(at or now()), session_id),
            )

    def mark_reflected(self, session_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET reflected_at = ? WHERE id = ?", (to_iso(now()), session_id)
            )

    def current_session(self, gap: timedelta, at: datetime | None = None) -> Session | None:
        """The open session, if its last turn is more recent than ``gap``."""
        row = self._db.execute(
            "SELECT s.*, COALESCE(MAX(t.created_at), s.started_at) AS last_at FROM sessions s "
            "LEFT JOIN turns t ON t.session_id = s.id WHERE s.ended_at IS NULL "
            "GROUP BY s.id ORDER BY s.id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        last = from_iso(row["last_at"])
        if last is None or (at or now()) - last > gap:
            return None
        return _session(row)

    def open_sessions(self) -> list[Session]:
        rows = self._db.execute("SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY id")
        return [_session(r) for r in rows]

    def unreflected_sessions(self) -> list[Session]:
        rows = self._db.execute(
            "SELECT * FROM sessions WHERE ended_at IS NOT NULL AND reflected_at IS NULL ORDER BY id"
        )
        return [_session(r) for r in rows]

    def sessions(self) -> list[Session]:
        return [_session(r) for r in self._db.execute("SELECT * FROM sessions ORDER BY id")]

    def last_turn_at(self, session_id: int) -> datetime | None:
        row = self._db.execute(
            "SELECT MAX(created_at) FROM turns WHERE session_id = ?", (session_id,)
        ).fetchone()
        return from_iso(row[0])

    # --- turns ----------------------------------------------------------------

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
        created = at or now()
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO turns(session_id, role, speaker, text, created_at, status, "
                "importance, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    role.value,
                    speaker,
                    text,
                    to_iso(created),
                    status.value,
                    importance,
                    extra,
                ),
            )
        return Turn(
            id=int(cur.lastrowid or 0),
            session_id=session_id,
            role=role,
            speaker=speaker,
            text=text,
            created_at=created,
            status=status,
            importance=importance,
            extra=extra,
        )

    def finish_turn(self, turn_id: int, text: str, status: TurnStatus) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE turns SET text = ?, status = ? WHERE id = ?", (text, status.value, turn_id)
            )

    def edit_turn(self, turn_id: int, text: str) -> dict[str, int] | None:
        """Correct what a turn says; what was derived from the old words goes (see
        ``os1.memory.storage.sqlite_derived.edit_turn``). None if there is no such turn."""
        with self._transaction() as db:
            return edit_turn(db, turn_id, text)

    def recent_turns(self, limit: int, session_id: int | None = None) -> list[Turn]:
        if session_id is None:
            rows = self._db.execute("SELECT * FROM turns ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                "SELECT * FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                (session_id, limit),
            )
        return [_turn(r) for r in reversed(rows.fetchall())]

    def turns(self, session_id: int | None = None) -> list[Turn]:
        if session_id is None:
            rows = self._db.execute("SELECT * FROM turns ORDER BY id")
        else:
            rows = self._db.execute(
                "SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)
            )
        return [_turn(r) for r in rows]

    def neighbours(self, turn_id: int, before: int = 1, after: int = 1) -> list[Turn]:
        """The turn with up to ``before`` and ``after`` turns around it, same session, in
        order; empty when the turn does not exist."""
        rows = self._db.execute(
            "SELECT * FROM (SELECT t.* FROM turns t, turns x WHERE x.id = ? "
            "AND t.session_id = x.session_id AND t.id < x.id ORDER BY t.id DESC LIMIT ?) "
            "UNION ALL SELECT * FROM (SELECT t.* FROM turns t, turns x WHERE x.id = ? "
            "AND t.session_id = x.session_id AND t.id >= x.id ORDER BY t.id LIMIT ?)",
            (turn_id, max(before, 0), turn_id, max(after, 0) + 1),
        )
        return sorted((_turn(r) for r in rows), key=lambda t: t.id)

    def adjacent_sessions(self, session_id: int) -> tuple[Session | None, Session | None]:
        """The sessions just before and just after ``session_id``."""
        earlier = self._db.execute(
            "SELECT * FROM sessions WHERE id < ? ORDER BY id DESC LIMIT 1", (session_id,)
        ).fetchone()
        later = self._db.execute(
            "SELECT * FROM sessions WHERE id > ? ORDER BY id LIMIT 1", (session_id,)
        ).fetchone()
        return (_session(earlier) if earlier else None, _session(later) if later else None)

    def save_timings(self, turn_id: int, timings: dict[str, float]) -> None:
        with self._transaction() as db:
            SQLiteRestorer(db, keep_ids=True).timings(turn_id, timings)

    def timings(self, turn_id: int) -> dict[str, float]:
        rows = self._db.execute(
            "SELECT stage, seconds FROM turn_timings WHERE turn_id = ? ORDER BY seconds",
            (turn_id,),
        )
        return {str(r[0]): float(r[1]) for r in rows}

    def search_turns(
        self, query: str, limit: int, exclude_session: int | None = None
    ) -> list[tuple[Turn, float]]:
        """BM25 full-text search over every turn; higher scores are better."""
        return search_by_rank(self, query, limit, exclude_session)

    def bm25(self, query: str, limit: int, text_only: bool = False) -> list[tuple[int, float]]:
        """(turn id, BM25 score) of the best matches, best first; stopwords are ignored.

        By default the speaker, an image caption and the previous turn count too;
        ``text_only`` scores the turn's own words alone (the plain baseline).
        """
        match = fts_query(query, drop_stopwords=True)
        if not match:
            return []
        weights = "0.0, 1.0, 0.0, 0.0" if text_only else "1.0, 1.0, 1.0, 1.0"
        if text_only:
            match = "text : (" + match + ")"
        rows = self._db.execute(
            f"SELECT rowid, -bm25(turns_fts, {weights}) FROM turns_fts WHERE turns_fts MATCH ? "
            f"ORDER BY bm25(turns_fts, {weights}) LIMIT ?",
            (match, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def turns_after(self, turn_id: int, limit: int = 1_000_000) -> list[Turn]:
        rows = self._db.execute(
            "SELECT * FROM turns WHERE id > ? ORDER BY id LIMIT ?", (turn_id, limit)
        )
        return [_turn(r) for r in rows]

    def turns_after_state(self, key: str, limit: int = 1_000_000) -> list[Turn]:
        return self.turns_after(self.state(key), limit)

    def index_changes(self, after_turn_id: int, limit: int) -> IndexChanges:
        return IndexChanges(
            self.state("generation"),
            self.turns_after(after_turn_id, limit),
            self.vectors.last_rowid(),
        )

    def turns_by_ids(self, ids: Sequence[int]) -> dict[int, Turn]:
        found: dict[int, Turn] = {}
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT * FROM turns WHERE id IN ({marks})", chunk):
                found[int(row["id"])] = _turn(row)
        return found

    def previous_turns(self, turns: Sequence[Turn]) -> dict[int, Turn]:
        """For each turn, the turn before it in the same session, if any."""
        out: dict[int, Turn] = {}
        for turn in turns:
            row = self._db.execute(
                "SELECT * FROM turns WHERE session_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
                (turn.session_id, turn.id),
            ).fetchone()
            if row is not None:
                out[turn.id] = _turn(row)
        return out

    def speakers(self) -> list[str]:
        return [str(r[0]) for r in self._db.execute("SELECT DISTINCT speaker FROM turns")]

    def turn_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM turns").fetchone()[0])

    def state(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM memory_state WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def set_state(self, key: str, value: int) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO memory_state(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def forget_turns(self, turn_ids: Iterable[int]) -> dict[str, int]:
        """Delete turns and everything derived from them; how many of each went."""
        ids = sorted(set(turn_ids))
        if not ids:
            return {"turns": 0, "facts": 0, "summaries": 0, "vectors": 0}
        with self._transaction() as db:
            return forget_turns(db, ids)

    def erase(self) -> dict[str, int]:
        """Delete every row, back to before the first run; how many went from each table.
        Deleted content is overwritten (``secure_delete``), the full-text indexes are
        merged down and the write-ahead log emptied, so the file keeps none of it."""
        generation = self.state("generation")
        with self._translate_errors():
            self._db.execute("PRAGMA secure_delete=ON")
            try:
                with self._transaction() as db:
                    erased = {
                        table: db.execute(f"DELETE FROM {table}").rowcount
                        for table in MEMORY_TABLES
                    }
                    for index in ("turns_fts", "facts_fts"):
                        db.execute(f"INSERT INTO {index}({index}) VALUES ('optimize')")
                    # Every in-memory index (in any process) reloads, finding nothing.
                    db.execute(
                        "INSERT INTO memory_state(key, value) VALUES ('generation', ?)",
                        (generation + 1,),
                    )
            finally:
                self._db.execute("PRAGMA secure_delete=OFF")
            # A reader elsewhere may keep part of the log until it finishes; not an error.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased

    # --- profile and persona --------------------------------------------------

    def save_profile(self, profile: UserProfile) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO profile(id, doc, updated_at) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET "
                "doc = excluded.doc, updated_at = excluded.updated_at",
                (profile_to_json(profile), to_iso(now())),
            )

    def profile(self) -> UserProfile | None:
        row = self._db.execute("SELECT doc FROM profile WHERE id = 1").fetchone()
        return profile_from_json(row["doc"]) if row else None

    def save_persona(self, persona: Persona, reason: str) -> int:
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO persona_versions(created_at, reason, doc) VALUES (?, ?, ?)",
                (to_iso(now()), reason, persona_to_json(persona)),
            )
        return int(cur.lastrowid or 0)

    def persona(self) -> Persona | None:
        row = self._db.execute(
            "SELECT doc FROM persona_versions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return persona_from_json(row["doc"]) if row else None

    def persona_history(self) -> list[tuple[int, datetime, str, Persona]]:
        rows = self._db.execute("SELECT * FROM persona_versions ORDER BY id")
        return [
            (
                int(r["id"]),
                datetime.fromisoformat(r["created_at"]),
                str(r["reason"]),
                persona_from_json(r["doc"]),
            )
            for r in rows
        ]


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=int(row["id"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        ended_at=from_iso(row["ended_at"]),
        reflected_at=from_iso(row["reflected_at"]),
    )


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        id=int(row["id"]),
        session_id=int(row["session_id"]),
        role=Role(row["role"]),
        speaker=str(row["speaker"]),
        text=str(row["text"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        status=TurnStatus(row["status"]),
        importance=float(row["importance"]),
        extra=str(row["extra"]),
    )
