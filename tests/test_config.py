from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from os1 import config
from os1.cli.main import cli


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
