"""What a turn tells the faces that render it: typed events, serialised to JSON at one
edge (``as_dict``), so the CLI, the WebSockets, SSE and the OpenAI endpoint say the same
things in the same words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from os1.domain import Turn


class EventKind(StrEnum):
    STARTED = "started"  # the user's words are stored
    NOTICE = "notice"  # something due to tell the user (a reminder)
    TOKEN = "token"  # a piece of the reply
    ACTION = "action"  # a skill acted (an intent or a tool)
    CONFIRM = "confirm"  # a side effect waits for the user's yes
    GENERATED = "generated"  # the reply is fully written (voice may still be speaking it)
    DONE = "done"  # the reply is stored


@dataclass(frozen=True)
class Started:
    kind: ClassVar[EventKind] = EventKind.STARTED
    session_id: int
    user_turn_id: int


@dataclass(frozen=True)
class NoticeDue:
    kind: ClassVar[EventKind] = EventKind.NOTICE
    id: int
    text: str
    source: str
    late: bool = False
    due_at: datetime | None = None


@dataclass(frozen=True)
class Token:
    kind: ClassVar[EventKind] = EventKind.TOKEN
    text: str


@dataclass(frozen=True)
class ActionTaken:
    """A skill acted: ``via`` is "intent", "tool" or "confirmation"."""

    kind: ClassVar[EventKind] = EventKind.ACTION
    skill: str
    name: str
    via: str
    text: str


@dataclass(frozen=True)
class ConfirmationAsked:
    kind: ClassVar[EventKind] = EventKind.CONFIRM
    id: int
    skill: str
    action: str
    question: str


@dataclass(frozen=True)
class Generated:
    kind: ClassVar[EventKind] = EventKind.GENERATED
    text: str


@dataclass(frozen=True)
class Done:
    kind: ClassVar[EventKind] = EventKind.DONE
    reply: str
    status: str
    name: str
    session_id: int
    user_turn_id: int
    turn_id: int | None
    first_token_s: float | None


Event = Started | NoticeDue | Token | ActionTaken | ConfirmationAsked | Generated | Done


def turn_ref(turn_id: int | None) -> str | None:
    """A turn's public id, as memory ids are written everywhere ("t12")."""
    return f"t{turn_id}" if turn_id is not None else None


def turn_dict(turn: Turn) -> dict[str, Any]:
    """A stored turn, as every face shows it in JSON."""
    return {
        "id": turn_ref(turn.id),
        "session_id": turn.session_id,
        "role": turn.role.value,
        "speaker": turn.speaker,
        "text": turn.text,
        "at": turn.created_at.isoformat(),
        "status": turn.status.value,
    }


def as_dict(event: Event) -> dict[str, Any]:
    """The one JSON form of an event: ``{"type": kind, ...fields}``. Every field is plain
    (no nested dataclass), so a shallow copy does; ``asdict``'s deep copy cost about 6 µs
    an event, several per reply, thousands of replies a second."""
    data = dict(vars(event))
    if isinstance(event, Started | Done):
        data["user_turn_id"] = turn_ref(event.user_turn_id)
    if isinstance(event, Done):
        data["turn_id"] = turn_ref(event.turn_id)
    if isinstance(event, NoticeDue) and event.due_at is not None:
        data["due_at"] = event.due_at.isoformat()
    return {"type": event.kind.value, **data}
