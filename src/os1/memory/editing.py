"""Correcting a memory by its id, shared by ``os1 memory edit`` and the server.

A fact's value or a summary's text is changed in place (the full-text index follows by
trigger). A turn's new words replace the old everywhere they were derived: the facts and
summaries that came from it are dropped, the rule-based facts are extracted again from
the new words, and its vectors are rebuilt by the next index.
"""

from __future__ import annotations

from typing import Any

from os1.memory.extraction import extract_rules
from os1.memory.forgetting import UnknownMemory, parse_id
from os1.memory.records import fact_record, summary_record
from os1.memory.storage.errors import StoreError
from os1.memory.stores import Store


def edit(store: Store, memory_id: str, text: str) -> dict[str, Any]:
    """Change memory ``memory_id`` (t12, f3, s2) to say ``text``; returns the memory as a
    record, with ``dropped`` counts for a turn. Raises UnknownMemory or StoreError."""
    value = " ".join(text.split())
    if not value:
        raise StoreError("The new text is empty; to remove a memory, forget it instead")
    kind, number = parse_id(memory_id)
    if kind == "f":
        fact = store.facts.edit(number, value)
        if fact is None:
            raise UnknownMemory(f"No fact f{number}")
        return fact_record(fact)
    if kind == "s":
        summary = store.summaries.edit(number, value)
        if summary is None:
            raise UnknownMemory(f"No summary s{number}")
        return summary_record(summary)
    dropped = store.edit_turn(number, value)
    if dropped is None:
        raise UnknownMemory(f"No turn t{number}")
    turn = store.turns_by_ids([number])[number]
    for extracted in extract_rules(turn.text, turn.speaker):
        store.facts.add(extracted, [turn.id], at=turn.created_at)
    return {
        "id": f"t{turn.id}",
        "speaker": turn.speaker,
        "text": turn.text,
        "at": turn.created_at.isoformat(),
        "dropped": dropped,
    }
