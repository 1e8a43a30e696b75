"""Each user's own OS1, and the models every user shares.

A ``Tenant`` is one account's OS1: its own home (``$OS1_HOME/users/<id>/``) with its own
SQLite store, profile, persona, retriever and companion. Routes get a tenant only from the
authenticated account (see ``app.authenticate``), never from an id in the request, so a
route has no way to reach another user's store.

``SharedModels`` holds what holds no user data: the model backend and the embedding
models, created once. The embedders are not safe to call from two threads at once, so
calls to them queue on a lock. Generations go through a ``ModelGate``: at most
``server.model_concurrency`` at once, the rest queued (and told so), or refused when the
queue is full.

A process keeps at most about ``server.max_open_tenants`` tenants open (least recently
used close first), so memory and open files stay bounded with thousands of users. A
tenant holds only caches: its store connection and its recall index, which catches up
with rows that other processes wrote (it reads turns and vectors after the last it has).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from os1.domain import Turn
from os1.llm.base import LLMBackend, preload
from os1.llm.gate import GatedBackend, ModelGate
from os1.llm.registry import create_backend
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder, Vectors
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.stores import Store
from os1.mind import assembly, onboarding
from os1.mind.companion import Companion
from os1.mind.onboarding import Answers
from os1.mind.skill import Services
from os1.mind.turn import TurnRunner
from os1.options import Options
from os1.server.accounts import Account

# A tenant used this recently stays open even beyond max_open_tenants: a request may be
# about to use it.
MIN_IDLE_BEFORE_CLOSING_S = 30.0
# Each open tenant's page cache. The operating system caches the files anyway; SQLite's own
# default (up to 2 MB a connection, ~170 kB in practice) times thousands of users is GBs.
TENANT_CACHE_KB = 16


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
    embedders; otherwise both come from the server's options on first use."""

    def __init__(
        self,
        options: Options,
        backend: LLMBackend | None = None,
        embedders: Sequence[Embedder] | None = None,
    ) -> None:
        self.options = options
        self._backend = backend
        self._embedders: list[Embedder] | None = (
            [LockedEmbedder(e) for e in embedders] if embedders is not None else None
        )
        self._lock = threading.Lock()
        self.warnings: list[str] = []
        self.gate = ModelGate(model_slots(options), options.server.model_queue)
        self._gated: LLMBackend | None = None
        # Lexical recall: no embedding per question or per turn (the way to scale a process).
        self.lexical_recall = options.server.recall == "lexical"

    @property
    def backend(self) -> LLMBackend:
        """The model, behind the gate: every generation takes a slot."""
        with self._lock:
            if self._gated is None:
                raw = self._backend
                if raw is None:
                    raw = create_backend(self.options.model)
                self._backend = raw
                self._gated = GatedBackend(raw, self.gate)
            return self._gated

    @property
    def recall_embedders(self) -> list[Embedder]:
        """The embedders recall uses: none with ``server.recall = lexical``."""
        return [] if self.lexical_recall else self.embedders

    @property
    def embedders(self) -> list[Embedder]:
        with self._lock:
            if self._embedders is None:
                loaded = assembly.embedders(self.options.memory, self.warnings.append)
                self._embedders = [LockedEmbedder(e) for e in loaded]
            return list(self._embedders)

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()


def model_slots(options: Options) -> int:
    """``server.model_concurrency``, where 0 means: one for a model in this process (it
    runs one generation at a time anyway), 16 for a model server."""
    configured = options.server.model_concurrency
    if configured > 0:
        return configured
    return 1 if options.model.backend in ("embedded", "auto") else 16


