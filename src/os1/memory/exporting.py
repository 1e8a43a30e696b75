"""``os1 export`` and ``os1 import``: everything OS1 remembers, as JSONL plus Markdown.

The JSONL file is the complete record (one object per line, each with a ``type``); the
Markdown file is the same for people to read. Vectors are not exported: they are derived,
and ``import`` rebuilds them. The agenda (scheduled items, notices, confirmations) comes
last; an older OS1 skips its records. Importing into an empty store keeps every id, so a round
trip reproduces the export exactly; into a non-empty one, ids are renumbered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from os1.domain import Fact, Role, Session, Summary, Turn, TurnStatus
from os1.memory import agenda_records
from os1.memory.storage.codec import (
    from_iso,
    persona_from_json,
    persona_to_json,
    profile_from_json,
    profile_to_json,
    to_iso,
)
from os1.memory.storage.errors import StoreError
from os1.memory.stores import Store

FORMAT = "os1-export"
VERSION = 1


def records(store: Store) -> Iterator[dict[str, Any]]:
    yield {"type": "header", "format": FORMAT, "version": VERSION}
    profile = store.profile()
    if profile is not None:
        yield {"type": "profile", "profile": json.loads(profile_to_json(profile))}
    for version, at, reason, persona in store.persona_history():
        yield {
            "type": "persona",
            "id": version,
            "created_at": to_iso(at),
            "reason": reason,
            "persona": json.loads(persona_to_json(persona)),
        }
    for session in store.sessions():
        yield {
            "type": "session",
            "id": session.id,
            "started_at": to_iso(session.started_at),
            "ended_at": session.ended_at and to_iso(session.ended_at),
            "reflected_at": session.reflected_at and to_iso(session.reflected_at),
        }
    for turn in store.turns():
        yield {
            "type": "turn",
            "id": turn.id,
            "session_id": turn.session_id,
            "role": turn.role.value,
            "speaker": turn.speaker,
            "text": turn.text,
            "created_at": to_iso(turn.created_at),
            "status": turn.status.value,
            "importance": turn.importance,
            "extra": turn.extra,
        }
    for fact in sorted(store.facts.list(include_past=True, limit=10**9), key=lambda f: f.id):
        data = asdict(fact)
        data["valid_from"] = to_iso(fact.valid_from)
        data["valid_to"] = fact.valid_to and to_iso(fact.valid_to)
        data["source_turn_ids"] = list(fact.source_turn_ids)
        yield {"type": "fact", **data}
    for summary in store.summaries.list():
        yield {
            "type": "summary",
            "id": summary.id,
            "kind": summary.kind,
            "session_id": summary.session_id,
            "text": summary.text,
            "created_at": to_iso(summary.created_at),
            "source_turn_ids": list(summary.source_turn_ids),
        }
    yield from agenda_records.records(store.agenda)
    yield {"type": "state", "values": store.all_state()}


def export(store: Store, jsonl: Path, markdown: Path | None = None) -> int:
    count = 0
    with jsonl.open("w", encoding="utf-8") as out:
        for record in records(store):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    if markdown is not None:
        markdown.write_text(render_markdown(store), encoding="utf-8")
    return count


def render_markdown(store: Store) -> str:
    lines = ["# What OS1 remembers", ""]
    profile = store.profile()
    persona = store.persona()
    if persona is not None:
        lines += [
            f"## {persona.name}",
            "",
            f"- voice: {persona.voice}",
            f"- traits: {', '.join(persona.traits)}",
            f"- interests: {', '.join(persona.interests)}",
            f"- feelings: {persona.feelings}",
            "",
        ]
        if persona.journal:
            lines += ["### Journal", ""]
            lines += [f"- {e.written_at:%d %B %Y}: {e.text}" for e in persona.journal]
            lines.append("")
    if profile is not None:
        lines += [f"## {profile.name}", ""]
        lines += [
            f"- {k}: {v}"
            for k, v in [
                ("social", profile.social),
                ("mother", profile.mother),
                *profile.facts.items(),
            ]
            if v
        ]
        lines.append("")
    facts = store.facts.list(include_past=True, limit=10**9)
    if facts:
        lines += ["## Facts", ""]
        for fact in sorted(facts, key=lambda f: f.id):
            until = f", until {fact.valid_to:%d %B %Y}" if fact.valid_to else ""
            lines.append(f"- {fact.text} (since {fact.valid_from:%d %B %Y}{until})")
        lines.append("")
    summaries = store.summaries.list()
    if summaries:
        lines += ["## Summaries", ""]
        lines += [f"- ({s.kind}) {s.text}" for s in summaries]
        lines.append("")
    lines += agenda_records.markdown(store.agenda)
    lines += ["## Conversations", ""]
    session = None
    for turn in store.turns():
        if turn.session_id != session:
            session = turn.session_id
            lines += ["", f"### Session {session}, {turn.created_at:%d %B %Y %H:%M}", ""]
        lines.append(f"**{turn.speaker}:** {turn.text}  ")
    return "\n".join(lines).rstrip() + "\n"


def import_file(store: Store, jsonl: Path) -> dict[str, int]:
    try:
        lines = jsonl.read_text(encoding="utf-8").splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"Cannot read {jsonl} as an OS1 export: {exc}") from None
    if not items or items[0].get("format") != FORMAT:
        raise StoreError(f"{jsonl} is not an OS1 export (no {FORMAT} header)")
    if items[0].get("version", 0) > VERSION:
        raise StoreError(f"{jsonl} comes from a newer OS1; upgrade to import it")
    try:
        empty = (
            store.turn_count() == 0
            and not store.sessions()
            and agenda_records.is_empty(store.agenda)
        )
        return _import(store, items, keep_ids=empty)
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"{jsonl} is damaged ({exc!r}); nothing was imported") from None


def _import(store: Store, items: list[dict[str, Any]], keep_ids: bool) -> dict[str, int]:
    counts = {"sessions": 0, "turns": 0, "facts": 0, "summaries": 0, "persona_versions": 0}
    counts |= {"scheduled": 0, "notices": 0, "confirmations": 0}
    # Each record's id in the file -> its id in this store (the same with keep_ids).
    session_ids: dict[int, int] = {}
    turn_ids: dict[int, int] = {}
    scheduled_ids: dict[int, int] = {}

    def sources(record: dict[str, Any]) -> tuple[int, ...]:
        return tuple(turn_ids[t] for t in record["source_turn_ids"] if t in turn_ids)

    with store.restoring(keep_ids) as restore:
        for record in items:
            kind = record.get("type")
            if kind == "profile":
                restore.profile(profile_from_json(json.dumps(record["profile"])))
            elif kind == "persona":
                restore.persona(
                    int(record["id"]),
                    datetime.fromisoformat(record["created_at"]),
                    str(record["reason"]),
                    persona_from_json(json.dumps(record["persona"])),
                )
                counts["persona_versions"] += 1
            elif kind == "session":
                session_ids[record["id"]] = restore.session(
                    Session(
                        id=int(record["id"]),
                        started_at=datetime.fromisoformat(record["started_at"]),
                        ended_at=from_iso(record["ended_at"]),
                        reflected_at=from_iso(record["reflected_at"]),
                    )
                )
                counts["sessions"] += 1
            elif kind == "turn":
                turn_ids[record["id"]] = restore.turn(
                    Turn(
                        id=int(record["id"]),
                        session_id=session_ids[record["session_id"]],
                        role=Role(record["role"]),
                        speaker=str(record["speaker"]),
                        text=str(record["text"]),
                        created_at=datetime.fromisoformat(record["created_at"]),
                        status=TurnStatus(record["status"]),
                        importance=float(record.get("importance", 0.0)),
                        extra=str(record.get("extra", "")),
                    )
                )
                counts["turns"] += 1
            elif kind == "fact":
                restore.fact(
                    Fact(
                        id=int(record["id"]),
                        kind=str(record["kind"]),
                        subject=str(record["subject"]),
                        predicate=str(record["predicate"]),
                        value=str(record["value"]),
                        importance=float(record["importance"]),
                        valid_from=datetime.fromisoformat(record["valid_from"]),
                        valid_to=from_iso(record["valid_to"]),
                        superseded_by=record["superseded_by"] if keep_ids else None,
                        source_turn_ids=sources(record),
                    )
                )
                counts["facts"] += 1
            elif kind == "summary":
                session = record.get("session_id")
                restore.summary(
                    Summary(
                        id=int(record["id"]),
                        kind=str(record["kind"]),
                        session_id=session_ids.get(session) if session else None,
                        text=str(record["text"]),
                        created_at=datetime.fromisoformat(record["created_at"]),
                        source_turn_ids=sources(record),
                    )
                )
                counts["summaries"] += 1
            elif kind == "scheduled":
                scheduled_ids[int(record["id"])] = restore.scheduled(
                    agenda_records.scheduled_from_record(record)
                )
                counts["scheduled"] += 1
            elif kind == "notice":
                restore.notice(agenda_records.notice_from_record(record, scheduled_ids))
                counts["notices"] += 1
            elif kind == "confirmation":
                restore.confirmation(agenda_records.confirmation_from_record(record))
                counts["confirmations"] += 1
            elif kind == "state" and keep_ids:
                restore.state({str(k): int(v) for k, v in record["values"].items()})
    return counts
