"""Moving one person's memory from one store to another (``os1 db migrate``).

Unlike an export, a move carries everything: vectors and turn timings too (and, as an
export does, the agenda), and every id, so memory ids the person has seen (``t12``)
still name the same things. The target must be empty for that user; a move already done
is recognised and skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from os1.memory import agenda_records
from os1.memory.storage.errors import StoreError
from os1.memory.stores import Restorer, Store


def counts(store: Store) -> dict[str, int]:
    """How many of each kind of record the store holds."""
    return {
        "sessions": len(store.sessions()),
        "turns": store.turn_count(),
        "facts": len(store.facts.list(include_past=True, limit=10**9)),
        "summaries": len(store.summaries.list()),
        "persona_versions": len(store.persona_history()),
        "vectors": sum(store.vectors.counts_after(0).values()),
        "scheduled": len(agenda_records.every_scheduled(store.agenda)),
        "notices": len(agenda_records.every_notice(store.agenda)),
        "confirmations": len(store.agenda.confirmations()),
    }


def is_empty(store: Store) -> bool:
    return not any(counts(store).values()) and store.profile() is None


@dataclass(frozen=True)
class Moved:
    counts: dict[str, int]
    # True when the target held exactly this already (a move run twice).
    already: bool = False


def move(source: Store, target: Store) -> Moved:
    """Copy everything ``source`` holds into ``target``, keeping ids, in one transaction."""
    have = counts(source)
    if not is_empty(target):
        found = counts(target)
        if found == have and target.profile() == source.profile():
            return Moved(found, already=True)
        held = ", ".join(f"{n} {kind}" for kind, n in found.items() if n)
        raise StoreError(
            f"The target already holds other data for this user ({held or 'a profile'}); "
            "refusing to mix two memories. Move into an empty database or another user."
        )
    with target.restoring(keep_ids=True) as restore:
        profile = source.profile()
        if profile is not None:
            restore.profile(profile)
        for version, created_at, reason, persona in source.persona_history():
            restore.persona(version, created_at, reason, persona)
        for session in source.sessions():
            restore.session(session)
        for turn in source.turns():
            restore.turn(turn)
            timings = source.timings(turn.id)
            if timings:
                restore.timings(turn.id, timings)
        for fact in sorted(source.facts.list(include_past=True, limit=10**9), key=lambda f: f.id):
            restore.fact(fact)
        for summary in source.summaries.list():
            restore.summary(summary)
        for item in agenda_records.every_scheduled(source.agenda):
            restore.scheduled(item)
        for notice in agenda_records.every_notice(source.agenda):
            restore.notice(notice)
        for confirmation in source.agenda.confirmations():
            restore.confirmation(confirmation)
        restore.state(source.all_state())
        _move_vectors(source, restore)
    return Moved(have)


def _move_vectors(source: Store, restore: Restorer) -> None:
    """Vectors in the order they were written, in batches. A turn's vectors of one kind
    were written in order of their idx, so numbering them in order restores it."""
    seen: Counter[tuple[str, str, int]] = Counter()
    position = 0
    while True:
        batch, last = source.vectors.after(position, limit=20_000)
        if last == position:
            return
        position = last
        for (model, kind), (owners, matrix) in batch.items():
            rows = []
            for owner in owners.tolist():
                rows.append((owner, seen[(model, kind, owner)]))
                seen[(model, kind, owner)] += 1
            restore.vectors(model, kind, rows, matrix)
