"""Builds the parts a command needs from the options, each only when first used."""

from __future__ import annotations

import sys
from functools import cached_property

from os1.llm.base import LLMBackend
from os1.llm.registry import create_backend
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.codec import now
from os1.memory.stores import Store
from os1.mind import assembly
from os1.mind.companion import Companion, NotSetUp
from os1.mind.prompting import PromptBuilder
from os1.mind.skill import SkillContext
from os1.mind.turn import TurnRunner
from os1.options import Options
from os1.options import load as load_options


def warn(message: str) -> None:
    print(f"os1: {message}", file=sys.stderr)


class Runtime:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or load_options()

    @cached_property
    def store(self) -> Store:
        return assembly.open_store(self.options.store)

    @cached_property
    def backend(self) -> LLMBackend:
        return create_backend(self.options.model)

    @cached_property
    def builder(self) -> PromptBuilder:
        return assembly.prompt_builder(self.options.model, self.backend)

    @cached_property
    def embedders(self) -> list[Embedder]:
        return assembly.embedders(self.options.memory, warn)

    def memorizer(self) -> Memorizer:
        return assembly.memorizer(
            self.options.memory, self.store, self.embedders, lambda: self.backend
        )

    def retriever(self) -> HybridRetriever:
        return assembly.retriever(self.store, self.embedders)

    def companion(self) -> Companion:
        if self.store.persona() is None or self.store.profile() is None:
            raise NotSetUp()  # before loading a model only to refuse
        return assembly.companion(self.options, self.store, self.backend, self.embedders)

    def turns(self) -> TurnRunner:
        """The owner of this person's turns, with the installed skills."""
        return assembly.turns(self.options.chat, self.companion(), self.embedders)

    def skill_context(self) -> SkillContext:
        """The person's world for a skill's command (os1 reminders …); no model is loaded."""
        persona, profile = self.store.persona(), self.store.profile()
        if persona is None or profile is None:
            raise NotSetUp()
        zone = assembly.user_timezone(self.options.chat.timezone)
        return SkillContext(self.store, profile, persona, zone, now)

    def close(self) -> None:
        if "backend" in self.__dict__:
            self.backend.close()
        if "store" in self.__dict__:
            self.store.close()