class EventHub:
    """Notices for one user's open ``/v1/events`` streams; publish from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # When this user's next item falls due, as last read (wall clock), and when it was
        # read (monotonic); None: not known, read it (a turn or a skill's route may have
        # scheduled something). See os1.server.notices.
        self.next_due: tuple[float, datetime | None] | None = None
        self._subscribers: list[
            tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]], frozenset[str] | None]
        ] = []

    def subscribe(self, only: frozenset[str] | None = None) -> asyncio.Queue[dict[str, Any]]:
        """A queue of this user's events; with ``only``, of those types alone (a chat
        socket wants notices, not its own turns: a wake-up of the loop per turn saved)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue, only))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s[1] is not queue]

    @property
    def listened(self) -> bool:
        """Whether a stream or a socket listens now."""
        with self._lock:
            return bool(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue, only in subscribers:
            if only is not None and event.get("type") not in only:
                continue
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
        self,
        account: Account,
        home: Path,
        options: Options,
        shared: SharedModels,
        events: EventHub | None = None,
        services: Services | None = None,
    ):
        """``options``: the server's, with this user's home (``Options.for_home``)."""
        self.account = account
        self.home = home
        self.options = options
        self.shared = shared
        self.lock = threading.Lock()
        # Kept by Tenants per user, so /v1/events streams outlive a closed tenant.
        self.events = events or EventHub()
        # What the host offers this user's skills (the server's presence count).
        self.services = services or Services()
        self.last_used = time.monotonic()
        # Requests and sessions using this tenant now; an evicted tenant must have none.
        self.leases = 0
        self.closed = False
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._companion: Companion | None = None
        self._turns: TurnRunner | None = None
        # A retriever for search, kept so its index is built once; dropped after forgetting.
        self._retriever: HybridRetriever | None = None

    @property
    def backend(self) -> LLMBackend:
        return self.shared.backend

    @property
    def store(self) -> Store:
        """This user's store, opened on first use (on a worker thread, not the event loop)."""
        with self._store_lock:
            if self._store is None:
                if self.closed:
                    raise RuntimeError("this tenant was closed")  # a caller kept it too long
                self._store = assembly.open_store(
                    self.options.store, user_id=self.account.id, cache_kb=TENANT_CACHE_KB
                )
            return self._store

    @contextlib.contextmanager
    def leased(self) -> Iterator[Tenant]:
        """Keep this tenant open while inside (a turn, a voice session)."""
        with self.lock:
            self.leases += 1
        try:
            yield self
        finally:
            with self.lock:
                self.leases -= 1
            self.last_used = time.monotonic()

    def memorizer(self) -> Memorizer:
        return assembly.memorizer(
            self.options.memory, self.store, self.shared.recall_embedders, self._model
        )

    def retriever(self) -> HybridRetriever:
        return assembly.retriever(self.store, self.shared.recall_embedders)

    def _model(self) -> LLMBackend:
        return self.backend

    def search(self, query: str, k: int) -> list[tuple[Turn, float]]:
        """Search everything said; the companion's retriever keeps its index warm."""
        retriever = self._retriever if self._retriever is not None else self.retriever()
        self._retriever = retriever
        return retriever.search(query, k, relevant_only=True)

    def companion(self) -> Companion:
        """This user's companion, kept between requests (its retriever's index too)."""
        if self._companion is None:
            store = self.store
            with store.one_connection():  # a dozen reads, one wait for a connection
                self._companion = self._new_companion(store)
        return self._companion

    def turns(self) -> TurnRunner:
        """The owner of this user's turns, kept with the companion. Hold ``lock``."""
        companion = self.companion()
        if self._turns is None or self._turns.companion is not companion:
            self._turns = self._new_turns(companion)
        return self._turns

    def warm(self) -> None:
        """Open this user's store, companion and memory index ahead of their first turn
        (their socket just opened), so that turn waits for none of it: under bench.load a
        session's first turn, doing it all itself, took p95 258 ms against 101 ms for the
        others. The embedded model is loaded too, if no one has yet. Skipped when a turn
        is already under way (it does the same)."""
        with self.leased():
            if not self.lock.acquire(blocking=False):
                return
            try:
                companion = self.turns().companion
                companion.retriever.warm()
                preload(companion.backend)  # one model for all: loaded by the first socket
            finally:
                self.lock.release()

    def voice_turns(self) -> tuple[TurnRunner, Store]:
        """A turn owner on its own connection to this user's database, for a voice session
        (which uses it from its own threads, outside ``lock``). Close the store after."""
        store = assembly.open_store(self.options.store, user_id=self.account.id)
        try:
            return self._new_turns(self._new_companion(store)), store
        except BaseException:
            store.close()
            raise

    def _new_companion(self, store: Store) -> Companion:
        return assembly.companion(self.options, store, self.backend, self.shared.recall_embedders)

    def _new_turns(self, companion: Companion) -> TurnRunner:
        return assembly.turns(
            self.options.chat, companion, self.shared.recall_embedders, self.services
        )

    def set_up(self, answers: Answers) -> tuple[str, str]:
        """The first meeting: store the answers, let the OS choose its name, greet."""
        persona, greeting = onboarding.complete(
            self.store,
            self.backend,
            assembly.prompt_builder(self.options.model, self.backend),
            answers,
        )
        self._companion = None  # rebuilt with the new persona and profile
        self._retriever = None
        return persona.name, greeting

    def reset_recall(self) -> None:
        """After forgetting: the companion and its retriever's index are rebuilt on next use,
        so nothing forgotten is recalled from memory."""
        self._companion = None
        self._retriever = None

    def erase(self) -> dict[str, int]:
        """Delete everything this user's OS1 holds, back to before the first run (on
        PostgreSQL, this user's rows only); how many rows went from each table. Hold
        ``lock``, which also keeps the tenant cache from closing this tenant meanwhile.
        Rows, not the file: another worker's or a voice session's open connection to the
        same database sees the erase at once."""
        erased = self.store.erase()
        self.reset_recall()
        return erased

    def close(self) -> None:
        with self.lock:
            self._close_store()

    def _close_store(self) -> None:
        with self._store_lock:
            self.closed = True
            if self._store is not None:
                self._store.close()
                self._store = None

    def close_if_idle(self, idle_since: float) -> bool:
        """Close unless in use or used after ``idle_since``; True if closed."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            if self.leases or self.last_used > idle_since or self.closed:
                return False
            self._close_store()
            return True
        finally:
            self.lock.release()


def tenants_files_allow() -> int:
    """How many tenants the open-files limit leaves room for: each holds up to 3 files (a
    SQLite database, its WAL and its shared memory), and its user's sockets need some too."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(16, (soft - 1024) // 4)


