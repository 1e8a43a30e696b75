"""The PostgreSQL store's agenda: one user's scheduled items, notices and confirmations
(``PostgresStore.agenda``), every statement scoped by that user's id.

New rows are numbered per user under the user's lock (the store's ``_write``), as every
other table is. A change that must happen once is one statement, without that lock:
claiming locks the due rows it takes and skips rows another claimer holds (``FOR UPDATE
SKIP LOCKED``), so several processes claim side by side and no row reaches two of them;
answering a confirmation updates it only while it still waits, and a second answer,
queued behind the first, finds it answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
from os1.memory.storage.postgres.database import Connection, Database
from os1.memory.storage.postgres.restore import PostgresRestorer, utc

Write = Callable[[], AbstractContextManager[Connection]]
Params = Sequence[object] | dict[str, object]


def _same(value: Any) -> datetime | None:
    """PostgreSQL returns times as aware datetimes already (in UTC: database.py)."""
    return value if isinstance(value, datetime) else None


def _prefixed(columns: str, table: str) -> str:
    return ", ".join(f"{table}.{c}" for c in columns.split(", "))


class PostgresAgenda:
    """An ``Agenda`` for one user, on a ``PostgresStore``'s pool and lock."""

    def __init__(self, database: Database, user_id: int, write: Write) -> None:
        self._database = database
        self._user = int(user_id)
        self._write = write

    def _rows(self, sql: str, params: Params) -> list[Any]:
        # The pool's connection, or the one this thread holds (``Store.one_connection``).
        with self._database.connection() as conn, conn.cursor() as cur:
            return cur.execute(sql.encode(), params).fetchall()

    def _execute(self, sql: str, params: Params) -> None:
        with self._database.connection() as conn:
            conn.execute(sql.encode(), params)

    def _one(self, sql: str, params: Params) -> Any:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

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
        with self._write() as conn:
            new_id = PostgresRestorer(conn, self._user, keep_ids=False).scheduled(item)
        return replace(item, id=new_id)

    def scheduled_items(
        self,
        skill: str | None = None,
        statuses: Iterable[ScheduledStatus] = (ScheduledStatus.PENDING,),
    ) -> list[Scheduled]:
        wanted = [ScheduledStatus(s).value for s in statuses]
        rows = self._rows(
            f"SELECT {SCHEDULED_COLUMNS} FROM scheduled WHERE user_id = %(user)s "
            "AND status = ANY(%(statuses)s::text[]) "
            "AND (%(skill)s::text IS NULL OR skill = %(skill)s) "
            "ORDER BY due_at, id",
            {"user": self._user, "statuses": wanted, "skill": skill},
        )
        return [scheduled_from_row(r, _same) for r in rows]

    def get_scheduled(self, item_id: int) -> Scheduled | None:
        row = self._one(
            f"SELECT {SCHEDULED_COLUMNS} FROM scheduled WHERE user_id = %s AND id = %s",
            (self._user, item_id),
        )
        return scheduled_from_row(row, _same) if row else None

    def cancel_scheduled(self, item_id: int) -> Scheduled | None:
        row = self._one(
            "UPDATE scheduled SET status = 'cancelled' WHERE user_id = %s AND id = %s "
            f"AND status = 'pending' RETURNING {SCHEDULED_COLUMNS}",
            (self._user, item_id),
        )
        return scheduled_from_row(row, _same) if row else None

    def reschedule(self, item_id: int, due_at: datetime) -> Scheduled | None:
        row = self._one(
            "UPDATE scheduled SET status = 'pending', due_at = %s WHERE user_id = %s "
            f"AND id = %s AND status IN ('pending', 'fired') RETURNING {SCHEDULED_COLUMNS}",
            (utc(aware(due_at, "due_at")), self._user, item_id),
        )
        return scheduled_from_row(row, _same) if row else None

    def claim_due(self, now: datetime, limit: int = 100) -> list[Scheduled]:
        # A locking CTE runs once (PostgreSQL never inlines one with FOR UPDATE), so the
        # rows it locked are exactly the rows updated. A row another claimer locked and
        # then committed is read again at its new version, fired, and left out.
        rows = self._rows(
            "WITH due AS (SELECT id FROM scheduled WHERE user_id = %(user)s "
            "AND status = 'pending' AND due_at <= %(now)s ORDER BY due_at, id "
            "LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "UPDATE scheduled s SET status = 'fired', fired_at = %(now)s FROM due "
            "WHERE s.user_id = %(user)s AND s.id = due.id AND s.status = 'pending' "
            f"RETURNING {_prefixed(SCHEDULED_COLUMNS, 's')}",
            {"user": self._user, "now": utc(aware(now, "now")), "limit": max(int(limit), 0)},
        )
        items = [scheduled_from_row(r, _same) for r in rows]
        return sorted(items, key=lambda item: (item.due_at, item.id))

    def next_due_at(self) -> datetime | None:
        row = self._one(
            "SELECT min(due_at) FROM scheduled WHERE user_id = %s AND status = 'pending'",
            (self._user,),
        )
        return _same(row[0]) if row else None

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
        with self._write() as conn:
            new_id = PostgresRestorer(conn, self._user, keep_ids=False).notice(notice)
        return replace(notice, id=new_id)

    def pending_notices(self, limit: int = 50) -> list[Notice]:
        rows = self._rows(
            f"SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = %s "
            "AND delivered_at IS NULL ORDER BY id LIMIT %s",
            (self._user, limit),
        )
        return [notice_from_row(r, _same) for r in rows]

    def mark_delivered(self, notice_ids: Iterable[int]) -> None:
        ids = [int(i) for i in notice_ids]
        if not ids:
            return
        self._execute(
            "UPDATE notices SET delivered_at = %s WHERE user_id = %s AND id = ANY(%s) "
            "AND delivered_at IS NULL",
            (codec.now(), self._user, ids),
        )

    def take_pending_notices(self, limit: int = 50) -> list[Notice]:
        rows = self._rows(
            "WITH due AS (SELECT id FROM notices WHERE user_id = %(user)s "
            "AND delivered_at IS NULL ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "UPDATE notices n SET delivered_at = %(now)s FROM due WHERE n.user_id = %(user)s "
            "AND n.id = due.id AND n.delivered_at IS NULL "
            f"RETURNING {_prefixed(NOTICE_COLUMNS, 'n')}",
            {"user": self._user, "now": codec.now(), "limit": max(int(limit), 0)},
        )
        return sorted((notice_from_row(r, _same) for r in rows), key=lambda n: n.id)

    def recent_notices(self, limit: int = 50) -> list[Notice]:
        rows = self._rows(
            f"SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = %s ORDER BY id DESC LIMIT %s",
            (self._user, limit),
        )
        return [notice_from_row(r, _same) for r in reversed(rows)]

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
        with self._write() as conn:
            # One question at a time: an older one left unanswered can no longer be.
            conn.execute(
                "UPDATE confirmations SET status = 'expired', answered_at = %s "
                "WHERE user_id = %s AND status = 'waiting'",
                (asked.asked_at, self._user),
            )
            new_id = PostgresRestorer(conn, self._user, keep_ids=False).confirmation(asked)
        return replace(asked, id=new_id)

    def waiting_confirmation(self) -> Confirmation | None:
        row = self._one(
            f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE user_id = %s "
            "AND status = 'waiting' ORDER BY id DESC LIMIT 1",
            (self._user,),
        )
        return confirmation_from_row(row, _same) if row else None

    def get_confirmation(self, confirmation_id: int) -> Confirmation | None:
        row = self._one(
            f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE user_id = %s AND id = %s",
            (self._user, confirmation_id),
        )
        return confirmation_from_row(row, _same) if row else None

    def answer_confirmation(
        self, confirmation_id: int, status: ConfirmationStatus, result: str = ""
    ) -> Confirmation | None:
        answer = answer_status(status)
        row = self._one(
            "UPDATE confirmations SET status = %s, answered_at = %s, result = %s "
            "WHERE user_id = %s AND id = %s AND status = 'waiting' "
            f"RETURNING {CONFIRMATION_COLUMNS}",
            (answer.value, codec.now(), result, self._user, confirmation_id),
        )
        return confirmation_from_row(row, _same) if row else None

    def set_confirmation_result(self, confirmation_id: int, result: str) -> None:
        self._execute(
            "UPDATE confirmations SET result = %s WHERE user_id = %s AND id = %s",
            (result, self._user, confirmation_id),
        )

    def confirmations(self) -> list[Confirmation]:
        rows = self._rows(
            f"SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE user_id = %s ORDER BY id",
            (self._user,),
        )
        return [confirmation_from_row(r, _same) for r in rows]
