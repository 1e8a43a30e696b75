"""The retrieval interface the prompt builder uses to recall memories.

``KeywordRetriever`` is the first implementation: BM25 over earlier sessions' turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from os1.domain import Turn
from os1.memory.store import SQLiteStore


@dataclass(frozen=True)
class Recollection:
    turn: Turn
    score: float


class Retriever(Protocol):
    def recall(self, query: str, k: int, exclude_session: int | None = None) -> list[Recollection]:
        """At most ``k`` memories relevant to ``query``, best first."""
        ...


class KeywordRetriever:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def recall(self, query: str, k: int, exclude_session: int | None = None) -> list[Recollection]:
        if k <= 0:
            return []
        hits = self._store.search_turns(query, k, exclude_session=exclude_session)
        return [Recollection(turn=t, score=s) for t, s in hits]
