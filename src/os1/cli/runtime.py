"""Builds the parts a command needs from the settings, each only when first used."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from os1 import config
from os1.llm.base import LLMBackend
from os1.llm.registry import create_backend
from os1.memory.retrieval import KeywordRetriever
from os1.memory.store import SQLiteStore
from os1.mind.companion import ChatOptions, Companion, NotSetUp
from os1.mind.prompting import Budget, PromptBuilder


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

    def companion(self) -> Companion:
        if self.store.persona() is None or self.store.profile() is None:
            raise NotSetUp()  # before loading a model only to refuse
        get = self.settings.get
        options = ChatOptions(
            session_gap=timedelta(minutes=float(get("chat.session_gap_minutes"))),
            recent_turns=int(get("chat.recent_turns")),
            memories=int(get("chat.memories")),
        )
        retriever = KeywordRetriever(self.store)
        return Companion(self.store, self.backend, retriever, self.builder, options)

    def close(self) -> None:
        if "backend" in self.__dict__:
            self.backend.close()
        if "store" in self.__dict__:
            self.store.close()
