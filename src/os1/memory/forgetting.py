"""Memory ids (``t12`` a turn, ``f3`` a fact, ``s2`` a summary) and forgetting by them.

Shared by ``os1 memory`` and the server, so both forget exactly the same things: the
turns a memory came from and everything derived from those turns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from os1.memory.storage.errors import StoreError
from os1.memory.stores import Store

ID_PATTERN = re.compile(r"^([tfs])(\d+)$")
KIND_NAMES = {"t": "turn", "f": "fact", "s": "summary"}


class UnknownMemory(StoreError):
    """No memory has this id in this store."""


def parse_id(raw: str) -> tuple[str, int]:
    match = ID_PATTERN.match(raw.strip().lower())
    if not match:
        raise StoreError(f"{raw!r} is not a memory id: use t12 (turn), f3 (fact) or s2 (summary)")
    return match.group(1), int(match.group(2))


def source_turns(store: Store, kind: str, number: int) -> list[int]:
    """The turns a memory came from (a turn is its own source); empty if there are none."""
    if kind == "t":
        return [number] if store.turns_by_ids([number]) else []
    if kind == "f":
        fact = store.facts.get(number)
        return list(fact.source_turn_ids) if fact else []
    summary = store.summaries.get(number)
    return list(summary.source_turn_ids) if summary else []


@dataclass
class ForgetPlan:
    """What forgetting some memories removes: their source turns, and facts whose turns are
    gone already (e.g. imported without them)."""

    turns: set[int] = field(default_factory=set)
    sourceless_facts: list[int] = field(default_factory=list)


def plan(store: Store, memory_ids: Iterable[str]) -> ForgetPlan:
    """Resolve ids to what forgetting them removes; raises UnknownMemory for an id with
    nothing behind it, before anything is deleted."""
    found = ForgetPlan()
    for raw in memory_ids:
        kind, number = parse_id(raw)
        turns = source_turns(store, kind, number)
        if turns:
            found.turns.update(turns)
        elif kind == "f" and store.facts.get(number) is not None:
            found.sourceless_facts.append(number)
        else:
            raise UnknownMemory(f"No memory {raw}: see os1 memory list")
    return found


def forget(store: Store, what: ForgetPlan) -> dict[str, int]:
    """Delete what the plan names, and everything derived from it; returns counts."""
    for number in what.sourceless_facts:
        store.facts.delete(number)
    gone = store.forget_turns(what.turns)
    gone["facts"] += len(what.sourceless_facts)
    return gone
