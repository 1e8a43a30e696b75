"""How a search reads its words, shared by both stores' full-text search and by
``os1.memory.recall.lexical`` (which must read a question the same way)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Protocol

from os1.domain import Turn


class Ranked(Protocol):
    """What ``search_by_rank`` needs of a store."""

    def bm25(self, query: str, limit: int, text_only: bool = False) -> list[tuple[int, float]]:
        """(turn id, score) of the best full-text matches, best first."""

    def turns_by_ids(self, ids: Sequence[int]) -> dict[int, Turn]:
        """The turns that exist among ``ids``, by id."""


def search_by_rank(
    store: Ranked, query: str, limit: int, exclude_session: int | None
) -> list[tuple[Turn, float]]:
    """The best ``limit`` turns by the store's full-text rank, outside ``exclude_session``
    (both stores' ``search_turns``)."""
    hits = store.bm25(query, limit * 2 + 10)
    turns = store.turns_by_ids([i for i, _ in hits])
    found = [(turns[i], s) for i, s in hits if i in turns]
    return [(t, s) for t, s in found if t.session_id != exclude_session][:limit]


def query_words(text: str, drop_stopwords: bool = False) -> list[str]:
    """The distinct words of a search: each one term of SQLite's FTS5 query, of
    PostgreSQL's tsquery and of ``os1.memory.recall.lexical``'s BM25."""
    words = re.findall(r"[^\W_]+", text.lower())
    if drop_stopwords:
        stop = search_stopwords()
        words = [w for w in words if w not in stop]
    return [w for w in dict.fromkeys(words) if len(w) > 1][:MAX_QUERY_TERMS]


MAX_QUERY_TERMS = 64


@cache
def search_stopwords() -> frozenset[str]:
    text = files("os1.memory.storage").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(text.split())
