"""The agenda in an export (``os1.memory.exporting``) and in a move between stores
(``os1.memory.transfer``): scheduled items, notices and confirmations as JSON records,
and back, with every time as ISO text in UTC and every status kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from os1.domain import Confirmation, ConfirmationStatus, Notice, Scheduled, ScheduledStatus
from os1.memory.storage.codec import from_iso, to_iso
from os1.memory.stores import Agenda

EVERY_STATUS = tuple(ScheduledStatus)
# Large enough for every notice a person could have.
ALL = 10**9


def every_scheduled(agenda: Agenda) -> list[Scheduled]:
    return sorted(agenda.scheduled_items(statuses=EVERY_STATUS), key=lambda i: i.id)


def every_notice(agenda: Agenda) -> list[Notice]:
    return agenda.recent_notices(limit=ALL)


def is_empty(agenda: Agenda) -> bool:
    return not (
        agenda.scheduled_items(statuses=EVERY_STATUS)
        or agenda.recent_notices(limit=1)
        or agenda.confirmations()
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)


def records(agenda: Agenda) -> Iterator[dict[str, Any]]:
    """Every scheduled item, notice and confirmation, each kind in order of id."""
    for item in every_scheduled(agenda):
        yield {
            "type": "scheduled",
            "id": item.id,
            "skill": item.skill,
            "kind": item.kind,
            "text": item.text,
            "due_at": to_iso(item.due_at),
            "created_at": to_iso(item.created_at),
            "payload": item.payload,
            "recurrence": item.recurrence,
            "timezone": item.timezone,
            "status": item.status.value,
            "fired_at": _iso(item.fired_at),
        }
    for notice in every_notice(agenda):
        yield {
            "type": "notice",
            "id": notice.id,
            "text": notice.text,
            "source": notice.source,
            "created_at": to_iso(notice.created_at),
            "due_at": _iso(notice.due_at),
            "late": notice.late,
            "delivered_at": _iso(notice.delivered_at),
            "scheduled_id": notice.scheduled_id,
        }
    for confirmation in agenda.confirmations():
        yield {
            "type": "confirmation",
            "id": confirmation.id,
            "skill": confirmation.skill,
            "action": confirmation.action,
            "args": confirmation.args,
            "question": confirmation.question,
            "asked_at": to_iso(confirmation.asked_at),
            "status": confirmation.status.value,
            "answered_at": _iso(confirmation.answered_at),
            "result": confirmation.result,
        }


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} is not a JSON object")
    return dict(value)


def scheduled_from_record(record: Mapping[str, Any]) -> Scheduled:
    return Scheduled(
        id=int(record["id"]),
        skill=str(record["skill"]),
        kind=str(record["kind"]),
        text=str(record["text"]),
        due_at=_time(record["due_at"]),
        created_at=_time(record["created_at"]),
        payload=_object(record.get("payload", {}), "payload"),
        recurrence=str(record.get("recurrence", "")),
        timezone=str(record.get("timezone", "UTC")),
        status=ScheduledStatus(record["status"]),
        fired_at=from_iso(record.get("fired_at")),
    )


def notice_from_record(record: Mapping[str, Any], scheduled_ids: Mapping[int, int]) -> Notice:
    """The notice, its ``scheduled_id`` the restored item's id (None if not restored)."""
    scheduled = record.get("scheduled_id")
    return Notice(
        id=int(record["id"]),
        text=str(record["text"]),
        source=str(record["source"]),
        created_at=_time(record["created_at"]),
        due_at=from_iso(record.get("due_at")),
        late=bool(record.get("late", False)),
        delivered_at=from_iso(record.get("delivered_at")),
        scheduled_id=None if scheduled is None else scheduled_ids.get(int(scheduled)),
    )


def confirmation_from_record(record: Mapping[str, Any]) -> Confirmation:
    return Confirmation(
        id=int(record["id"]),
        skill=str(record["skill"]),
        action=str(record["action"]),
        args=_object(record["args"], "args"),
        question=str(record["question"]),
        asked_at=_time(record["asked_at"]),
        status=ConfirmationStatus(record["status"]),
        answered_at=from_iso(record.get("answered_at")),
        result=str(record.get("result", "")),
    )


def markdown(agenda: Agenda) -> list[str]:
    """The agenda's lines of the readable export (none when it is empty)."""
    lines: list[str] = []
    items = every_scheduled(agenda)
    if items:
        lines += ["## Scheduled", ""]
        for item in items:
            every = f", repeating {item.recurrence} ({item.timezone})" if item.recurrence else ""
            lines.append(
                f"- {item.due_at:%d %B %Y %H:%M} UTC: {item.text} "
                f"({item.skill}, {item.status.value}{every})"
            )
        lines.append("")
    notices = every_notice(agenda)
    if notices:
        lines += ["## Notices", ""]
        lines += [f"- {n.created_at:%d %B %Y %H:%M} UTC ({n.source}): {n.text}" for n in notices]
        lines.append("")
    confirmations = agenda.confirmations()
    if confirmations:
        lines += ["## Confirmations", ""]
        lines += [
            f"- {c.asked_at:%d %B %Y %H:%M} UTC: {c.question} ({c.status.value})"
            for c in confirmations
        ]
        lines.append("")
    return lines
