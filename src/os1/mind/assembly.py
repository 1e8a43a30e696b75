"""Building a companion from settings: one recipe for the command line and the server.

Each function takes the parts that are already made (a store, a model backend, embedding
models) and the settings, so the CLI can build them lazily for one person and the server
can share the models between many people while each keeps their own store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from os1 import config
from os1.domain import Persona, UserProfile
from os1.llm.base import LLMBackend
from os1.memory.embedding import Embedder
from os1.memory.ingest import Memorizer
from os1.memory.protocol import Store
from os1.memory.retrieval import HybridRetriever
from os1.memory.store import SQLiteStore
from os1.mind import plugins
from os1.mind.companion import ChatOptions, Companion, NotSetUp
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.skill import Services
from os1.mind.turn import TurnRunner

# Whose rows a PostgreSQL store holds when no server account is named: the person using
# OS1 from the command line. Server accounts are numbered from 1.
LOCAL_USER_ID = 0


def open_store(
    settings: config.Settings, user_id: int = LOCAL_USER_ID, cache_kb: int | None = None
) -> Store:
    """The store ``store.url`` names: empty for the SQLite file in the home (``user_id``
    is then the home's business; ``cache_kb`` caps its page cache), or a PostgreSQL
    database, where the store reads and writes only ``user_id``'s rows."""
    store = _open(settings, user_id, cache_kb)
    # The skills' own tables (none of the built-in skills has any: then nothing is read).
    store.apply_skill_migrations(plugins.skills().migrations)
    return store


def _open(settings: config.Settings, user_id: int, cache_kb: int | None) -> Store:
    url = str(settings.get("store.url"))
    if not url:
        busy_timeout_s = float(settings.get("store.busy_timeout_s"))
        return SQLiteStore(settings.db_path, busy_timeout_s=busy_timeout_s, cache_kb=cache_kb)
    # Imported here so that a SQLite user never loads the PostgreSQL driver.
    from os1.memory.postgres import PostgresStore, is_postgres_url

    if not is_postgres_url(url):
        raise config.ConfigError(
            f"store.url must be empty (SQLite) or postgresql://…, got {url.split(':')[0]}:…"
        )
    return PostgresStore(url, user_id, pool_size=int(settings.get("store.pool_size")))


def prompt_builder(settings: config.Settings, backend: LLMBackend) -> PromptBuilder:
    get = settings.get
    context = min(int(get("model.context_window")), backend.context_window)
    return PromptBuilder(
        Budget(context, int(get("model.max_reply_tokens"))),
        backend.count_tokens,
        temperature=float(get("model.temperature")),
    )


def memorizer(
    settings: config.Settings,
    store: Store,
    embedders: Sequence[Embedder],
    backend: Callable[[], LLMBackend],
) -> Memorizer:
    """``backend`` is called only when the model extracts facts too, so memory commands
    do not load a model they do not use."""
    extractor = backend() if settings.get("memory.extract_with_model") else None
    return Memorizer(store, list(embedders), extractor=extractor)


def retriever(
    store: Store,
    embedders: Sequence[Embedder],
    persona: Persona | None = None,
    profile: UserProfile | None = None,
) -> HybridRetriever:
    """Recall over ``store``, knowing who is who from its profile and persona (read from
    the store unless given)."""
    persona = persona or store.persona()
    profile = profile or store.profile()
    names = [n for n in (profile and profile.name, persona and persona.name) if n]
    return HybridRetriever(
        store,
        list(embedders),
        participants=names,
        asker=profile.name if profile else None,
        companion=persona.name if persona else None,
    )


def companion(
    settings: config.Settings,
    store: Store,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
) -> Companion:
    persona, profile = store.persona(), store.profile()
    if persona is None or profile is None:
        raise NotSetUp()  # before any model work, only to refuse
    get = settings.get
    options = ChatOptions(
        session_gap=timedelta(minutes=float(get("chat.session_gap_minutes"))),
        recent_turns=int(get("chat.recent_turns")),
        memories=int(get("chat.memories")),
    )
    return Companion(
        store,
        backend,
        retriever(store, embedders, persona, profile),
        prompt_builder(settings, backend),
        options,
        memorizer(settings, store, embedders, lambda: backend),
        known=(persona, profile),
    )


def turns(
    settings: config.Settings,
    companion: Companion,
    embedders: Sequence[Embedder],
    services: Services | None = None,
) -> TurnRunner:
    """The owner of every turn with ``companion``, with the installed skills. Intents
    beyond their patterns are matched by MiniLM when it is loaded (see os1.mind.intents)."""
    matcher = next((e for e in embedders if e.name == "minilm"), None)
    return TurnRunner(
        companion,
        plugins.skills(),
        services,
        timezone=user_timezone(str(settings.get("chat.timezone"))),
        embedder=matcher,
    )


def user_timezone(name: str) -> ZoneInfo:
    """The zone reminders are said in: ``chat.timezone``, else the system's (TZ, then
    /etc/localtime), else UTC."""
    import os

    for candidate in (name, os.environ.get("TZ", "")):
        if candidate:
            try:
                return ZoneInfo(candidate.lstrip(":"))
            except (ZoneInfoNotFoundError, ValueError):
                if candidate is name:
                    raise config.ConfigError(
                        f"chat.timezone: unknown time zone {name!r} (e.g. Europe/London)"
                    ) from None
    try:
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return ZoneInfo("UTC")
