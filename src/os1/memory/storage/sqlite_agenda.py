"""The SQLite store's agenda: scheduled items, notices and confirmations, in the same
file and on the same connection as the rest of a person's memory (``SQLiteStore.agenda``).

Every change that must happen once (claiming due items, answering a confirmation) is one
``UPDATE … RETURNING`` inside ``BEGIN IMMEDIATE``: SQLite lets one writer in at a time,
so of two processes claiming together the second sees only what the first left pending.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from os1.domain import Confirmation, ConfirmationStatus, Notice, Scheduled, ScheduledStatus
from os1.memory.storage import codec
from os1.memory.storage.agenda_rows import (
    CONFIRMATION_COLUMNS,
    NOTICE_COLUMNS,
    SCHEDULED_COLUMNS,
    answer_status,
    aware,
    confirmation_from_row,
    json_object,
    notice_from_row,
    scheduled_from_row,
)
from os1.memory.storage.codec import from_iso, to_iso
from os1.memory.storage.sqlite_restore import SQLiteRestorer

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
# SQLite allows 999 parameters per statement in older builds: lists go in chunks.
CHUNK = 900


class SQLiteAgenda:
    """An ``Agenda`` on a ``SQLiteStore``'s connection, writing through its transactions."""

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        self._db = db
        self._transaction = transaction

    # --- scheduled items ---------------------------------------------------------

    def schedule(
        self,
        skill: str,
        kind: str,
        text: str,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
        recurrence: str = "",
        timezone: str = "UTC",
    ) -> Scheduled:
        json_object(payload, "payload")
        item = Scheduled(
            id=0,
            skill=skill,
            kind=kind,
            text=text,
            due_at=aware(due_at, "due_at"),
            created_at=codec.now(),
            payload=dict(payload or {}),
            recurrence=recurrence,
            timezone=timezone,
        )
        with self._transaction() as db:
            return replace(item, id=SQLiteRestorer(db, keep_ids=False).scheduled(item))

    def scheduled_items(
        self,
        skill: str | None = None,
        statuses: Iterable[ScheduledStatus] = (ScheduledStatus.PENDING,),
    ) -> list[Scheduled]:
        wanted = [ScheduledStatus(s).value for s in statuses]
        if not wanted:
            return []
        where = f"status IN ({', '.join('?' * len(wanted))})"
        params: list[object] = list(wanted)
        if skill is not None:
            where += " AND skill = ?"
            params.append(skill)
        rows = self._db.execute(
            f"SELECT {SCHEDULED_COLUMNS} FROM scheduled WHERE {where} ORDER BY due_at, id",
            params,
        )
        return [scheduled_from_row(r, from_iso) for r in rows]

    def get_scheduled(self, item_id: int) -> Scheduled | None:
        row = self._db.execute(
            f"SELECT {SCHEDULED_COLUMNS} FROM scheduled WHERE id = ?", (item_id,)
        ).fetchone()
        return scheduled_from_row(row, from_iso) if row else None

    def cancel_scheduled(self, item_id: int) -> Scheduled | None:
        return self._update_one(
            "UPDATE scheduled SET status = 'cancelled' WHERE id = ? AND status = 'pending' "
            f"RETURNING {SCHEDULED_COLUMNS}",
            (item_id,),
        )

    def reschedule(self, item_id: int, due_at: datetime) -> Scheduled | None:
        return self._update_one(
            "UPDATE scheduled SET status = 'pending', due_at = ? "
            f"WHERE id = ? AND status IN ('pending', 'fired') RETURNING {SCHEDULED_COLUMNS}",
            (to_iso(aware(due_at, "due_at")), item_id),
        )

    def _update_one(self, sql: str, params: tuple[object, ...]) -> Scheduled | None:
        with self._transaction() as db:
            row = db.execute(sql, params).fetchone()
        return scheduled_from_row(row, from_iso) if row else None

    def claim_due(self, now: datetime, limit: int = 100) -> list[Scheduled]:
        moment = to_iso(aware(now, "now"))
        with self._transaction() as db:
            # RETURNING rows must be read before the transaction commits.
            rows = db.execute(
                "UPDATE scheduled SET status = 'fired', fired_at = ? WHERE id IN "
                "(SELECT id FROM scheduled WHERE status = 'pending' AND due_at <= ? "
                f"ORDER BY due_at, id LIMIT ?) RETURNING {SCHEDULED_COLUMNS}",
                (moment, moment, max(int(limit), 0)),
            ).fetchall()
        # RETURNING comes in no promised order.
        return sorted((scheduled_from_row(r, from_iso) for r in rows), key=_due_order)

    def next_due_at(self) -> datetime | None:
        row = self._db.execute(
            "SELECT min(due_at) FROM scheduled WHERE status = 'pending'"
        ).fetchone()
        return from_iso(row[0])

    # --- notices -----------------------------------------------------------------

    def add_notice(
        self,
        text: str,
        source: str,
        due_at: datetime | None = None,
        late: bool = False,
        scheduled_id: int | None = None,
    ) -> Notice:
        notice = Notice(
            id=0,
            text=text,
            source=source,
            created_at=codec.now(),
            due_at=due_at and aware(due_at, "due_at"),
            late=late,
            scheduled_id=scheduled_id,
        )
        with self._transaction() as db:
            return replace(notice, id=SQLiteRestorer(db, keep_ids=False).notice(notice))

    def pending_notices(self, limit: int = 50) -> list[Notice]:
        rows = self._db.execute(
            f"SELECT {NOTICE_COLUMNS} FROM notices WHERE delivered_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [notice_from_row(r, from_iso) for r in rows]

    def mark_delivered(self, notice_ids: Iterable[int]) -> None:
        ids = [int(i) for i in notice_ids]
        if not ids:
            return
        delivered = to_iso(codec.now())
        with self._transaction() as db:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                db.execute(
                    "UPDATE notices SET delivered_at = ? WHERE delivered_at IS NULL "
                    f"AND id IN ({', '.join('?' * len(chunk))})",
                    [delivered, *chunk],
                )

    def take_pending_notices(self, limit: int = 50) -> list[Notice]:
        delivered = to_iso(codec.now())
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE notices SET delivered_at = ? WHERE id IN (SELECT id FROM notices "
                f"WHERE delivered_at IS NULL ORDER BY id LIMIT ?) RETURNING {NOTICE_COLUMNS}",
                (delivered, max(int(limit), 0)),
            ).fetchall()
        return sorted((notice_from_row(r, from_iso) for r in rows), key=lambda n: n.id)

    def recent_notices(self, limit: int = 50) -> list[Notice]:
        rows = self._db.execute(
            f"SELECT {NOTICE_COLUMNS} FROM notices ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [notice_from_row(r, from_iso) for r in reversed(rows)]

    # --- confirmations -----------------------------------------------------------

    def ask_confirmation(
        self, skill: str, action: str, args: Mapping[str, Any], question: str
    ) -> Confirmation:
        json_object(args, "args")
        asked = Confirmation(
            id=0,
            skill=skill,
            action=action,
            args=dict(args),
            question=question,
            asked_at=codec.now(),
        )
        with self._transaction() as db:
            # One question at a time: an older one left unanswered can no longer be.
            db.execute(
                "UPDATE confirmations SET status = 'expired', answered_at = ? "
                "WHERE status = 'waiting'",
                (to_iso(asked.asked_at),),
            )
            return replace(asked, id=SQLiteRestorer(db, keep_ids=False).confirmation(asked))

    def waiting_confirmation(self) -> Confirmation | None:
        row = self._db.execute(
            f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE status = 'waiting' "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return confirmation_from_row(row, from_iso) if row else None

    def get_confirmation(self, confirmation_id: int) -> Confirmation | None:
        row = self._db.execute(
            f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE id = ?", (confirmation_id,)
        ).fetchone()
        return confirmation_from_row(row, from_iso) if row else None

    def answer_confirmation(
        self, confirmation_id: int, status: ConfirmationStatus, result: str = ""
    ) -> Confirmation | None:
        answer = answer_status(status)
        with self._transaction() as db:
            row = db.execute(
                "UPDATE confirmations SET status = ?, answered_at = ?, result = ? "
                f"WHERE id = ? AND status = 'waiting' RETURNING {CONFIRMATION_COLUMNS}",
                (answer.value, to_iso(codec.now()), result, confirmation_id),
            ).fetchone()
        return confirmation_from_row(row, from_iso) if row else None

    def set_confirmation_result(self, confirmation_id: int, result: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE confirmations SET result = ? WHERE id = ?", (result, confirmation_id)
            )

    def confirmations(self) -> list[Confirmation]:
        rows = self._db.execute(f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations ORDER BY id")
        return [confirmation_from_row(r, from_iso) for r in rows]


def _due_order(item: Scheduled) -> tuple[datetime, int]:
    return item.due_at, item.id
