"""Scheduled items, notices and confirmations as the column values both stores write and
read, each store with its own form of time (ISO text in SQLite, ``timestamptz`` in
PostgreSQL), and the checks every write makes first."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from os1.domain import Confirmation, ConfirmationStatus, Notice, Scheduled, ScheduledStatus
from os1.memory.storage.columns import Moment

SCHEDULED_COLUMNS = (
    "id, skill, kind, text, due_at, created_at, payload, recurrence, timezone, status, fired_at"
)
NOTICE_COLUMNS = "id, text, source, created_at, due_at, late, delivered_at, scheduled_id"
CONFIRMATION_COLUMNS = "id, skill, action, args, question, asked_at, status, answered_at, result"

# How a store reads a time column back: SQLite parses ISO text, PostgreSQL has it already.
ReadTime = Callable[[Any], datetime | None]


def aware(moment: datetime, what: str) -> datetime:
    """``moment``, refused when it has no timezone: a naive time would be read as the
    server's local time, and a reminder set from another zone would fire hours off."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")
    return moment


def json_object(value: Mapping[str, Any] | None, what: str) -> str:
    """``value`` as JSON text, refused unless it is a JSON object."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None


def scheduled_columns(item: Scheduled, moment: Moment) -> dict[str, object]:
    return {
        "skill": item.skill,
        "kind": item.kind,
        "text": item.text,
        "due_at": moment(aware(item.due_at, "due_at")),
        "created_at": moment(aware(item.created_at, "created_at")),
        "payload": json_object(item.payload, "payload"),
        "recurrence": item.recurrence,
        "timezone": item.timezone,
        "status": ScheduledStatus(item.status).value,
        "fired_at": item.fired_at and moment(aware(item.fired_at, "fired_at")),
    }


def notice_columns(notice: Notice, moment: Moment) -> dict[str, object]:
    return {
        "text": notice.text,
        "source": notice.source,
        "created_at": moment(aware(notice.created_at, "created_at")),
        "due_at": notice.due_at and moment(aware(notice.due_at, "due_at")),
        "late": bool(notice.late),
        "delivered_at": notice.delivered_at and moment(aware(notice.delivered_at, "delivered_at")),
        "scheduled_id": notice.scheduled_id,
    }


def confirmation_columns(confirmation: Confirmation, moment: Moment) -> dict[str, object]:
    answered = confirmation.answered_at
    return {
        "skill": confirmation.skill,
        "action": confirmation.action,
        "args": json_object(confirmation.args, "args"),
        "question": confirmation.question,
        "asked_at": moment(aware(confirmation.asked_at, "asked_at")),
        "status": ConfirmationStatus(confirmation.status).value,
        "answered_at": answered and moment(aware(answered, "answered_at")),
        "result": confirmation.result,
    }


def _object(value: Any) -> dict[str, Any]:
    """A JSON column: text from SQLite, already a dict from PostgreSQL's jsonb."""
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(loaded)


def _when(read: ReadTime, value: Any) -> datetime:
    moment = read(value)
    assert moment is not None, "a NOT NULL time column"
    return moment


def scheduled_from_row(row: Sequence[Any], read: ReadTime) -> Scheduled:
    """A ``SCHEDULED_COLUMNS`` row."""
    return Scheduled(
        id=int(row[0]),
        skill=str(row[1]),
        kind=str(row[2]),
        text=str(row[3]),
        due_at=_when(read, row[4]),
        created_at=_when(read, row[5]),
        payload=_object(row[6]),
        recurrence=str(row[7]),
        timezone=str(row[8]),
        status=ScheduledStatus(row[9]),
        fired_at=read(row[10]),
    )


def notice_from_row(row: Sequence[Any], read: ReadTime) -> Notice:
    """A ``NOTICE_COLUMNS`` row."""
    return Notice(
        id=int(row[0]),
        text=str(row[1]),
        source=str(row[2]),
        created_at=_when(read, row[3]),
        due_at=read(row[4]),
        late=bool(row[5]),
        delivered_at=read(row[6]),
        scheduled_id=None if row[7] is None else int(row[7]),
    )


def confirmation_from_row(row: Sequence[Any], read: ReadTime) -> Confirmation:
    """A ``CONFIRMATION_COLUMNS`` row."""
    return Confirmation(
        id=int(row[0]),
        skill=str(row[1]),
        action=str(row[2]),
        args=_object(row[3]),
        question=str(row[4]),
        asked_at=_when(read, row[5]),
        status=ConfirmationStatus(row[6]),
        answered_at=read(row[7]),
        result=str(row[8]),
    )


def answer_status(status: ConfirmationStatus) -> ConfirmationStatus:
    """``status``, refused when it is no answer (``WAITING``)."""
    status = ConfirmationStatus(status)
    if status is ConfirmationStatus.WAITING:
        raise ValueError("an answer is confirmed, declined or expired, not waiting")
    return status
