"""Builds the parts a command needs from the settings, each only when first used."""

from __future__ import annotations

import sys
from datetime import timedelta
from functools import cached_property

from os1 import config
from os1.llm.base import LLMBackend
from os1.llm.registry import create_backend
from os1.memory.embedding import Embedder, EmbeddingUnavailable, load_embedder
from os1.memory.ingest import Memorizer
from os1.memory.retrieval import HybridRetriever
from os1.memory.store import SQLiteStore
from os1.mind.companion import ChatOptions, Companion, NotSetUp
from os1.mind.prompting import Budget, PromptBuilder


def warn(message: str) -> None:
    print(f"os1: {message}", file=sys.stderr)


class Runtime:
    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.load()

    @cached_property
    def store(self) -> SQLiteStore:
        return SQLiteStore(
            self.settings.db_path, busy_timeout_s=float(self.settings.get("store.busy_timeout_s"))
        )

    @cached_property
    def backend(self) -> LLMBackend:
        return create_backend(self.settings)

    @cached_property
    def builder(self) -> PromptBuilder:
        get = self.settings.get
        context = min(int(get("model.context_window")), self.backend.context_window)
        return PromptBuilder(
            Budget(context, int(get("model.max_reply_tokens"))),
            self.backend.count_tokens,
            temperature=float(get("model.temperature")),
        )

    @cached_property
    def embedders(self) -> list[Embedder]:
        names = [n.strip() for n in str(self.settings.get("memory.embedders")).split(",")]
        loaded = []
        for name in filter(None, names):
            try:
                loaded.append(load_embedder(name))
            except EmbeddingUnavailable as exc:
                # Recall still works on the others (and on full-text search alone).
                warn(f"{exc}. Recalling without {name}.")
        return loaded

    def memorizer(self) -> Memorizer:
        extractor = self.backend if self.settings.get("memory.extract_with_model") else None
        return Memorizer(self.store, self.embedders, extractor=extractor)

    def retriever(self) -> HybridRetriever:
        persona, profile = self.store.persona(), self.store.profile()
        names = [n for n in (profile and profile.name, persona and persona.name) if n]
        return HybridRetriever(
            self.store,
            self.embedders,
            participants=names,
            asker=profile.name if profile else None,
            companion=persona.name if persona else None,
        )

    def companion(self) -> Companion:
        if self.store.persona() is None or self.store.profile() is None:
            raise NotSetUp()  # before loading a model only to refuse
        get = self.settings.get
        options = ChatOptions(
            session_gap=timedelta(minutes=float(get("chat.session_gap_minutes"))),
            recent_turns=int(get("chat.recent_turns")),
            memories=int(get("chat.memories")),
        )
        return Companion(
            self.store, self.backend, self.retriever(), self.builder, options, self.memorizer()
        )

    def close(self) -> None:
        if "backend" in self.__dict__:
            self.backend.close()
        if "store" in self.__dict__:
            self.store.close()
