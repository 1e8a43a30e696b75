"""Each user's own OS1, and the models every user shares.

A ``Tenant`` is one account's OS1: its own home (``$OS1_HOME/users/<id>/``) with its own
SQLite store, profile, persona, retriever and companion. Routes get a tenant only from the
authenticated account (see ``app.authenticate``), never from an id in the request, so a
route has no way to reach another user's store.

``SharedModels`` holds what holds no user data: the model backend and the embedding
models, created once. The embedders are not safe to call from two threads at once, so
calls to them queue on a lock; the embedded model has its own lock, so users' replies
queue on it too. That is fine for a handful of users; a concurrency limit with "busy"
events is the next step.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from os1 import config
from os1.domain import Turn
from os1.llm.base import LLMBackend
from os1.llm.registry import create_backend
from os1.memory.embedding import Embedder, EmbeddingUnavailable, Vectors, load_embedder
from os1.memory.ingest import Memorizer
from os1.memory.retrieval import HybridRetriever
from os1.memory.store import SQLiteStore
from os1.mind import assembly, onboarding
from os1.mind.companion import Companion
from os1.mind.onboarding import Answers
from os1.server.accounts import Account


class LockedEmbedder:
    """One embedder shared by every user's retriever: calls take turns."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._lock = threading.Lock()

    def passages(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self.inner.passages(texts)

    def queries(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self.inner.queries(texts)


class SharedModels:
    """The model backend and the embedding models, loaded once for every user.

    Tests pass their own backend (one instance for all users, to read every prompt) and
    embedders; otherwise both come from the server's settings on first use."""

    def __init__(
        self,
        settings: config.Settings,
        backend: LLMBackend | None = None,
        embedders: Sequence[Embedder] | None = None,
    ) -> None:
        self.settings = settings
        self._backend = backend
        self._embedders: list[Embedder] | None = (
            [LockedEmbedder(e) for e in embedders] if embedders is not None else None
        )
        self._lock = threading.Lock()
        self.warnings: list[str] = []

    @property
    def backend(self) -> LLMBackend:
        with self._lock:
            if self._backend is None:
                self._backend = create_backend(self.settings)
            return self._backend

    @property
    def embedders(self) -> list[Embedder]:
        with self._lock:
            if self._embedders is None:
                raw = str(self.settings.get("memory.embedders"))
                loaded: list[Embedder] = []
                for name in filter(None, (n.strip() for n in raw.split(","))):
                    try:
                        loaded.append(LockedEmbedder(load_embedder(name)))
                    except EmbeddingUnavailable as exc:
                        # Recall still works on the others (and on full-text search alone).
                        self.warnings.append(f"{exc}. Recalling without {name}.")
                self._embedders = loaded
            return list(self._embedders)

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()


class EventHub:
    """Notices for one user's open ``/v1/events`` streams; publish from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        self._subscribers = []

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, event)
            except RuntimeError:  # that stream's loop is closed: it is gone
                self.unsubscribe(queue)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if not queue.full():  # a reader that stopped reading misses notices, nothing more
        queue.put_nowait(event)


class Tenant:
    """One user's OS1. Hold ``lock`` while using the store or the companion: the store is
    one SQLite connection, used by one thread at a time."""

    def __init__(
        self, account: Account, home: Path, settings: config.Settings, shared: SharedModels
    ):
        self.account = account
        self.home = home
        self.settings = settings
        self.shared = shared
        self.lock = threading.Lock()
        self.events = EventHub()
        self.store = assembly.open_store(settings)
        self._companion: Companion | None = None
        # A retriever for search, kept so its index is built once; dropped after forgetting.
        self._retriever: HybridRetriever | None = None

    @property
    def backend(self) -> LLMBackend:
        return self.shared.backend

    def memorizer(self) -> Memorizer:
        return assembly.memorizer(self.settings, self.store, self.shared.embedders, self._model)

    def retriever(self) -> HybridRetriever:
        return assembly.retriever(self.store, self.shared.embedders)

    def _model(self) -> LLMBackend:
        return self.backend

    def search(self, query: str, k: int) -> list[tuple[Turn, float]]:
        """Search everything said; the companion's retriever keeps its index warm."""
        retriever = self._retriever if self._retriever is not None else self.retriever()
        self._retriever = retriever
        return retriever.search(query, k)

    def companion(self) -> Companion:
        """This user's companion, kept between requests (its retriever's index too)."""
        if self._companion is None:
            self._companion = self._new_companion(self.store)
        return self._companion

    def voice_companion(self) -> tuple[Companion, SQLiteStore]:
        """A companion on its own connection to this user's database, for a voice session
        (which uses it from its own threads, outside ``lock``). Close the store after."""
        store = assembly.open_store(self.settings)
        try:
            return self._new_companion(store), store
        except BaseException:
            store.close()
            raise

    def _new_companion(self, store: SQLiteStore) -> Companion:
        return assembly.companion(self.settings, store, self.backend, self.shared.embedders)

    def set_up(self, answers: Answers) -> tuple[str, str]:
        """The first meeting: store the answers, let the OS choose its name, greet."""
        persona, greeting = onboarding.complete(
            self.store, self.backend, assembly.prompt_builder(self.settings, self.backend), answers
        )
        self._companion = None  # rebuilt with the new persona and profile
        self._retriever = None
        return persona.name, greeting

    def reset_recall(self) -> None:
        """After forgetting: the companion and its retriever's index are rebuilt on next use,
        so nothing forgotten is recalled from memory."""
        self._companion = None
        self._retriever = None

    def erase(self) -> None:
        """Delete everything this user's OS1 holds, back to before the first run: the
        database and anything else in the user's home. Hold ``lock``."""
        self.store.close()
        shutil.rmtree(self.home, ignore_errors=True)
        self.store = assembly.open_store(self.settings)
        self.reset_recall()

    def close(self) -> None:
        with self.lock:
            self.store.close()


class Tenants:
    """Every user's tenant, opened on the user's first request and kept open."""

    def __init__(self, settings: config.Settings, shared: SharedModels) -> None:
        self.settings = settings
        self.shared = shared
        self._lock = threading.Lock()
        self._open: dict[int, Tenant] = {}

    def home_of(self, account: Account) -> Path:
        return self.settings.home / "users" / str(account.id)

    def for_account(self, account: Account) -> Tenant:
        with self._lock:
            tenant = self._open.get(account.id)
            if tenant is None:
                home = self.home_of(account)
                # The server's settings (model, memory, chat), with this user's home: their
                # database is <home>/os1.db.
                tenant = Tenant(account, home, replace(self.settings, home=home), self.shared)
                self._open[account.id] = tenant
            return tenant

    def close(self) -> None:
        with self._lock:
            tenants, self._open = list(self._open.values()), {}
        for tenant in tenants:
            tenant.close()
