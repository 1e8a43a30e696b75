"""Indexing what was said: embeddings of every turn, and facts extracted from it.

Turns are stored first (that must never wait); this runs after, in batches, so a
conversation never waits on it and a crash only delays indexing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from os1.domain import Role, Turn
from os1.llm.base import LLMBackend
from os1.memory.extraction import extract_rules, extract_with_model
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.passages import context_passage, sentence_units
from os1.memory.stores import Store

Progress = Callable[[int, int], None]
FACTS_DONE = "facts_through_turn"


class Memorizer:
    def __init__(
        self,
        store: Store,
        embedders: Sequence[Embedder],
        extractor: LLMBackend | None = None,
        batch: int = 64,
    ) -> None:
        self.store = store
        self.embedders = list(embedders)
        # A capable instruction model, when configured, extracts facts as JSON;
        # otherwise the deterministic rules do it alone.
        self.extractor = extractor
        self.batch = batch

    def index(self, progress: Progress | None = None) -> int:
        """Embed and extract from every turn not yet indexed; return how many turns."""
        with self.store.one_connection():  # a few quick calls after every turn
            done = self._extract_facts()
        for embedder in self.embedders:
            pending = self.store.vectors.turns_without(embedder.name)
            for start in range(0, len(pending), self.batch):
                chunk = pending[start : start + self.batch]
                self._embed(embedder, chunk)
                if progress:
                    progress(min(start + self.batch, len(pending)), len(pending))
            done = max(done, len(pending))
        return done

    def _embed(self, embedder: Embedder, turn_ids: Sequence[int]) -> None:
        found = self.store.turns_by_ids(turn_ids)
        turns = [found[i] for i in turn_ids if i in found]
        previous = self.store.previous_turns(turns)
        contexts = [context_passage(t, previous.get(t.id)) for t in turns]
        self.store.vectors.put(
            embedder.name, "context", [(t.id, 0) for t in turns], embedder.passages(contexts)
        )
        rows: list[tuple[int, int]] = []
        units: list[str] = []
        for turn in turns:
            for idx, unit in enumerate(sentence_units(turn)):
                rows.append((turn.id, idx))
                units.append(unit)
        self.store.vectors.put(embedder.name, "unit", rows, embedder.passages(units))

    def _extract_facts(self) -> int:
        turns = self.store.turns_after_state(FACTS_DONE)
        for turn in turns:
            self._facts_from(turn)
        if turns:
            self.store.set_state(FACTS_DONE, turns[-1].id)
        return len(turns)

    def _facts_from(self, turn: Turn) -> None:
        # Facts come from what the user says: the companion's replies echo and may be
        # wrong ("Alice works at: BeautifulHandwrittenLetters" came from one).
        if turn.role is not Role.USER:
            return
        facts = extract_rules(turn.text, turn.speaker)
        if self.extractor is not None:
            facts += extract_with_model(self.extractor, turn.text, turn.speaker)
        for fact in facts:
            self.store.facts.add(fact, [turn.id], at=turn.created_at)
