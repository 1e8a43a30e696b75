"""What is due later, and what waits for the user: scheduled items, notices, confirmations.

A skill schedules an item (a reminder, a meeting's warning); when it falls due, the
scheduler claims it (exactly once, whichever process looks) and it becomes a notice for
the user. A side effect a skill proposes (cancel, send, delete) is a confirmation: it runs
only when the user says yes, and each answer is stored with its time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ScheduledStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Scheduled:
    """An item a skill wants to hear about at ``due_at`` (timezone-aware).

    ``recurrence`` is empty for a one-off, else a rule the skill understands (reminders
    use an RFC 5545 RRULE such as ``FREQ=WEEKLY;BYDAY=MO``) with ``timezone``, the IANA zone
    its wall-clock times are in, so that "every Monday at 9" stays at 9 across daylight
    saving changes."""

    id: int
    skill: str
    kind: str
    text: str
    due_at: datetime
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    recurrence: str = ""
    timezone: str = "UTC"
    status: ScheduledStatus = ScheduledStatus.PENDING
    fired_at: datetime | None = None


@dataclass(frozen=True)
class Notice:
    """Something to tell the user between turns, in any face (CLI, web, voice)."""

    id: int
    text: str
    source: str  # the skill that raised it, e.g. "reminders"
    created_at: datetime
    due_at: datetime | None = None
    # Due while OS1 was not running: delivered when it started, marked as late.
    late: bool = False
    delivered_at: datetime | None = None
    scheduled_id: int | None = None


class ConfirmationStatus(StrEnum):
    WAITING = "waiting"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Confirmation:
    """A side effect waiting for the user's yes: ``skill``'s action ``action`` with
    ``args``, described to the user by ``question`` ("Shall I cancel …?")."""

    id: int
    skill: str
    action: str
    args: dict[str, Any]
    question: str
    asked_at: datetime
    status: ConfirmationStatus = ConfirmationStatus.WAITING
    answered_at: datetime | None = None
    result: str = ""
