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
from os1.memory.ivf import IVFIndex
from os1.memory.passages import mentioned, strip_names
from os1.memory.store import SQLiteStore
from os1.memory.timeparse import TimeSpan, parse

Scores = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int64]
# Up to this many turns every vector is scanned (exact); beyond it, candidates come from
# BM25 and an IVF index, and are rescored exactly.
FULL_SCAN_TURNS = 30_000
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
    # Derived on first use after a change: each vector's turn row, and per turn row the
    # span of its vectors (CSR), for gathering candidates; and the IVF index.
    rows: npt.NDArray[np.int64] | None = None
    order: npt.NDArray[np.int64] | None = None
    bounds: npt.NDArray[np.int64] | None = None
    ivf: IVFIndex | None = None

    def layout(self, turn_ids: npt.NDArray[np.int64]) -> None:
        stale = self.bounds is None or len(self.bounds) != len(turn_ids) + 1
        if stale or self.rows is None or len(self.rows) != len(self.owners):
            self.rows = np.searchsorted(turn_ids, self.owners)
            self.order = np.argsort(self.rows, kind="stable")
            counts = np.bincount(self.rows, minlength=len(turn_ids))
            self.bounds = np.concatenate([[0], np.cumsum(counts)])

    def gather(self, turn_rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Vector rows belonging to the given turn rows."""
        assert self.order is not None and self.bounds is not None
        starts = self.bounds[turn_rows]
        lengths = self.bounds[turn_rows + 1] - starts
        # Each turn's span laid end to end, without a Python loop.
        shift = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        positions: npt.NDArray[np.int64] = shift + np.arange(int(lengths.sum()))
        return self.order[positions]


class _Index:
    """All turn ids, their sessions and times, and the vectors, held in memory."""

    def __init__(self) -> None:
        self.generation = -1
        self.turn_ids = np.zeros(0, np.int64)
        self.sessions = np.zeros(0, np.int64)
        self.times = np.zeros(0, np.float64)
        self.importance = np.zeros(0, np.float64)
        # Each turn's speaker as a small integer code into speaker_names.
        self.speakers = np.zeros(0, np.int32)
        self.speaker_names: list[str] = []
        self.matrices: dict[tuple[str, str], _Matrix] = {}
        self.last_vector_rowid = 0
        self.sample: npt.NDArray[np.int64] | None = None


class HybridRetriever:
    def __init__(
        self,
        store: SQLiteStore,
        embedders: Sequence[Embedder],
        weights: Weights | None = None,
        participants: Sequence[str] = (),
        asker: str | None = None,
        companion: str | None = None,
        full_scan_turns: int = FULL_SCAN_TURNS,
    ) -> None:
        self.store = store
        self.embedders = list(embedders)
        self.weights = weights or Weights()
        self.participants = list(participants)
        self.asker = asker
        self.companion = companion
        self.full_scan_turns = full_scan_turns
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
            codes = []
            for turn in new:
                if turn.speaker not in index.speaker_names:
                    index.speaker_names.append(turn.speaker)
                codes.append(index.speaker_names.index(turn.speaker))
            index.speakers = np.concatenate([index.speakers, np.array(codes, np.int32)])
            index.sample = None
        last_rowid = self.store.last_vector_rowid()
        if last_rowid > index.last_vector_rowid:
            wanted = {e.name for e in self.embedders}
            for (model, kind), (owners, vectors) in self.store.vectors_after(
                index.last_vector_rowid
            ).items():
                if model not in wanted:
                    continue
                matrix = index.matrices.setdefault((model, kind), _Matrix())
                matrix.owners = np.concatenate([matrix.owners, owners])
                matrix.vectors = (
                    vectors if matrix.vectors.size == 0 else np.vstack([matrix.vectors, vectors])
                )
                if matrix.ivf is not None:
                    matrix.ivf.add(vectors)
            index.last_vector_rowid = last_rowid
        for matrix in index.matrices.values():
            matrix.layout(index.turn_ids)
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
        rows, scores = self._score(index, query[:MAX_QUERY_CHARS], now, k)
        if exclude_session is not None:
            scores[index.sessions[rows] == exclude_session] = -np.inf
        finite = int(np.isfinite(scores).sum())
        take = min(k, finite)
        if take < k and finite < n:
            # Fewer candidates than asked for: fall back to scoring everything.
            rows, scores = self._score(index, query[:MAX_QUERY_CHARS], now, k, full=True)
            if exclude_session is not None:
                scores[index.sessions[rows] == exclude_session] = -np.inf
            take = min(k, int(np.isfinite(scores).sum()))
        best = np.argsort(-scores, kind="stable")[:take]
        ids = [int(index.turn_ids[rows[i]]) for i in best]
        turns = self.store.turns_by_ids(ids)
        return [(turns[t], float(scores[i])) for t, i in zip(ids, best, strict=True) if t in turns]

    def _score(
        self, index: _Index, query: str, now: datetime | None, k: int, full: bool = False
    ) -> tuple[npt.NDArray[np.int64], Scores]:
        """Scores for every turn, or for a candidate set when there are very many."""
        w = self.weights
        n = len(index.turn_ids)
        names = self.participants or sorted(index.speaker_names)
        stripped = strip_names(query, names) or query
        self.last_embed_s = 0.0
        questions = {}
        for embedder in self.embedders:
            began = time.perf_counter()
            questions[embedder.name] = embedder.queries([query, stripped])
            self.last_embed_s += time.perf_counter() - began
        hits = self.store.bm25(query, limit=max(1000, min(n // 20, 5000)))

        if full or n <= self.full_scan_turns:
            rows = np.arange(n)
            sample = None
        else:
            rows = self._candidates(index, questions, hits, k)
            if index.sample is None:
                index.sample = np.sort(
                    np.random.default_rng(0).choice(n, size=min(n, 2000), replace=False)
                )
            sample = index.sample

        total = w.bm25 * self._bm25(index, hits, rows)
        for embedder in self.embedders:
            total += w.dense * self._dense(
                index, embedder.name, questions[embedder.name], rows, sample
            )
        total += w.speaker * self._speaker_prior(index, query, names)[rows]
        span = parse(query, now or datetime.fromtimestamp(index.times.max()).astimezone())
        if span is not None:
            total += w.time * self._in_span(index, span)[rows]
        total += w.importance * index.importance[rows]
        if n > 1:
            age = (index.times.max() - index.times[rows]) / max(float(np.ptp(index.times)), 1.0)
            total += w.recency * (1.0 - age)
        return rows, _smooth(total, rows, index.sessions[rows], w.neighbour)

    def _candidates(
        self,
        index: _Index,
        questions: dict[str, npt.NDArray[np.float32]],
        hits: list[tuple[int, float]],
        k: int,
    ) -> npt.NDArray[np.int64]:
        """BM25's best, each model's nearest turns (IVF), and their neighbours."""
        n = len(index.turn_ids)
        found = [_rows_of(index, [h[0] for h in hits[: max(200, 4 * k)]])]
        for name, asked in questions.items():
            matrix = index.matrices.get((name, "context"))
            if matrix is None or not len(matrix.owners):
                continue
            if matrix.ivf is None:
                matrix.ivf = IVFIndex(matrix.vectors)
            vector_rows = matrix.ivf.candidates(asked)
            sims = (matrix.vectors[vector_rows] @ asked.T).max(axis=1)
            keep = vector_rows[np.argsort(-sims)[: max(200, 4 * k)]]
            assert matrix.rows is not None
            found.append(matrix.rows[keep])
        core = np.unique(np.concatenate(found))
        return np.unique(np.clip(np.concatenate([core - 1, core, core + 1]), 0, n - 1))

    def _bm25(self, index: _Index, hits: list[tuple[int, float]], rows: Rows) -> Scores:
        n = len(index.turn_ids)
        values = np.array([h[1] for h in hits]) if hits else np.zeros(0)
        # Turns with no matching word score 0: the mean and spread over all turns follow
        # from the hits alone.
        mean = values.sum() / n
        spread = float(np.sqrt(max((values**2).sum() / n - mean**2, 0.0))) or 1.0
        raw = np.zeros(len(rows))
        if hits:
            positions = np.searchsorted(rows, _rows_of(index, [h[0] for h in hits]))
            positions = np.minimum(positions, len(rows) - 1)
            matched = rows[positions] == _rows_of(index, [h[0] for h in hits])
            raw[positions[matched]] = values[matched]
        out: Scores = (raw - mean) / spread
        return out

    def _dense(
        self,
        index: _Index,
        name: str,
        questions: npt.NDArray[np.float32],
        rows: Rows,
        sample: Rows | None,
    ) -> Scores:
        """Per question and kind, each turn's best similarity, standardised over all turns
        (or over a fixed random sample of them, when only candidates are scored)."""
        total = np.zeros(len(rows))
        for kind in ("context", "unit"):
            matrix = index.matrices.get((name, kind))
            if matrix is None or not len(matrix.owners):
                continue
            best = self._best(matrix, questions, rows)
            reference = best if sample is None else self._best(matrix, questions, sample)
            for column in range(best.shape[1]):
                values, ref = best[:, column], reference[:, column]
                ok = np.isfinite(ref)
                if not ok.any():
                    continue
                floor = ref[ok].min()
                values = np.where(np.isfinite(values), values, floor)
                spread = float(ref[ok].std()) or 1.0
                total += (values - ref[ok].mean()) / spread
        return total

    @staticmethod
    def _best(
        matrix: _Matrix, questions: npt.NDArray[np.float32], rows: Rows
    ) -> npt.NDArray[np.float64]:
        """(len(rows), questions) best similarity of any of each turn's vectors."""
        assert matrix.rows is not None
        best = np.full((len(rows), questions.shape[0]), -np.inf)
        everything = len(rows) and rows[0] == 0 and rows[-1] == len(rows) - 1
        if everything and np.all(matrix.rows[1:] >= matrix.rows[:-1]):
            # Scoring every turn, with each turn's vectors stored together: a segmented
            # max (reduceat) is far faster than the general np.maximum.at.
            sims = matrix.vectors @ questions.T
            starts = np.flatnonzero(np.r_[True, matrix.rows[1:] != matrix.rows[:-1]])
            best[matrix.rows[starts]] = np.maximum.reduceat(sims, starts, axis=0)
            return best
        vector_rows = matrix.gather(rows) if not everything else np.arange(len(matrix.rows))
        sims = matrix.vectors[vector_rows] @ questions.T
        owner = np.searchsorted(rows, matrix.rows[vector_rows])
        owner = np.minimum(owner, len(rows) - 1)
        inside = rows[owner] == matrix.rows[vector_rows]
        for column in range(questions.shape[0]):
            np.maximum.at(best[:, column], owner[inside], sims[inside, column])
        return best

    def _speaker_prior(self, index: _Index, query: str, names: Sequence[str]) -> Scores:
        named = mentioned(query, names)
        words = set(query.lower().replace("?", " ").split())
        if self.asker and words & FIRST_PERSON:
            named.add(self.asker)
        if self.companion and words & SECOND_PERSON:
            named.add(self.companion)
        if not named or len(named) >= len(set(names)):
            return np.zeros(len(index.turn_ids))
        codes = [i for i, name in enumerate(index.speaker_names) if name in named]
        return np.isin(index.speakers, codes).astype(np.float64)

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


def _rows_of(index: _Index, turn_ids: Sequence[int]) -> npt.NDArray[np.int64]:
    ids = np.asarray(turn_ids, np.int64)
    rows = np.searchsorted(index.turn_ids, ids)
    rows = np.minimum(rows, max(len(index.turn_ids) - 1, 0))
    return rows[index.turn_ids[rows] == ids] if len(ids) else rows


def _smooth(scores: Scores, rows: Rows, sessions: npt.NDArray[np.int64], weight: float) -> Scores:
    """Add ``weight`` times the better neighbour's score, within the same session."""
    if weight == 0 or len(scores) < 2:
        return scores
    finite = np.isfinite(scores)
    floor = scores[finite].min() if finite.any() else 0.0
    adjacent = (rows[1:] == rows[:-1] + 1) & (sessions[1:] == sessions[:-1])
    left = np.full(len(scores), floor)
    right = np.full(len(scores), floor)
    left[1:] = np.where(adjacent, scores[:-1], floor)
    right[:-1] = np.where(adjacent, scores[1:], floor)
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
