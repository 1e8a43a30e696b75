"""Turning domain objects into rows and back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from os1.domain import JournalEntry, Persona, UserProfile
from os1.domain.models import VOICES, Voice

_clock: Callable[[], datetime] | None = None


def now() -> datetime:
    """The time every stored row is stamped with: the wall clock, or a replayed one."""
    return _clock() if _clock is not None else datetime.now(UTC)


@contextmanager
def replayed_time(clock: Callable[[], datetime]) -> Iterator[None]:
    """Stamp rows with ``clock`` instead of the wall clock, for replaying a conversation
    with its own dates (``os1 eval companion``): sessions, gaps and "next Saturday" then
    mean what they meant on the day. One process, one replay at a time."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield
    finally:
        _clock = previous


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _voice(value: Any) -> Voice:
    for voice in VOICES:
        if voice == value:
            return voice
    return "neutral"


def persona_to_json(persona: Persona) -> str:
    data = asdict(persona)
    data["journal"] = [
        {"written_at": to_iso(e.written_at), "text": e.text} for e in persona.journal
    ]
    return json.dumps(data, ensure_ascii=False)


def persona_from_json(text: str) -> Persona:
    data = json.loads(text)
    return Persona(
        name=str(data["name"]),
        voice=_voice(data.get("voice")),
        traits=[str(t) for t in data.get("traits", [])],
        interests=[str(t) for t in data.get("interests", [])],
        feelings=str(data.get("feelings", "")),
        journal=[
            JournalEntry(written_at=datetime.fromisoformat(e["written_at"]), text=str(e["text"]))
            for e in data.get("journal", [])
        ],
        sessions_together=int(data.get("sessions_together", 0)),
    )


def profile_to_json(profile: UserProfile) -> str:
    return json.dumps(asdict(profile), ensure_ascii=False)


def profile_from_json(text: str) -> UserProfile:
    data = json.loads(text)
    return UserProfile(
        name=str(data["name"]),
        social=str(data.get("social", "")),
        mother=str(data.get("mother", "")),
        voice=_voice(data.get("voice")),
        facts={str(k): str(v) for k, v in data.get("facts", {}).items()},
    )
