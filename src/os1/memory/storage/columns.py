"""Records as the column values both stores write, each store with its own form of time
(ISO text in SQLite, ``timestamptz`` in PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from os1.domain import Fact, Session, Summary, Turn

Moment = Callable[[datetime], object]

# Every table of one person's memory, each before the tables it references, so deleting
# in this order (``Store.erase``) never breaks a foreign key. The same names on both stores.
MEMORY_TABLES = (
    "turn_timings",
    "turn_vectors",
    "fact_sources",
    "summary_sources",
    "facts",
    "summaries",
    "turns",
    "sessions",
    "profile",
    "persona_versions",
    # The agenda (``Store.agenda``): a notice names its scheduled item without a foreign key.
    "notices",
    "scheduled",
    "confirmations",
    "memory_state",
)


def session_columns(session: Session, moment: Moment) -> dict[str, object]:
    return {
        "started_at": moment(session.started_at),
        "ended_at": session.ended_at and moment(session.ended_at),
        "reflected_at": session.reflected_at and moment(session.reflected_at),
    }


def turn_columns(turn: Turn, moment: Moment) -> dict[str, object]:
    return {
        "session_id": turn.session_id,
        "role": turn.role.value,
        "speaker": turn.speaker,
        "text": turn.text,
        "created_at": moment(turn.created_at),
        "status": turn.status.value,
        "importance": turn.importance,
        "extra": turn.extra,
    }


def fact_columns(fact: Fact, moment: Moment, created_at: datetime) -> dict[str, object]:
    return {
        "kind": fact.kind,
        "subject": fact.subject,
        "predicate": fact.predicate,
        "value": fact.value,
        "importance": fact.importance,
        "valid_from": moment(fact.valid_from),
        "valid_to": fact.valid_to and moment(fact.valid_to),
        "superseded_by": fact.superseded_by,
        "created_at": moment(created_at),
    }


def summary_columns(summary: Summary, moment: Moment) -> dict[str, object]:
    return {
        "kind": summary.kind,
        "session_id": summary.session_id,
        "text": summary.text,
        "created_at": moment(summary.created_at),
    }
