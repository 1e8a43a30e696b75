"""What a skill may contribute, and what it gets to work with: the mind's skill API.

A skill is a module (or any object) with hook implementations (``os1.mind.hookspecs``).
Built-in skills (``os1.skills.*``) come in through the same door as third-party ones,
which register under the ``os1.skills`` entry point. Every contribution is optional:

- context lines for the prompt (``os1_context``),
- intents, matched before the model is asked, for small models that cannot call tools,
- tools, offered to capable models through the tools API,
- actions: named side effects that run only after the user confirmed them,
- jobs: after a turn, when a session ends, or when a scheduled item falls due,
- CLI commands, server routes, and the skill's own schema migrations.

A skill imports ``os1.domain``, ``os1.llm``, the memory protocols and this module, never
``os1.server`` or ``os1.cli`` (tests/test_layers.py checks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from os1.domain import Persona, Scheduled, SkillMigration, ToolSpec, UserProfile
from os1.llm.base import LLMBackend
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.retrieval import Retriever
from os1.memory.stores import Store

T = TypeVar("T")


class Services:
    """Things a host (the CLI, a server worker) offers skills, looked up by type: a
    server's presence counter, a mail connection pool. A skill asks for what it needs and
    does without when the host has none (``get`` returns None)."""

    def __init__(self, provided: Mapping[type[Any], object] | None = None) -> None:
        self._provided: dict[type[Any], object] = dict(provided or {})

    def provide(self, kind: type[T], value: T) -> None:
        self._provided[kind] = value

    def get(self, kind: type[T]) -> T | None:
        value = self._provided.get(kind)
        return value if isinstance(value, kind) else None


@dataclass
class SkillContext:
    """One user's world, as a skill sees it during a turn or a job."""

    store: Store
    profile: UserProfile
    persona: Persona
    timezone: ZoneInfo
    clock: Callable[[], datetime]
    services: Services = field(default_factory=Services)
    # The model, for jobs that write (reflection); a turn's intents never need it.
    model: LLMBackend | None = None
    # Recall over everything said (the companion's own), for skills that answer from it.
    recall: Retriever | None = None
    # A sentence embedder (MiniLM, when loaded), for skills that compare meanings.
    embedder: Embedder | None = None

    def now(self) -> datetime:
        """Now, timezone-aware, in the user's zone."""
        return self.clock().astimezone(self.timezone)


@dataclass(frozen=True)
class Proposal:
    """A side effect a skill wants to run: the action ``skill.action(args)``, which runs
    only once the user has answered yes to ``question``."""

    skill: str
    action: str
    args: dict[str, Any]
    question: str


@dataclass(frozen=True)
class Outcome:
    """What an intent or a tool did. For an intent ``text`` is the reply, in the
    companion's voice; for a tool it is the result fed back to the model. ``proposal``,
    if any, waits for the user's yes (``text`` then says what is proposed)."""

    text: str
    proposal: Proposal | None = None
    # What the reply is grounded in, shown in --verbose and the event stream.
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    text: str
    groups: dict[str, str]
    score: float  # 1.0 for a pattern; the similarity for an embedding match


@dataclass(frozen=True)
class Intent:
    """Something a person asks for that is handled without the model.

    ``patterns`` are regular expressions searched (case-insensitively) in the message;
    their named groups reach ``handle``. ``claims``, for requests a regular expression
    cannot tell apart (a question about the user's own life, not one asking for advice),
    reads the message and returns the groups for ``handle``, or None to let it pass.
    ``examples`` are phrasings for the embedding matcher, which catches what the patterns
    miss when it is similar enough."""

    skill: str
    name: str
    handle: Callable[[IntentMatch, SkillContext], Outcome]
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    claims: Callable[[str], dict[str, str] | None] | None = None

    def compiled(self) -> tuple[re.Pattern[str], ...]:
        return _compiled(self.patterns)


@cache
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # Once per process, not once per user's turn runner (8,316 at once in bench.load).
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


@dataclass(frozen=True)
class Tool:
    """A tool a capable model may call; ``call`` gets the parsed arguments."""

    skill: str
    spec: ToolSpec
    call: Callable[[dict[str, Any], SkillContext], Outcome]


@dataclass(frozen=True)
class Action:
    """A named side effect; ``run`` returns what to tell the user once it is done."""

    skill: str
    name: str
    run: Callable[[dict[str, Any], SkillContext], str]


class JobWhen(StrEnum):
    AFTER_TURN = "after_turn"  # after each reply, once it is stored and indexed
    SESSION_END = "session_end"  # for each ended session not yet reflected on
    DUE = "due"  # when a scheduled item of this skill (and ``kind``) falls due


@dataclass(frozen=True)
class JobRun:
    """What a job is run with: the user's world, and for a due job the item that fell due,
    for a session-end job the session's id."""

    context: SkillContext
    item: Scheduled | None = None
    session_id: int | None = None
    late: bool = False


@dataclass(frozen=True)
class Job:
    """Work outside the reply. A ``DUE`` job returns the notice to give the user (or
    None); other jobs return None."""

    skill: str
    name: str
    when: JobWhen
    run: Callable[[JobRun], str | None]
    kind: str = ""  # for DUE jobs: which scheduled items (by kind) it handles


@dataclass(frozen=True)
class Route:
    """A server route a skill adds, under ``/v1``: the server authenticates the caller,
    gives the handler that user's context, and sends its result as JSON. ``params`` are
    the path and query parameters, ``body`` the parsed JSON body (or None). Raise
    ``RouteError`` for a 4xx."""

    skill: str
    method: str
    path: str
    handle: Callable[[SkillContext, dict[str, str], Any], Any]
    summary: str = ""
    status: int = 200


class RouteError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# A skill's own schema change (plain data: the stores apply it).
Migration = SkillMigration


def command_context() -> SkillContext:
    """The user's world for a skill's CLI command: the ``os1`` command line puts a host
    with ``skill_context()`` in click's context object."""
    import click  # the mind itself never needs click; only commands call this

    host = click.get_current_context().find_root().obj
    make = getattr(host, "skill_context", None)
    if make is None:
        raise RuntimeError("a skill command ran outside the os1 command line")
    context: SkillContext = make()
    return context