class Tenants:
    """Users' tenants, opened on a user's request; the least recently used close when
    more than ``max_open`` are open (none used in the last half minute or in use)."""

    def __init__(
        self,
        options: Options,
        shared: SharedModels,
        services: Services | None = None,
        max_open: int | None = None,
    ) -> None:
        self.options = options
        self.shared = shared
        self.services = services or Services()
        configured = max_open or options.server.max_open_tenants
        self.max_open = min(configured, tenants_files_allow())
        self._lock = threading.Lock()
        self._open: OrderedDict[int, Tenant] = OrderedDict()
        self._hubs: dict[int, EventHub] = {}
        self._accounts: dict[int, Account] = {}

    def home_of(self, account: Account) -> Path:
        return self.options.home / "users" / str(account.id)

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def for_account(self, account: Account) -> Tenant:
        with self._lock:
            tenant = self._open.get(account.id)
            if tenant is None or tenant.closed:
                home = self.home_of(account)
                hub = self._hubs.setdefault(account.id, EventHub())
                self._accounts[account.id] = account
                # The server's options (model, memory, chat), with this user's home: their
                # database is <home>/os1.db.
                user_options = self.options.for_home(home)
                tenant = Tenant(account, home, user_options, self.shared, hub, self.services)
                self._open[account.id] = tenant
            self._open.move_to_end(account.id)
            tenant.last_used = time.monotonic()
            if len(self._open) > self.max_open:
                self._close_least_recent()
            return tenant

    def peek(self, account: Account) -> Tenant | None:
        """This user's tenant if it is open now, without opening one or counting it as
        used (the notices watcher: opening tenants for it would push out the ones in use,
        which then reopen on their next turn)."""
        with self._lock:
            tenant = self._open.get(account.id)
        return tenant if tenant is not None and not tenant.closed else None

    def next_due_at(self, account: Account) -> datetime | None:
        """When this user's next item falls due, read through a connection of its own (the
        user's tenant stays closed)."""
        options = self.options.for_home(self.home_of(account))
        store = assembly.open_store(options.store, user_id=account.id, cache_kb=TENANT_CACHE_KB)
        try:
            return store.agenda.next_due_at()
        finally:
            store.close()

    def hub(self, account: Account) -> EventHub:
        """This user's event hub (kept while the process runs, as the user's streams)."""
        with self._lock:
            return self._hubs.setdefault(account.id, EventHub())

    def listened(self) -> list[Account]:
        """The accounts someone listens to now (an open ``/v1/events`` stream or socket)."""
        with self._lock:
            return [self._accounts[i] for i, hub in self._hubs.items() if hub.listened]

    def _close_least_recent(self) -> None:
        """Close idle tenants from the least recently used end (a bounded look, so a
        request never pays for a long scan)."""
        idle_since = time.monotonic() - MIN_IDLE_BEFORE_CLOSING_S
        for user_id in list(itertools.islice(self._open, 64)):
            if len(self._open) <= self.max_open:
                return
            if self._open[user_id].close_if_idle(idle_since):
                del self._open[user_id]

    def close(self) -> None:
        with self._lock:
            tenants, self._open = list(self._open.values()), OrderedDict()
        for tenant in tenants:
            tenant.close()
