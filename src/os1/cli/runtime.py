"""Builds the parts a command needs from the settings, each only when first used."""

from __future__ import annotations

import sys
from functools import cached_property

from os1 import config
from os1.llm.base import LLMBackend
from os1.llm.registry import create_backend
from os1.memory.codec import now
from os1.memory.embedding import Embedder, EmbeddingUnavailable, load_embedder
from os1.memory.ingest import Memorizer
from os1.memory.protocol import Store
from os1.memory.retrieval import HybridRetriever
from os1.mind import assembly
from os1.mind.companion import Companion, NotSetUp
from os1.mind.prompting import PromptBuilder
from os1.mind.skill import SkillContext
from os1.mind.turn import TurnRunner


def warn(message: str) -> None:
    print(f"os1: {message}", file=sys.stderr)


class Runtime:
    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.load()

    @cached_property
    def store(self) -> Store:
        return assembly.open_store(self.settings)

    @cached_property
    def backend(self) -> LLMBackend:
        return create_backend(self.settings)

    @cached_property
    def builder(self) -> PromptBuilder:
        return assembly.prompt_builder(self.settings, self.backend)

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
        return assembly.memorizer(self.settings, self.store, self.embedders, lambda: self.backend)

    def retriever(self) -> HybridRetriever:
        return assembly.retriever(self.store, self.embedders)

    def companion(self) -> Companion:
        if self.store.persona() is None or self.store.profile() is None:
            raise NotSetUp()  # before loading a model only to refuse
        return assembly.companion(self.settings, self.store, self.backend, self.embedders)

    def turns(self) -> TurnRunner:
        """The owner of this person's turns, with the installed skills."""
        return assembly.turns(self.settings, self.companion(), self.embedders)

    def skill_context(self) -> SkillContext:
        """The person's world for a skill's command (os1 reminders …); no model is loaded."""
        persona, profile = self.store.persona(), self.store.profile()
        if persona is None or profile is None:
            raise NotSetUp()
        zone = assembly.user_timezone(str(self.settings.get("chat.timezone")))
        return SkillContext(self.store, profile, persona, zone, now)

    def close(self) -> None:
        if "backend" in self.__dict__:
            self.backend.close()
        if "store" in self.__dict__:
            self.store.close()
