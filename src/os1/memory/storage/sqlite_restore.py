"""Writing whole records into a SQLite store, for import and ``os1 db migrate``."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

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
from os1.memory.storage.codec import now, persona_to_json, profile_to_json, to_iso
from os1.memory.storage.columns import fact_columns, session_columns, summary_columns, turn_columns
from os1.memory.storage.sqlite_derived import insert_vectors


class SQLiteRestorer:
    """A ``Restorer`` on one open SQLite transaction."""

    def __init__(self, db: sqlite3.Connection, keep_ids: bool) -> None:
        self._db = db
        self._keep_ids = keep_ids

    def _insert(self, table: str, record_id: int, values: Mapping[str, object]) -> int:
        columns = {"id": record_id, **values} if self._keep_ids else dict(values)
        marks = ", ".join("?" * len(columns))
        cur = self._db.execute(
            f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", list(columns.values())
        )
        return int(cur.lastrowid or 0)

    def profile(self, profile: UserProfile) -> None:
        self._db.execute(
            "INSERT INTO profile(id, doc, updated_at) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
            (profile_to_json(profile), to_iso(now())),
        )

    def persona(self, version: int, created_at: datetime, reason: str, persona: Persona) -> int:
        return self._insert(
            "persona_versions",
            version,
            {"created_at": to_iso(created_at), "reason": reason, "doc": persona_to_json(persona)},
        )

    def session(self, session: Session) -> int:
        return self._insert("sessions", session.id, session_columns(session, to_iso))

    def turn(self, turn: Turn) -> int:
        return self._insert("turns", turn.id, turn_columns(turn, to_iso))

    def fact(self, fact: Fact) -> int:
        fact_id = self._insert("facts", fact.id, fact_columns(fact, to_iso, now()))
        self._db.executemany(
            "INSERT OR IGNORE INTO fact_sources(fact_id, turn_id) VALUES (?, ?)",
            [(fact_id, t) for t in fact.source_turn_ids],
        )
        return fact_id

    def summary(self, summary: Summary) -> int:
        summary_id = self._insert("summaries", summary.id, summary_columns(summary, to_iso))
        self._db.executemany(
            "INSERT OR IGNORE INTO summary_sources(summary_id, turn_id) VALUES (?, ?)",
            [(summary_id, t) for t in summary.source_turn_ids],
        )
        return summary_id

    def state(self, values: Mapping[str, int]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO memory_state(key, value) VALUES (?, ?)", list(values.items())
        )

    def timings(self, turn_id: int, timings: Mapping[str, float]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO turn_timings(turn_id, stage, seconds) VALUES (?, ?, ?)",
            [(turn_id, stage, float(s)) for stage, s in timings.items()],
        )

    def vectors(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        insert_vectors(self._db, model, kind, rows, vectors)

    def scheduled(self, item: Scheduled) -> int:
        return self._insert("scheduled", item.id, scheduled_columns(item, to_iso))

    def notice(self, notice: Notice) -> int:
        return self._insert("notices", notice.id, notice_columns(notice, to_iso))

    def confirmation(self, confirmation: Confirmation) -> int:
        return self._insert(
            "confirmations", confirmation.id, confirmation_columns(confirmation, to_iso)
        )
