"""Recalling memories: hybrid retrieval over everything that was said.

Each turn gets one score, a weighted sum of standardised signals (z-scores over all
turns, which measured better than rank fusion on long conversations):

- BM25 over the turn, its speaker, an image caption and the turn before it (held in
  memory by ``os1.memory.recall.lexical``);
- dense similarity (per embedding model) of the question, and of the question with the
  participants' names removed, to the turn in context and to its best sentence;
- a speaker prior when the question names one participant (or says "I"/"you");
- a boost for turns inside the time the question is about ("last week", "in May 2023",
  "before the trip"), and small ones for importance and recency;
- then each score borrows from its best neighbour in the same session, since what one
  turn says often continues in the next.

``search`` returns exactly ``min(k, number of turns)`` hits (the LoCoMo harness asks for
that), or with ``relevant_only`` only those above a relevance floor: a search for what was
never said then returns nothing rather than five random turns.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from os1.domain import Turn
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.ivf import IVFIndex
from os1.memory.recall.lexical import LexicalIndex
from os1.memory.recall.passages import mentioned, strip_names
from os1.memory.recall.timeparse import TimeSpan, parse
from os1.memory.stores import Store

Scores = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int64]
# Up to this many turns every vector is scanned (exact); beyond it, candidates come from
# BM25 and an IVF index, and are rescored exactly.
FULL_SCAN_TURNS = 30_000
MAX_QUERY_CHARS = 1000
# Turns read into the in-memory index at a time.
REFRESH_BATCH = 50_000
# The relevance floor for a hit that shares no word with the query, in standard deviations
# per signal: a score is a sum of z-scores (BM25 and each model's similarity). On a told
# life of 80 turns, with both models, hits that answer the question scored 12-18 and
# unrelated ones 3-6 (floor 8.0); such a hit must also score at least half the best one.
RELEVANT_Z = 3.2
RELEVANT_SHARE = 0.5
# Shared by every retriever in the process, so a server with many users has two threads.
_ENCODERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="os1-encode")
FIRST_PERSON = {"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd"}
SECOND_PERSON = {"you", "your", "yours", "yourself", "you're", "you've"}


@dataclass(frozen=True)
class Recollection:
    turn: Turn
    score: float


class Retriever(Protocol):
    def recall(
        self, query: str, k: int, exclude_session: int | None = None, floor: bool = True
    ) -> list[Recollection]:
        """At most ``k`` memories relevant to ``query``, best first; ``floor=False``: the
        ``k`` best whatever they score (for a skill that judges relevance itself)."""

    def warm(self) -> None:
        """Make ready now what the first question would wait for (a socket opened, nothing
        asked yet)."""


@dataclass(frozen=True)
class Weights:
    bm25: float = 1.0
    dense: float = 0.75
    speaker: float = 1.5
    time: float = 3.0
    importance: float = 0.1
    recency: float = 0.05
    neighbour: float = 0.3
    # A statement outranks a question and the companion's own replies, which echo what
    # was said and may be wrong ("She does.", "My ex-wife.").
    evidence: float = 0.3


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
    # The fixed random sample's vectors, copied together once (see _dense).
    sample_vectors: npt.NDArray[np.float32] | None = None
    sample_lengths: npt.NDArray[np.int64] | None = None

    def layout(self, turn_ids: npt.NDArray[np.int64]) -> None:
        stale = self.bounds is None or len(self.bounds) != len(turn_ids) + 1
        if stale or self.rows is None or len(self.rows) != len(self.owners):
            self.rows = np.searchsorted(turn_ids, self.owners)
            self.order = np.argsort(self.rows, kind="stable")
            counts = np.bincount(self.rows, minlength=len(turn_ids))
            self.bounds = np.concatenate([[0], np.cumsum(counts)])
            self.sample_vectors = self.sample_lengths = None

    def gather(
        self, turn_rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Vector rows of the given turn rows, each turn's together and in the given order,
        and how many each turn has."""
        assert self.order is not None and self.bounds is not None
        starts = self.bounds[turn_rows]
        lengths = self.bounds[turn_rows + 1] - starts
        # Each turn's span laid end to end, without a Python loop.
        shift = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        positions: npt.NDArray[np.int64] = shift + np.arange(int(lengths.sum()))
        return self.order[positions], lengths


