"""The nouns of OS1: turns, sessions, the user's profile and the companion's persona."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class Role(StrEnum):
    USER = "user"
    COMPANION = "companion"


class TurnStatus(StrEnum):
    COMPLETE = "complete"
    # Generation was cut short (Ctrl-C, barge-in): the text is what was actually said.
    INTERRUPTED = "interrupted"
    # Written before generation began; a crash leaves it in this state, never lost.
    PENDING = "pending"
    # No reply could be generated (the model server was down): on a user's turn, when
    # not a word came, it marks the turn left unanswered.
    FAILED = "failed"


@dataclass(frozen=True)
class Turn:
    id: int
    session_id: int
    role: Role
    speaker: str
    text: str
    created_at: datetime
    status: TurnStatus = TurnStatus.COMPLETE
    importance: float = 0.0
    # Indexed with the turn but not part of what was said, e.g. a shared image's caption.
    extra: str = ""


@dataclass(frozen=True)
class Session:
    id: int
    started_at: datetime
    ended_at: datetime | None = None
    reflected_at: datetime | None = None


Voice = Literal["feminine", "masculine", "neutral"]
VOICES: tuple[Voice, ...] = ("feminine", "masculine", "neutral")


@dataclass
class UserProfile:
    """What the companion knows about its person, starting with the first-run answers."""

    name: str
    social: str = ""
    mother: str = ""
    voice: Voice = "feminine"
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JournalEntry:
    written_at: datetime
    text: str


@dataclass
class Persona:
    """The companion's own self: it changes after every session, and every version is kept."""

    name: str
    voice: Voice
    traits: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    feelings: str = ""
    journal: list[JournalEntry] = field(default_factory=list)
    sessions_together: int = 0

    @property
    def pronoun(self) -> str:
        return {"feminine": "she", "masculine": "he", "neutral": "they"}[self.voice]


@dataclass(frozen=True)
class ToolSpec:
    """A tool a capable model may call: its name, what it does, and its arguments as a
    JSON Schema object (the OpenAI tools API's ``function``)."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    """A model's request to call a tool, with its arguments already parsed from JSON.

    Models (small ones above all) sometimes write arguments that are not a JSON object;
    then ``arguments`` is ``{}`` and ``malformed_arguments`` keeps what the model wrote,
    so the caller can answer the call with an error the model can correct, instead of
    losing the whole reply.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    malformed_arguments: str = ""


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    # An assistant message that called tools; a tool message answers ``tool_call_id``.
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True)
class Prompt:
    """One request to a model, in both forms.

    Base models (the embedded default) read ``completion``, a transcript to continue.
    Instruction-tuned models behind an HTTP API read ``chat``. Builders fill both, so
    every backend gets the form it understands. ``cache_prefix`` marks how much of
    ``completion`` is fixed across turns, so a backend may keep its KV cache.
    """

    completion: str
    chat: tuple[ChatMessage, ...]
    stop: tuple[str, ...] = ()
    max_tokens: int = 128
    temperature: float = 0.7
    cache_prefix: int = 0
    # Tools a capable model may call (``os1.llm.base.ToolBackend``); base models ignore them.
    tools: tuple[ToolSpec, ...] = ()
