"""What a store offers the rest of OS1, whichever database holds it.

``SQLiteStore`` (one file per person) and ``PostgresStore`` (one database, every row
scoped to one user) both provide ``Store``; code outside ``os1.memory`` names only this.
A store is used by one thread at a time, as a SQLite connection is.

``Store`` is made of small protocols, one per responsibility. The record itself (sessions,
turns, state, profile and persona) is flat methods on the store; what is derived from
turns is parts reached as attributes: ``store.facts``, ``store.summaries``,
``store.vectors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from os1.domain import (
    Confirmation,
    ConfirmationStatus,
    Fact,
    Notice,
    Persona,
    Role,
    Scheduled,
    ScheduledStatus,
    Session,
    SkillMigration,
    Summary,
    Turn,
    TurnStatus,
    UserProfile,
)
from os1.memory.extraction import ExtractedFact

VectorBatch = dict[tuple[str, str], tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]


class IndexChanges(NamedTuple):
    """What an in-memory index of a store needs to catch up (``Store.index_changes``)."""

    generation: int  # state "generation": it changes when memories are erased or rewritten
    turns: list[Turn]
    last_vector_rowid: int


class Restorer(Protocol):
    """Writes whole records as they were (import and ``os1 db migrate``), all in one
    transaction. With ``keep_ids`` each record keeps its id; otherwise it gets a new one.
    References (a turn's session, a fact's sources) must already be the new ids; every
    method returns the id the record got."""

    def profile(self, profile: UserProfile) -> None:
        """Replace the profile."""

    def persona(self, version: int, created_at: datetime, reason: str, persona: Persona) -> int:
        """Add one persona version."""

    def session(self, session: Session) -> int:
        """Add a session with its start, end and reflection times."""

    def turn(self, turn: Turn) -> int:
        """Add a turn to its (already restored) session."""

    def fact(self, fact: Fact) -> int:
        """Add a fact with its validity, successor and source turns."""

    def summary(self, summary: Summary) -> int:
        """Add a summary with its source turns."""

    def state(self, values: Mapping[str, int]) -> None:
        """Set memory state values (e.g. how far fact extraction has read)."""

    def timings(self, turn_id: int, timings: Mapping[str, float]) -> None:
        """A turn's stage timings."""

    def vectors(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Vectors of (turn id, idx) rows, as ``Store.vectors.put``."""

    def scheduled(self, item: Scheduled) -> int:
        """Add a scheduled item with its status and times."""

    def notice(self, notice: Notice) -> int:
        """Add a notice (its ``scheduled_id`` already the restored item's id, or None)."""

    def confirmation(self, confirmation: Confirmation) -> int:
        """Add a confirmation with its status, answer time and result."""


class SkillSchemas(Protocol):
    def apply_skill_migrations(self, migrations: Sequence[SkillMigration]) -> list[str]:
        """Apply the skills' schema changes this database lacks, each once, in order;
        returns what was applied ("reminders 1")."""


class Lifecycle(Protocol):
    """The store's connection, schema and transactions."""

    def close(self) -> None:
        """Release the connection (a pooled one goes back to its pool)."""

    @property
    def schema_version(self) -> int:
        """The version of the database's schema (SQLite's user_version, or the last
        PostgreSQL migration applied)."""

    def one_connection(self) -> AbstractContextManager[None]:
        """Calls inside, on this thread, share one database connection (PostgreSQL: one
        borrow from the pool instead of one per call; SQLite has one already)."""

    def restoring(self, keep_ids: bool) -> AbstractContextManager[Restorer]:
        """A ``Restorer`` whose writes commit together when the block ends, or not at all."""


class Sessions(Protocol):
    """The record of sessions: when each started, ended and was reflected on."""

    def start_session(self, at: datetime | None = None) -> Session:
        """Open a new session."""

    def end_session(self, session_id: int, at: datetime | None = None) -> None:
        """Close a session that is still open."""

    def mark_reflected(self, session_id: int) -> None:
        """Record that the companion reflected on this session."""

    def current_session(self, gap: timedelta, at: datetime | None = None) -> Session | None:
        """The open session, if its last turn is more recent than ``gap``."""

    def open_sessions(self) -> list[Session]:
        """Sessions not yet ended, oldest first."""

    def unreflected_sessions(self) -> list[Session]:
        """Ended sessions not yet reflected on, oldest first."""

    def sessions(self) -> list[Session]:
        """Every session, oldest first."""

    def last_turn_at(self, session_id: int) -> datetime | None:
        """When the session's last turn was said."""

    def adjacent_sessions(self, session_id: int) -> tuple[Session | None, Session | None]:
        """The sessions just before and just after ``session_id``."""


class Turns(Protocol):
    """The record of turns: written as they happen, read back in order."""

    def add_turn(
        self,
        session_id: int,
        role: Role,
        speaker: str,
        text: str,
        status: TurnStatus = TurnStatus.COMPLETE,
        at: datetime | None = None,
        importance: float = 0.0,
        extra: str = "",
    ) -> Turn:
        """Store a turn now (it is on disk before the model is asked anything)."""

    def finish_turn(self, turn_id: int, text: str, status: TurnStatus) -> None:
        """Set a pending turn's final text and status."""

    def edit_turn(self, turn_id: int, text: str) -> dict[str, int] | None:
        """Correct what a turn says. What was derived from the old words goes, as when
        forgetting: its facts and summaries (how many: ``facts``, ``summaries``), its
        vectors (``vectors``) and the next turn's context, both rebuilt by the next index.
        None if there is no such turn."""

    def recent_turns(self, limit: int, session_id: int | None = None) -> list[Turn]:
        """The last ``limit`` turns (of one session, if given), oldest first."""

    def turns(self, session_id: int | None = None) -> list[Turn]:
        """Every turn (of one session, if given), in order."""

    def turns_after(self, turn_id: int, limit: int = 1_000_000) -> list[Turn]:
        """Up to ``limit`` turns with ids above ``turn_id``, in order."""

    def turns_by_ids(self, ids: Sequence[int]) -> dict[int, Turn]:
        """The turns that exist among ``ids``, by id."""

    def previous_turns(self, turns: Sequence[Turn]) -> dict[int, Turn]:
        """For each turn, the turn before it in the same session, if any."""

    def neighbours(self, turn_id: int, before: int = 1, after: int = 1) -> list[Turn]:
        """The turn with up to ``before`` and ``after`` turns around it, same session."""

    def speakers(self) -> list[str]:
        """Every distinct speaker."""

    def turn_count(self) -> int:
        """How many turns there are."""


class Timings(Protocol):
    """When each stage of a spoken turn happened."""

    def save_timings(self, turn_id: int, timings: dict[str, float]) -> None:
        """Keep a turn's stage timings."""

    def timings(self, turn_id: int) -> dict[str, float]:
        """A turn's stage timings, earliest first."""


class TurnSearch(Protocol):
    """Full-text search over turns, in the database's own full-text index."""

    def search_turns(
        self, query: str, limit: int, exclude_session: int | None = None
    ) -> list[tuple[Turn, float]]:
        """Full-text search over every turn; higher scores are better."""

    def bm25(self, query: str, limit: int, text_only: bool = False) -> list[tuple[int, float]]:
        """(turn id, score) of the best full-text matches, best first."""


class MemoryState(Protocol):
    """Small named counters: how far each job that goes through the turns has got, and
    the generation that tells in-memory indexes to reload."""

    def state(self, key: str) -> int:
        """A memory state value, 0 when unset."""

    def set_state(self, key: str, value: int) -> None:
        """Set a memory state value."""

    def all_state(self) -> dict[str, int]:
        """Every memory state value."""

    def turns_after_state(self, key: str, limit: int = 1_000_000) -> list[Turn]:
        """Up to ``limit`` turns after the turn id kept in state ``key`` (how far a job that
        goes through the turns has got), in order."""

    def index_changes(self, after_turn_id: int, limit: int) -> IndexChanges:
        """The generation, up to ``limit`` turns after ``after_turn_id``, and the last
        vector's rowid, read together (one round trip on PostgreSQL, every turn)."""


class Profiles(Protocol):
    """The user's profile and the companion's persona versions."""

    def save_profile(self, profile: UserProfile) -> None:
        """Replace the user's profile."""

    def profile(self) -> UserProfile | None:
        """The user's profile, if set up."""

    def save_persona(self, persona: Persona, reason: str) -> int:
        """Keep a new persona version; returns its number."""

    def persona(self) -> Persona | None:
        """The latest persona version."""

    def persona_history(self) -> list[tuple[int, datetime, str, Persona]]:
        """Every persona version: number, when, why, and the persona."""


class Forgetting(Protocol):
    """Taking turns back, with everything derived from them, or everything at once."""

    def forget_turns(self, turn_ids: Iterable[int]) -> dict[str, int]:
        """Delete turns and everything derived from them; how many of each went."""

    def erase(self) -> dict[str, int]:
        """Delete everything, back to before the first run: every session, turn, fact,
        summary, vector, the profile and every persona version (on PostgreSQL, this
        user's rows and no one else's); how many rows went from each table. In-memory
        indexes in any process reload."""


class Schedule(Protocol):
    """Items skills want to hear about later. Times are timezone-aware; a naive one is
    refused (``ValueError``), as is a payload that is not a JSON object."""

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
        """Keep a new pending item, due at ``due_at``."""

    def scheduled_items(
        self,
        skill: str | None = None,
        statuses: Iterable[ScheduledStatus] = (ScheduledStatus.PENDING,),
    ) -> list[Scheduled]:
        """The items (of one skill, if given) in any of ``statuses``, soonest due first."""

    def get_scheduled(self, item_id: int) -> Scheduled | None:
        """One item, if it exists."""

    def cancel_scheduled(self, item_id: int) -> Scheduled | None:
        """Cancel a pending item; the cancelled item, or None if it was not pending."""

    def reschedule(self, item_id: int, due_at: datetime) -> Scheduled | None:
        """A pending or fired item back to pending at ``due_at`` (a recurring item's next
        occurrence); None if there is no such item or it was cancelled."""

    def claim_due(self, now: datetime, limit: int = 100) -> list[Scheduled]:
        """Mark up to ``limit`` pending items due by ``now`` as fired (at ``now``) and
        return them, soonest due first. Atomic: however many processes claim at once,
        each item is returned to exactly one of them."""

    def next_due_at(self) -> datetime | None:
        """When the soonest pending item falls due."""


class Notices(Protocol):
    """What to tell the user between turns."""

    def add_notice(
        self,
        text: str,
        source: str,
        due_at: datetime | None = None,
        late: bool = False,
        scheduled_id: int | None = None,
    ) -> Notice:
        """Keep a notice to deliver."""

    def pending_notices(self, limit: int = 50) -> list[Notice]:
        """Notices not yet delivered, oldest first."""

    def mark_delivered(self, notice_ids: Iterable[int]) -> None:
        """Record that these notices reached the user (once: a second mark keeps the
        first time)."""

    def recent_notices(self, limit: int = 50) -> list[Notice]:
        """The last ``limit`` notices, delivered or not, oldest first."""

    def take_pending_notices(self, limit: int = 50) -> list[Notice]:
        """Mark undelivered notices delivered and return them, oldest first, atomically:
        with several processes asking at once, each notice goes to one of them."""


class Confirmations(Protocol):
    """Side effects waiting for the user's yes. At most one waits at a time."""

    def ask_confirmation(
        self, skill: str, action: str, args: Mapping[str, Any], question: str
    ) -> Confirmation:
        """Keep a new waiting confirmation; one still waiting before it expires."""

    def waiting_confirmation(self) -> Confirmation | None:
        """The confirmation waiting for an answer, if any."""

    def get_confirmation(self, confirmation_id: int) -> Confirmation | None:
        """One confirmation, if it exists."""

    def answer_confirmation(
        self, confirmation_id: int, status: ConfirmationStatus, result: str = ""
    ) -> Confirmation | None:
        """Answer a waiting confirmation (confirmed, declined or expired), now. Atomic:
        of two answers only the first returns the confirmation, the second None, so a
        confirmed action runs once."""

    def set_confirmation_result(self, confirmation_id: int, result: str) -> None:
        """Record what the confirmed action did."""

    def confirmations(self) -> list[Confirmation]:
        """Every confirmation, oldest first (export)."""


class Agenda(Schedule, Notices, Confirmations, Protocol):
    """A store's scheduled items, notices and confirmations (``Store.agenda``)."""


class Facts(Protocol):
    """Facts extracted from turns (``store.facts``)."""

    def add(
        self, fact: ExtractedFact, source_turn_ids: Sequence[int], at: datetime | None = None
    ) -> Fact:
        """Record a fact; a repeat strengthens the old one, a change supersedes it."""

    def get(self, fact_id: int) -> Fact | None:
        """One fact, if it exists."""

    def from_turns(self, turn_ids: Iterable[int]) -> list[Fact]:
        """Facts that came from any of these turns."""

    def edit(self, fact_id: int, value: str) -> Fact | None:
        """Correct a fact's value."""

    def delete(self, fact_id: int) -> None:
        """Delete a fact; a fact it superseded no longer points at it."""

    def search(self, query: str, limit: int) -> list[tuple[Fact, float]]:
        """Full-text search over facts; higher scores are better."""

    # Last: a method named ``list`` would shadow the type in the annotations below it.
    def list(self, include_past: bool = False, limit: int = 1000) -> list[Fact]:
        """Current facts (and superseded ones with ``include_past``), newest first."""


class Summaries(Protocol):
    """Summaries of sessions and insights across them (``store.summaries``)."""

    def add(
        self, kind: str, text: str, source_turn_ids: Sequence[int], session_id: int | None = None
    ) -> Summary:
        """Keep a summary and the turns it came from."""

    def get(self, summary_id: int) -> Summary | None:
        """One summary, if it exists."""

    def edit(self, summary_id: int, text: str) -> Summary | None:
        """Correct a summary's text; None if there is no such summary."""

    def clear(self, kind: str, session_id: int | None = None) -> None:
        """Delete the summaries of one kind (and session: None means no session)."""

    def list(self, kind: str | None = None, session_id: int | None = None) -> list[Summary]:
        """Summaries matching every given filter, oldest first."""


class Vectors(Protocol):
    """Embeddings of turns, one or more per turn and model (``store.vectors``)."""

    def put(
        self,
        model: str,
        kind: str,
        rows: Sequence[tuple[int, int]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Store one vector per (turn id, idx) row."""

    def after(self, after_rowid: int, limit: int = 100_000) -> tuple[VectorBatch, int]:
        """Up to ``limit`` vectors stored after position ``after_rowid``, by (model, kind):
        turn ids and matrix; and the last position read (``after_rowid`` if none)."""

    def counts_after(self, after_rowid: int) -> dict[tuple[str, str], int]:
        """How many vectors each (model, kind) has after position ``after_rowid``."""

    def last_rowid(self) -> int:
        """The position of the last vector stored (0 when there are none)."""

    def turns_without(self, model: str, limit: int = 100_000) -> list[int]:
        """Turns that ``model`` has not embedded yet, in order."""


class Store(
    Lifecycle,
    Sessions,
    Turns,
    Timings,
    TurnSearch,
    MemoryState,
    Profiles,
    Forgetting,
    SkillSchemas,
    Protocol,
):
    """Sessions, turns, profile, persona versions, and what is derived from turns."""

    # What is due later and what waits for the user (``store.agenda.schedule(...)``).
    agenda: Agenda
    facts: Facts
    summaries: Summaries
    vectors: Vectors