class _Index:
    """All turn ids, their sessions and times, and the vectors, held in memory."""

    def __init__(self) -> None:
        self.generation = -1
        self.turn_ids = np.zeros(0, np.int64)
        self.sessions = np.zeros(0, np.int64)
        self.times = np.zeros(0, np.float64)
        self.importance = np.zeros(0, np.float64)
        # 1 for a statement by someone other than the companion, else 0.
        self.evidence = np.zeros(0, np.float64)
        # Each turn's text, normalised, as a small integer code: equal codes are repeats.
        self.repeats = np.zeros(0, np.int64)
        self.texts: dict[str, int] = {}
        # Each turn's speaker as a small integer code into speaker_names.
        self.speakers = np.zeros(0, np.int32)
        self.speaker_names: list[str] = []
        self.matrices: dict[tuple[str, str], _Matrix] = {}
        self.last_vector_rowid = 0
        self.sample: npt.NDArray[np.int64] | None = None
        self.lexical = LexicalIndex()


class HybridRetriever:
    def __init__(
        self,
        store: Store,
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
        changes = self.store.index_changes(_last_id(index), REFRESH_BATCH)
        if changes.generation != index.generation:
            # Memories were erased or rewritten (or this is the first refresh): start over.
            read_from_start = len(index.turn_ids) == 0
            index = self._index = _Index()
            index.generation = changes.generation
            if not read_from_start:
                changes = self.store.index_changes(0, REFRESH_BATCH)
        new = changes.turns
        while new:
            self._add_turns(index, new)
            full = len(new) == REFRESH_BATCH
            new = self.store.turns_after(_last_id(index), REFRESH_BATCH) if full else []
        if changes.last_vector_rowid > index.last_vector_rowid:
            self._add_vectors(index)
        for matrix in index.matrices.values():
            matrix.layout(index.turn_ids)
        return index

    def _add_turns(self, index: _Index, new: list[Turn]) -> None:
        index.turn_ids = np.concatenate([index.turn_ids, [t.id for t in new]])
        index.sessions = np.concatenate([index.sessions, [t.session_id for t in new]])
        index.times = np.concatenate([index.times, [t.created_at.timestamp() for t in new]])
        index.importance = np.concatenate([index.importance, [t.importance for t in new]])
        stated = [
            float(t.speaker != self.companion and not t.text.rstrip().endswith("?")) for t in new
        ]
        index.evidence = np.concatenate([index.evidence, stated])
        said = [" ".join(t.text.lower().split()) for t in new]
        repeats = [index.texts.setdefault(text, len(index.texts)) for text in said]
        index.repeats = np.concatenate([index.repeats, np.array(repeats, np.int64)])
        codes = []
        for turn in new:
            if turn.speaker not in index.speaker_names:
                index.speaker_names.append(turn.speaker)
            codes.append(index.speaker_names.index(turn.speaker))
            index.lexical.add(turn.session_id, turn.speaker, turn.text, turn.extra)
        index.speakers = np.concatenate([index.speakers, np.array(codes, np.int32)])
        index.sample = None

    def _add_vectors(self, index: _Index) -> None:
        """Append the vectors stored since the last refresh, read in batches into arrays
        sized up front, so even a million turns load without holding two copies."""
        wanted = {e.name for e in self.embedders}
        counts = self.store.vectors.counts_after(index.last_vector_rowid)
        filled: dict[tuple[str, str], int] = {}
        while True:
            batch, last = self.store.vectors.after(index.last_vector_rowid)
            if last == index.last_vector_rowid:
                break
            index.last_vector_rowid = last
            for key, (owners, vectors) in batch.items():
                if key[0] not in wanted:
                    continue
                matrix = index.matrices.setdefault(key, _Matrix())
                if key not in filled:
                    filled[key] = had = len(matrix.owners)
                    more = counts.get(key, 0)
                    grown = np.empty((had + more, vectors.shape[1]), np.float32)
                    if had:
                        grown[:had] = matrix.vectors
                    matrix.vectors = grown
                    matrix.owners = np.concatenate([matrix.owners, np.zeros(more, np.int64)])
                start = filled[key]
                # A vector written after the count was taken: make room for it.
                if start + len(vectors) > len(matrix.vectors):
                    matrix.vectors = np.vstack([matrix.vectors[:start], vectors])
                    matrix.owners = np.concatenate([matrix.owners[:start], owners])
                else:
                    matrix.vectors[start : start + len(vectors)] = vectors
                    matrix.owners[start : start + len(owners)] = owners
                filled[key] = start + len(vectors)
                if matrix.ivf is not None:
                    matrix.ivf.add(vectors)
        for key, size in filled.items():
            matrix = index.matrices[key]
            matrix.vectors, matrix.owners = matrix.vectors[:size], matrix.owners[:size]

    # --- search ---------------------------------------------------------------

    def recall(
        self, query: str, k: int, exclude_session: int | None = None, floor: bool = True
    ) -> list[Recollection]:
        hits = self.search(query, k, exclude_session=exclude_session, relevant_only=floor)
        return [Recollection(turn=t, score=s) for t, s in hits]

    def warm(self) -> None:
        """Read every memory into the index now, not on the first question."""
        self._refresh()

    def expand(self, turn: Turn, around: int = 1) -> list[Turn]:
        """A recalled turn with ``around`` turns either side of it in its session: what
        led up to it and what followed."""
        return self.store.neighbours(turn.id, before=around, after=around)

    def search(
        self,
        query: str,
        k: int,
        now: datetime | None = None,
        exclude_session: int | None = None,
        relevant_only: bool = False,
    ) -> list[tuple[Turn, float]]:
        index = self._refresh()
        n = len(index.turn_ids)
        if n == 0 or k <= 0:
            return []
        rows, scores, words = self._score(index, query[:MAX_QUERY_CHARS], now, k)
        if exclude_session is not None:
            scores[index.sessions[rows] == exclude_session] = -np.inf
        finite = int(np.isfinite(scores).sum())
        take = min(k, finite)
        if take < k and finite < n:
            # Fewer candidates than asked for: fall back to scoring everything.
            rows, scores, words = self._score(index, query[:MAX_QUERY_CHARS], now, k, full=True)
            if exclude_session is not None:
                scores[index.sessions[rows] == exclude_session] = -np.inf
            take = min(k, int(np.isfinite(scores).sum()))
        order = np.argsort(-scores, kind="stable")
        best = _first_of_repeats(order, index.repeats[rows], take)
        if relevant_only and best:
            best = self._relevant(words, scores, best)
        ids = [int(index.turn_ids[rows[i]]) for i in best]
        turns = self.store.turns_by_ids(ids)
        return [(turns[t], float(scores[i])) for t, i in zip(ids, best, strict=True) if t in turns]

    def _relevant(self, words: Scores, scores: Scores, best: list[int]) -> list[int]:
        """The hits worth showing: those that share a word with the query, and those close
        in meaning that score above the floor and at least half the best."""
        w = self.weights
        floor = RELEVANT_Z * (w.bm25 + w.dense * len(self.embedders))
        top = float(scores[best[0]])
        return [i for i in best if words[i] > 0 or scores[i] >= max(floor, RELEVANT_SHARE * top)]

    def _score(
        self, index: _Index, query: str, now: datetime | None, k: int, full: bool = False
    ) -> tuple[npt.NDArray[np.int64], Scores, Scores]:
        """Scores for every turn, or for a candidate set when there are very many, and
        the BM25 score of each (0: it shares no word with the query)."""
        w = self.weights
        n = len(index.turn_ids)
        names = self.participants or sorted(index.speaker_names)
        stripped = strip_names(query, names) or query
        # The models encode the question on worker threads while BM25 runs here: their
        # native code releases the GIL, so on two cores the three overlap.
        asked = [query] if stripped == query else [query, stripped]
        began = time.perf_counter()
        futures = {e.name: _ENCODERS.submit(e.queries, asked) for e in self.embedders}
        lexical = index.lexical.scores(query)
        questions = {name: future.result() for name, future in futures.items()}
        self.last_embed_s = time.perf_counter() - began

        if full or n <= self.full_scan_turns:
            rows = np.arange(n)
            sample = None
        else:
            rows = self._candidates(index, questions, lexical, k)
            if index.sample is None:
                index.sample = np.sort(
                    np.random.default_rng(0).choice(n, size=min(n, 2000), replace=False)
                )
            sample = index.sample

        # Mean and spread over every turn, from the matching ones alone (the rest are 0).
        matched = lexical[np.flatnonzero(lexical)]
        mean = matched.sum() / n
        spread = float(np.sqrt(max((matched**2).sum() / n - mean**2, 0.0))) or 1.0
        total = w.bm25 * (lexical[rows] - mean) / spread
        for embedder in self.embedders:
            total += w.dense * self._dense(
                index, embedder.name, questions[embedder.name], rows, sample
            )
        total += w.speaker * self._speaker_prior(index, query, names)[rows]
        span = parse(query, now or datetime.fromtimestamp(index.times.max()).astimezone())
        if span is not None:
            total += w.time * self._in_span(index, span)[rows]
        total += w.importance * index.importance[rows]
        total += w.evidence * index.evidence[rows]
        if n > 1:
            age = (index.times.max() - index.times[rows]) / max(float(np.ptp(index.times)), 1.0)
            total += w.recency * (1.0 - age)
        return rows, _smooth(total, rows, index.sessions[rows], w.neighbour), lexical[rows]

    def _candidates(
        self,
        index: _Index,
        questions: dict[str, npt.NDArray[np.float32]],
        lexical: Scores,
        k: int,
    ) -> npt.NDArray[np.int64]:
        """BM25's best, each model's nearest turns (IVF), and their neighbours."""
        n = len(index.turn_ids)
        wanted = min(max(200, 4 * k), n)
        best = np.argpartition(-lexical, wanted - 1)[:wanted]
        found = [best[lexical[best] > 0]]
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
            if sample is None:
                reference = best
            else:
                if matrix.sample_vectors is None:
                    vector_rows, matrix.sample_lengths = matrix.gather(sample)
                    matrix.sample_vectors = matrix.vectors[vector_rows]
                assert matrix.sample_lengths is not None
                reference = _segment_max(matrix.sample_vectors @ questions.T, matrix.sample_lengths)
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
        vector_rows, lengths = matrix.gather(rows)
        return _segment_max(matrix.vectors[vector_rows] @ questions.T, lengths)

    def _speaker_prior(self, index: _Index, query: str, names: Sequence[str]) -> Scores:
        named = mentioned(query, names)
        words = set(query.lower().replace("?", " ").split())
        if self.asker and words & FIRST_PERSON:
            named.add(self.asker)
        if self.companion and words & SECOND_PERSON:
            named.add(self.companion)
        if not named or len(named) >= len(set(names)):
            return np.zeros(len(index.turn_ids))
        table = np.array([name in named for name in index.speaker_names], np.float64)
        prior: Scores = table[index.speakers]
        return prior

    def _in_span(self, index: _Index, span: TimeSpan) -> Scores:
        if span.anchor:
            # The turn that best matches the anchor ("the trip") dates it.
            found = index.lexical.scores(span.anchor)
            if not found.any():
                return np.zeros(len(index.turn_ids))
            anchor = float(index.times[int(np.argmax(found))])
            inside = index.times < anchor if span.relation == "before" else index.times > anchor
            flags: Scores = inside.astype(np.float64)
            return flags
        lo = span.start.timestamp() if span.start else -np.inf
        hi = span.end.timestamp() if span.end else np.inf
        return ((index.times >= lo) & (index.times < hi)).astype(np.float64)


def _first_of_repeats(order: Rows, repeats: Rows, take: int) -> list[int]:
    """The first ``take`` of ``order``, a repeated text ("Oh, I know.") only once while
    there are others to take (``search`` still returns exactly ``take``)."""
    seen: set[int] = set()
    kept: list[int] = []
    again: list[int] = []
    for i in order:
        code = int(repeats[i])
        if code in seen:
            if len(again) < take:
                again.append(int(i))
            continue
        seen.add(code)
        kept.append(int(i))
        if len(kept) == take:
            return kept
    return (kept + again)[:take]


def _last_id(index: _Index) -> int:
    return int(index.turn_ids[-1]) if len(index.turn_ids) else 0


def _segment_max(
    sims: npt.NDArray[np.float32], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Per segment (consecutive rows, ``lengths`` long each) the column-wise maximum;
    -inf for a segment with no rows."""
    best = np.full((len(lengths), sims.shape[1]), -np.inf)
    filled = lengths > 0
    if filled.any():
        starts = (np.cumsum(lengths) - lengths)[filled]
        best[filled] = np.maximum.reduceat(sims, starts, axis=0)
    return best


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

    def __init__(self, store: Store) -> None:
        self._store = store

    def warm(self) -> None:
        """Nothing to make ready: the store's full-text index answers as it is."""

    def recall(
        self, query: str, k: int, exclude_session: int | None = None, floor: bool = True
    ) -> list[Recollection]:
        if k <= 0:
            return []
        hits = self._store.search_turns(query, k, exclude_session=exclude_session)
        return [Recollection(turn=t, score=s) for t, s in hits]
