"""Building a companion and the engines it uses from the typed options: one recipe for the
command line and the server.

Each function takes the parts that are already made (a store, a model backend, embedding
models) and its options (``os1.options``), so the CLI can build them lazily for one person
and the server can share the models between many people while each keeps their own store.
The embedding models and the speech engines are built here too, for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from os1 import config
from os1.domain import Persona, UserProfile
from os1.llm.base import LLMBackend
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder, EmbeddingUnavailable, load_embedder
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store
from os1.mind import plugins
from os1.mind.companion import Companion, NotSetUp
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.skill import Services
from os1.mind.turn import TurnRunner
from os1.options import (
    ChatOptions,
    MemoryOptions,
    ModelOptions,
    Options,
    StoreOptions,
    VoiceOptions,
)
from os1.voice.listening import HesitationPolicy, SilencePolicy, TurnEndPolicy
from os1.voice.stt import Recognizer, create_recognizer
from os1.voice.tts import Synthesizer, create_synthesizer

# Whose rows a PostgreSQL store holds when no server account is named: the person using
# OS1 from the command line. Server accounts are numbered from 1.
LOCAL_USER_ID = 0


def open_store(
    options: StoreOptions, user_id: int = LOCAL_USER_ID, cache_kb: int | None = None
) -> Store:
    """The store ``store.url`` names: empty for the SQLite file in the home (``user_id``
    is then the home's business; ``cache_kb`` caps its page cache), or a PostgreSQL
    database, where the store reads and writes only ``user_id``'s rows."""
    store = _open(options, user_id, cache_kb)
    # The skills' own tables (none of the built-in skills has any: then nothing is read).
    store.apply_skill_migrations(plugins.skills().migrations)
    return store


def _open(options: StoreOptions, user_id: int, cache_kb: int | None) -> Store:
    url = options.url
    if not url:
        return SQLiteStore(
            options.sqlite_path, busy_timeout_s=options.busy_timeout_s, cache_kb=cache_kb
        )
    # Imported here so that a SQLite user never loads the PostgreSQL driver.
    from os1.memory.storage.postgres import PostgresStore, is_postgres_url

    if not is_postgres_url(url):
        raise config.ConfigError(
            f"store.url must be empty (SQLite) or postgresql://…, got {url.split(':')[0]}:…"
        )
    return PostgresStore(url, user_id, pool_size=options.pool_size)


def embedders(options: MemoryOptions, warn: Callable[[str], None]) -> list[Embedder]:
    """The embedding models ``memory.embedders`` names; one that cannot load is reported
    to ``warn`` and left out: recall still works on the others (and on full-text search
    alone)."""
    loaded = []
    for name in options.embedders:
        try:
            loaded.append(load_embedder(name))
        except EmbeddingUnavailable as exc:
            warn(f"{exc}. Recalling without {name}.")
    return loaded


def prompt_builder(options: ModelOptions, backend: LLMBackend) -> PromptBuilder:
    context = min(options.context_window, backend.context_window)
    return PromptBuilder(
        Budget(context, options.max_reply_tokens),
        backend.count_tokens,
        temperature=options.temperature,
    )


def memorizer(
    options: MemoryOptions,
    store: Store,
    embedders: Sequence[Embedder],
    backend: Callable[[], LLMBackend],
) -> Memorizer:
    """``backend`` is called only when the model extracts facts too, so memory commands
    do not load a model they do not use."""
    extractor = backend() if options.extract_with_model else None
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
    options: Options,
    store: Store,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
) -> Companion:
    persona, profile = store.persona(), store.profile()
    if persona is None or profile is None:
        raise NotSetUp()  # before any model work, only to refuse
    return Companion(
        store,
        backend,
        retriever(store, embedders, persona, profile),
        prompt_builder(options.model, backend),
        options.chat,
        memorizer(options.memory, store, embedders, lambda: backend),
        known=(persona, profile),
    )


def turns(
    options: ChatOptions,
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
        timezone=user_timezone(options.timezone),
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


def recognizer(options: VoiceOptions) -> Recognizer:
    """A speech recognizer (``voice.stt``); it holds one stream's state."""
    return create_recognizer(options.stt, options.stt_model, options.models_dir)


def synthesizer(options: VoiceOptions, persona_voice: str) -> Synthesizer:
    """The voice (``voice.tts``) for the persona's "feminine", "masculine" or "neutral"."""
    return create_synthesizer(persona_voice, options.tts, options.tts_model)


def turn_policy(options: VoiceOptions) -> TurnEndPolicy:
    """When a spoken turn ends: ``voice.turn_policy`` after ``voice.end_silence_ms``."""
    seconds = options.end_silence_ms / 1000
    if options.turn_policy == "silence":
        return SilencePolicy(seconds)
    return HesitationPolicy(seconds=seconds)
