"""Memories as plain JSON-ready records, the same for the command line and the server.

Ids carry their kind, as everywhere the user sees them: ``t12`` a turn, ``f3`` a fact,
``s2`` a summary.
"""

from __future__ import annotations

from typing import Any

from os1.domain import Fact, Summary


def fact_record(fact: Fact) -> dict[str, Any]:
    return {
        "id": f"f{fact.id}",
        "text": fact.text,
        # What editing a fact changes: the text is "<subject> <predicate>: <value>".
        "value": fact.value,
        "importance": fact.importance,
        "valid_from": fact.valid_from.isoformat(),
        "valid_to": fact.valid_to.isoformat() if fact.valid_to else None,
        "sources": [f"t{t}" for t in fact.source_turn_ids],
    }


def summary_record(summary: Summary) -> dict[str, Any]:
    return {
        "id": f"s{summary.id}",
        "kind": summary.kind,
        "text": summary.text,
        "sources": [f"t{t}" for t in summary.source_turn_ids],
    }
