"""Recalling memories: hybrid retrieval over everything that was said.

Each turn gets one score, a weighted sum of standardised signals (z-scores over all
turns, which measured better than rank fusion on long conversations):

- BM25 over the turn, its speaker, an image caption and the turn before it (SQLite FTS5);
- dense similarity (per embedding model) of the question, and of the question with the
  participants' names removed, to the turn in context and to its best sentence;
- a speaker prior when the question names one participant (or says "I"/"you");
- a boost for turns inside the time the question is about ("last week", "in May 2023",
  "before the trip"), and small ones for importance and recency;
- then each score borrows from its best neighbour in the same session, since what one
  turn says often continues in the next.

``search`` always returns exactly ``min(k, number of turns)`` hits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from os1.domain import Turn
from os1.memory.embedding import Embedder
from os1.memory.passages import mentioned, strip_names
from os1.memory.store import SQLiteStore
from os1.memory.timeparse import TimeSpan, parse

Scores = npt.NDArray[np.float64]
MAX_QUERY_CHARS = 1000
FIRST_PERSON = {"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd"}
SECOND_PERSON = {"you", "your", "yours", "yourself", "you're", "you've"}


@dataclass(frozen=True)
class Recollection:
    turn: Turn
    score: float


class Retriever(Protocol):
    def recall(self, query: str, k: int, exclude_session: int | None = None) -> list[Recollection]:
        """At most ``k`` memories relevant to ``query``, best first."""
        ...


@dataclass(frozen=True)
class Weights:
    bm25: float = 1.0
    dense: float = 0.75
    speaker: float = 1.5
    time: float = 3.0
    importance: float = 0.1
    recency: float = 0.05
    neighbour: float = 0.3


@dataclass
class _Matrix:
    owners: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    vectors: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    last_rowid: int = 0


class _Index:
    """All turn ids, their sessions and times, and the vectors, held in memory."""

    def __init__(self) -> None:
        self.generation = -1
        self.turn_ids = np.zeros(0, np.int64)
        self.sessions = np.zeros(0, np.int64)
        self.times = np.zeros(0, np.float64)
        self.importance = np.zeros(0, np.float64)
        self.speakers: list[str] = []
        self.matrices: dict[tuple[str, str], _Matrix] = {}


class HybridRetriever:
    def __init__(
        self,
        store: SQLiteStore,
        embedders: Sequence[Embedder],
        weights: Weights | None = None,
        participants: Sequence[str] = (),
        asker: str | None = None,
        companion: str | None = None,
    ) -> None:
        self.store = store
        self.embedders = list(embedders)
        self.weights = weights or Weights()
        self.participants = list(participants)
        self.asker = asker
        self.companion = companion
        self._index = _Index()
        # Seconds the last search spent embedding the question, for benchmarks.
        self.last_embed_s = 0.0

    # --- the in-memory index --------------------------------------------------

    def _refresh(self) -> _Index:
        index = self._index
        generation = self.store.state("generation")
        if generation != index.generation:
            index = self._index = _Index()
            index.generation = generation
        last = int(index.turn_ids[-1]) if len(index.turn_ids) else 0
        new = self.store.turns_after(last)
        if new:
            index.turn_ids = np.concatenate([index.turn_ids, [t.id for t in new]])
            index.sessions = np.concatenate([index.sessions, [t.session_id for t in new]])
            index.times = np.concatenate([index.times, [t.created_at.timestamp() for t in new]])
            index.importance = np.concatenate([index.importance, [t.importance for t in new]])
            index.speakers.extend(t.speaker for t in new)
        for embedder in self.embedders:
            for kind in ("context", "unit"):
                matrix = index.matrices.setdefault((embedder.name, kind), _Matrix())
                owners, vectors, last_rowid = self.store.vectors(
                    embedder.name, kind, matrix.last_rowid
                )
                if len(owners):
                    matrix.owners = np.concatenate([matrix.owners, owners])
                    matrix.vectors = (
                        vectors
                        if matrix.vectors.size == 0
                        else np.vstack([matrix.vectors, vectors])
                    )
                    matrix.last_rowid = last_rowid
        return index

    # --- search ---------------------------------------------------------------

    def recall(self, query: str, k: int, exclude_session: int | None = None) -> list[Recollection]:
        hits = self.search(query, k, exclude_session=exclude_session)
        return [Recollection(turn=t, score=s) for t, s in hits]

    def search(
        self,
        query: str,
        k: int,
        now: datetime | None = None,
        exclude_session: int | None = None,
    ) -> list[tuple[Turn, float]]:
        index = self._refresh()
        n = len(index.turn_ids)
        if n == 0 or k <= 0:
            return []
        scores = self.scores(index, query, now)
        if exclude_session is not None:
            scores[index.sessions == exclude_session] = -np.inf
        take = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, take - 1)[:take] if take < n else np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")][:take]
        turns = self.store.turns_by_ids([int(index.turn_ids[i]) for i in top])
        return [
            (turns[int(index.turn_ids[i])], float(scores[i]))
            for i in top
            if int(index.turn_ids[i]) in turns
        ]

    def scores(self, index: _Index, query: str, now: datetime | None) -> Scores:
        # A pasted page is a question too: its opening says what it is about.
        query = query[:MAX_QUERY_CHARS]
        w = self.weights
        n = len(index.turn_ids)
        total = w.bm25 * self._bm25(index, query)
        names = self.participants or sorted(set(index.speakers))
        stripped = strip_names(query, names)
        self.last_embed_s = 0.0
        for embedder in self.embedders:
            total += w.dense * self._dense(index, embedder, query, stripped or query)
        total += w.speaker * self._speaker_prior(index, query, names)
        span = parse(query, now or datetime.fromtimestamp(index.times.max()).astimezone())
        if span is not None:
            total += w.time * self._in_span(index, span)
        total += w.importance * index.importance
        if n > 1:
            age = (index.times.max() - index.times) / max(float(np.ptp(index.times)), 1.0)
            total += w.recency * (1.0 - age)
        return _smooth(total, index.sessions, w.neighbour)

    def _bm25(self, index: _Index, query: str) -> Scores:
        n = len(index.turn_ids)
        hits = self.store.bm25(query, limit=max(1000, n // 20))
        raw = np.zeros(n)
        if hits:
            ids = np.array([h[0] for h in hits], np.int64)
            where = np.searchsorted(index.turn_ids, ids)
            ok = (where < n) & (index.turn_ids[np.minimum(where, n - 1)] == ids)
            raw[where[ok]] = np.array([h[1] for h in hits])[ok]
        return _z(raw)

    def _dense(self, index: _Index, embedder: Embedder, query: str, stripped: str) -> Scores:
        began = time.perf_counter()
        questions = embedder.queries([query, stripped])
        self.last_embed_s += time.perf_counter() - began
        n = len(index.turn_ids)
        total = np.zeros(n)
        for kind in ("context", "unit"):
            matrix = index.matrices.get((embedder.name, kind))
            if matrix is None or not len(matrix.owners):
                continue
            sims = matrix.vectors @ questions.T  # (rows, 2)
            where = np.searchsorted(index.turn_ids, matrix.owners)
            # Rows of one turn are stored together, so the best row per turn is a
            # segmented max (reduceat); np.maximum.at is the slow general case.
            ordered = bool(np.all(where[1:] >= where[:-1]))
            starts = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
            for column in range(2):
                best = np.full(n, -np.inf)
                if ordered:
                    best[where[starts]] = np.maximum.reduceat(sims[:, column], starts)
                else:
                    np.maximum.at(best, where, sims[:, column])
                missing = ~np.isfinite(best)
                if missing.all():
                    continue
                best[missing] = best[~missing].min()
                total += _z(best)
        return total

    def _speaker_prior(self, index: _Index, query: str, names: Sequence[str]) -> Scores:
        named = mentioned(query, names)
        words = set(query.lower().replace("?", " ").split())
        if self.asker and words & FIRST_PERSON:
            named.add(self.asker)
        if self.companion and words & SECOND_PERSON:
            named.add(self.companion)
        if not named or len(named) >= len(set(names)):
            return np.zeros(len(index.turn_ids))
        return np.array([1.0 if s in named else 0.0 for s in index.speakers])

    def _in_span(self, index: _Index, span: TimeSpan) -> Scores:
        if span.anchor:
            hits = self.store.bm25(span.anchor, limit=1)
            if not hits:
                return np.zeros(len(index.turn_ids))
            anchor = self.store.turns_by_ids([hits[0][0]])[hits[0][0]].created_at.timestamp()
            inside = index.times < anchor if span.relation == "before" else index.times > anchor
            return inside.astype(np.float64)
        lo = span.start.timestamp() if span.start else -np.inf
        hi = span.end.timestamp() if span.end else np.inf
        return ((index.times >= lo) & (index.times < hi)).astype(np.float64)


def _z(values: Scores) -> Scores:
    spread = float(values.std())
    out: Scores = (values - values.mean()) / (spread if spread > 0 else 1.0)
    return out


def _smooth(scores: Scores, sessions: npt.NDArray[np.int64], weight: float) -> Scores:
    """Add ``weight`` times the better neighbour's score, within the same session."""
    if weight == 0 or len(scores) < 2:
        return scores
    finite_min = scores[np.isfinite(scores)].min() if np.isfinite(scores).any() else 0.0
    left = np.full(len(scores), finite_min)
    right = np.full(len(scores), finite_min)
    same = sessions[1:] == sessions[:-1]
    left[1:] = np.where(same, scores[:-1], finite_min)
    right[:-1] = np.where(same, scores[1:], finite_min)
    out: Scores = scores + weight * np.maximum(left, right)
    return out


class KeywordRetriever:
    """BM25 alone: for stores with no embeddings yet, and as the plain baseline."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def recall(self, query: str, k: int, exclude_session: int | None = None) -> list[Recollection]:
        if k <= 0:
            return []
        hits = self._store.search_turns(query, k, exclude_session=exclude_session)
        return [Recollection(turn=t, score=s) for t, s in hits]
