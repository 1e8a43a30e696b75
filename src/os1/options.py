"""Typed options: the settings cast and checked once, at the edge.

``config`` reads ``config.toml`` and the ``OS1_*`` variables into loosely typed
``Settings`` (each value already of its schema default's type). This module is the only
one that reads them: ``Options.from_settings`` builds one frozen dataclass per area and
backend, checks every range, and raises ``config.ConfigError`` naming the setting, where
its value came from and what is allowed. Everything below receives these options, never
``Settings``, so no use site casts a value or indexes a section.

The command line (``os1.cli.runtime``) and the server (``os1.server.state``) each build
``Options`` once, and pass the parts on: a backend gets its ``EmbeddedOptions`` or
``OpenAIOptions``, the companion its ``ChatOptions``, and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from os1 import config

TurnPolicy = Literal["hesitation", "silence"]
Recall = Literal["hybrid", "lexical"]
# The same names as values of those types, for the one place that reads them.
_TURN_POLICIES: dict[str, TurnPolicy] = {"hesitation": "hesitation", "silence": "silence"}
_RECALLS: dict[str, Recall] = {"hybrid": "hybrid", "lexical": "lexical"}


@dataclass(frozen=True)
class EmbeddedOptions:
    """The llama.cpp backend: ``path`` None means the bundled Gemma 3 270M; a relative
    path is in ``models_dir`` (where ``os1 model pull`` saves)."""

    path: Path | None
    models_dir: Path
    context_window: int
    threads: int


@dataclass(frozen=True)
class OpenAIOptions:
    """Any OpenAI-compatible server (or the local Ollama that ``auto`` found)."""

    base_url: str
    model: str
    api_key: str = field(repr=False)  # never in a log line or a traceback's locals
    context_window: int
    timeout_s: float


@dataclass(frozen=True)
class ModelOptions:
    """The whole ``[model]`` section. A plugin backend's factory receives this (see
    ``os1.llm.registry``); the built-in backends take their part of it."""

    backend: str
    name: str
    context_window: int
    max_reply_tokens: int
    temperature: float
    ollama_url: str
    hub_url: str
    embedded: EmbeddedOptions
    openai: OpenAIOptions


@dataclass(frozen=True)
class ChatOptions:
    session_gap: timedelta = timedelta(minutes=30)
    recent_turns: int = 16
    memories: int = 4
    # An IANA zone name; empty for the system's (os1.mind.assembly.user_timezone).
    timezone: str = ""


@dataclass(frozen=True)
class MemoryOptions:
    # Names in the order given; an unknown one is reported when loading (recall goes on
    # without it), as are models that fail to load.
    embedders: tuple[str, ...]
    extract_with_model: bool


@dataclass(frozen=True)
class VoiceOptions:
    stt: str
    stt_model: Path | None
    tts: str
    tts_model: Path | None
    end_silence_ms: int
    turn_policy: TurnPolicy
    # A PortAudio device number, or part of its name; None for the system's default.
    input_device: int | str | None
    output_device: int | str | None
    # Where the bundled Whisper model is assembled on first use (the home's models folder).
    models_dir: Path


@dataclass(frozen=True)
class StoreOptions:
    """``url`` empty: the SQLite file ``sqlite_path``; else a PostgreSQL database."""

    url: str
    sqlite_path: Path
    busy_timeout_s: float
    pool_size: int


@dataclass(frozen=True)
class ServerOptions:
    """``os1 serve``. The defaults are the settings' defaults (tests/test_config.py checks);
    the last three are not settings."""

    host: str = "127.0.0.1"
    port: int = 8316
    requests_per_minute: float = 120.0
    burst: int = 30
    ws_idle_timeout_s: float = 300.0
    workers: int = 1
    # Threads that run replies (at least the model's slots and a few more, see ServerState).
    reply_threads: int = 8
    # 0: one slot for a model in this process, 16 for a model server (see model_slots).
    model_concurrency: int = 0
    model_queue: int = 256
    max_open_tenants: int = 10000
    recall: Recall = "hybrid"
    presence_window_s: float = 300.0
    # Largest text message on a WebSocket (audio has the voice protocol's own limit).
    ws_max_text_bytes: int = 100_000
    heartbeat_s: float = 15.0
    # How often each worker looks for reminders due to people listening (os1.server.notices).
    notice_check_s: float = 5.0


@dataclass(frozen=True)
class Options:
    home: Path
    model: ModelOptions
    chat: ChatOptions
    memory: MemoryOptions
    voice: VoiceOptions
    store: StoreOptions
    server: ServerOptions

    @classmethod
    def from_settings(cls, settings: config.Settings) -> Options:
        read = _Reader(settings)
        return cls(
            home=settings.home,
            model=_model(read, settings.models_dir),
            chat=ChatOptions(
                session_gap=timedelta(minutes=read.integer("chat.session_gap_minutes", 1)),
                # Upper bounds far above any useful value, to catch a slip (memories=4000
                # for 4): each memory and turn is read and ranked on every turn.
                recent_turns=read.integer("chat.recent_turns", 0, 1000),
                memories=read.integer("chat.memories", 0, 100),
                timezone=read.text("chat.timezone").strip(),
            ),
            memory=MemoryOptions(
                embedders=tuple(
                    n.strip() for n in read.text("memory.embedders").split(",") if n.strip()
                ),
                extract_with_model=read.flag("memory.extract_with_model"),
            ),
            voice=_voice(read, settings.models_dir),
            store=StoreOptions(
                url=read.text("store.url"),
                sqlite_path=settings.db_path,
                busy_timeout_s=read.number("store.busy_timeout_s", 0.0),
                pool_size=read.integer("store.pool_size", 1),
            ),
            server=_server(read),
        )

    def for_home(self, home: Path) -> Options:
        """These options with another home, e.g. a server user's (``users/<id>``): their
        SQLite file is ``<home>/os1.db``. The model and everything else stay."""
        return replace(self, home=home, store=replace(self.store, sqlite_path=home / "os1.db"))


def load(environ: Mapping[str, str] | None = None) -> Options:
    """The options of ``OS1_HOME`` and the environment (``config.load``, then cast)."""
    return Options.from_settings(config.load(environ))


def save(changes: Mapping[str, str | None]) -> dict[str, Any]:
    """``config.update``, refused before anything is written when a changed setting is out
    of range (``chat.memories = -3``) or the change puts another out (a context window
    below the reply's length), as loading would refuse it. A setting that was already
    wrong does not stop a change, so settings can be fixed one at a time."""

    def check(before: config.Settings, after: config.Settings) -> None:
        was, now = _problems(before), _problems(after)
        for dotted in changes:
            if dotted in now:
                raise config.ConfigError(f"Not saved: {now[dotted].detail}")
        for dotted, problem in now.items():
            if str(was.get(dotted)) != str(problem):
                raise config.ConfigError(f"Not saved ({', '.join(changes)}): {problem}")

    return config.update(changes, check=check)


def _problems(settings: config.Settings) -> dict[str, SettingError]:
    """Every setting ``Options.from_settings`` refuses: each found is set to its default
    and the options are built again, until they build."""
    found: dict[str, SettingError] = {}
    while True:
        try:
            Options.from_settings(settings)
            return found
        except SettingError as exc:
            if exc.setting in found:  # its default is refused too: nothing more to learn
                return found
            found[exc.setting] = exc
            section, key = exc.setting.split(".")
            reset = {**settings.values[section], key: config.SCHEMA[section][key].default}
            settings = replace(settings, values={**settings.values, section: reset})


def _model(read: _Reader, models_dir: Path) -> ModelOptions:
    # At most 1M tokens: the longest context of any model served today.
    context_window = read.integer("model.context_window", 256, 1_048_576)
    max_reply = read.integer("model.max_reply_tokens", 1)
    if max_reply >= context_window:
        allowed = f"less than model.context_window ({context_window})"
        raise read.error("model.max_reply_tokens", allowed)
    path = read.text("model.path")
    timeout_s = read.number("model.timeout_s", 0.0, exclusive=True)
    return ModelOptions(
        backend=read.text("model.backend"),
        name=read.text("model.name"),
        context_window=context_window,
        max_reply_tokens=max_reply,
        temperature=read.number("model.temperature", 0.0, 2.0),
        ollama_url=read.text("model.ollama_url"),
        hub_url=read.text("model.hub_url"),
        embedded=EmbeddedOptions(
            path=Path(path) if path else None,
            models_dir=models_dir,
            context_window=context_window,
            threads=read.integer("model.threads", 0),
        ),
        openai=OpenAIOptions(
            base_url=read.text("model.url"),
            model=read.text("model.name"),
            api_key=read.text("model.api_key"),
            context_window=context_window,
            timeout_s=timeout_s,
        ),
    )


def _voice(read: _Reader, models_dir: Path) -> VoiceOptions:
    policy = _TURN_POLICIES.get(read.text("voice.turn_policy"))
    if policy is None:
        raise read.error("voice.turn_policy", " or ".join(_TURN_POLICIES))
    return VoiceOptions(
        stt=read.text("voice.stt"),
        stt_model=_path(read.text("voice.stt_model")),
        tts=read.text("voice.tts"),
        tts_model=_path(read.text("voice.tts_model")),
        end_silence_ms=read.integer("voice.end_silence_ms", 1),
        turn_policy=policy,
        input_device=_device(read.text("voice.input_device")),
        output_device=_device(read.text("voice.output_device")),
        models_dir=models_dir,
    )


def _server(read: _Reader) -> ServerOptions:
    recall = _RECALLS.get(read.text("server.recall"))
    if recall is None:
        raise read.error("server.recall", " or ".join(_RECALLS))
    return ServerOptions(
        host=read.text("server.host"),
        port=read.integer("server.port", 1, 65535),
        requests_per_minute=read.number("server.requests_per_minute", 0.0, exclusive=True),
        burst=read.integer("server.burst", 1),
        ws_idle_timeout_s=read.number("server.ws_idle_timeout_s", 0.0, exclusive=True),
        # As `os1 serve --workers` allows.
        workers=read.integer("server.workers", 1, 256),
        reply_threads=read.integer("server.reply_threads", 1),
        model_concurrency=read.integer("server.model_concurrency", 0),
        model_queue=read.integer("server.model_queue", 0),
        max_open_tenants=read.integer("server.max_open_tenants", 1),
        recall=recall,
        presence_window_s=read.number("server.presence_window_s", 0.0, exclusive=True),
    )


def _path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _device(value: str) -> int | str | None:
    if not value:
        return None
    return int(value) if value.isdigit() else value


class SettingError(config.ConfigError):
    """One setting's value is refused; ``setting`` names it (``chat.memories``), ``source``
    says where the value came from, and ``detail`` what is wrong."""

    def __init__(self, setting: str, source: str, detail: str) -> None:
        super().__init__(f"{source}: {detail}")
        self.setting = setting
        self.detail = detail


class _Reader:
    """Reads one setting as one type within a range; the only reader of ``Settings``."""

    def __init__(self, settings: config.Settings) -> None:
        self._settings = settings

    def error(self, dotted: str, allowed: str) -> SettingError:
        source = self._settings.sources.get(dotted, "settings")
        value = self._settings.get(dotted)
        return SettingError(dotted, source, f"{dotted} must be {allowed}; got {value!r}")

    def text(self, dotted: str) -> str:
        value = self._settings.get(dotted)
        if not isinstance(value, str):
            raise self.error(dotted, "text")
        return value

    def flag(self, dotted: str) -> bool:
        value = self._settings.get(dotted)
        if not isinstance(value, bool):
            raise self.error(dotted, "true or false")
        return value

    def integer(self, dotted: str, low: int, high: int | None = None) -> int:
        value = self._settings.get(dotted)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(dotted, "a whole number")
        if value < low or (high is not None and value > high):
            raise self.error(dotted, _allowed(low, high))
        return value

    def number(
        self, dotted: str, low: float, high: float | None = None, exclusive: bool = False
    ) -> float:
        """A number from ``low`` (more than ``low`` when ``exclusive``) to ``high``."""
        value = self._settings.get(dotted)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(dotted, "a number")
        number = float(value)
        if number < low or (exclusive and number == low) or (high is not None and number > high):
            lowest = f"more than {low:g}" if exclusive else None
            raise self.error(dotted, lowest or _allowed(low, high))
        return number


def _allowed(low: float, high: float | None) -> str:
    if high is None:
        return f"at least {low:g}"
    return f"from {low:g} to {high:g}"
