"""The os1 command, end to end in-process, with the scripted backend."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from os1.cli.main import cli
from tests.conftest import SCRIPTED_REPLIES


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_setup_yes_then_ask_prints_the_chosen_name(scripted_home: Path) -> None:
    SCRIPTED_REPLIES[:] = [" Iris.", " Welcome!", "I'm Iris, your companion."]
    code, out = run("setup", "--yes", "--name", "Theodore", "--voice", "feminine")
    assert code == 0, out
    assert "Iris: Hi Theodore. My name is Iris." in out
    code, out = run("ask", "Hello, who are you?")
    assert code == 0
    assert out.startswith("Iris: ")


def test_ask_prints_the_reply_on_one_line(scripted_home: Path) -> None:
    SCRIPTED_REPLIES[:] = [" Iris.", " Welcome!"]
    run("setup", "--yes", "--name", "Theodore")
    SCRIPTED_REPLIES[:] = ["I'm here with you."]
    code, out = run("ask", "Hello")
    assert code == 0
    assert out.splitlines() == ["Iris: I'm here with you."]  # no empty "Iris: …" after it


def test_ask_json_reports_the_stored_turns(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    code, out = run("ask", "Hi", "there", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["reply"] and data["status"] == "complete" and data["backend"] == "scripted"
    code, out = run("history", "--json")
    turns = json.loads(out)
    assert turns[-2]["text"] == "Hi there" and turns[-2]["id"] == data["user_turn_id"]
    assert turns[-1]["id"] == data["turn_id"]


def test_interactive_setup_asks_the_films_questions(scripted_home: Path) -> None:
    SCRIPTED_REPLIES[:] = [" Sage", " Hello."]
    answers = "Theodore\nanti-social\nWe don't talk much\nloud\nneutral\n"
    code, out = run("setup", input=answers)
    assert code == 0, out
    for question in ("call you", "social or anti-social", "mother", "voice"):
        assert question in out
    assert "Choose a voice" in out  # "loud" was refused and asked again
    code, out = run("persona", "show", "--json")
    persona = json.loads(out)
    assert persona["name"] == "Sage" and persona["voice"] == "neutral"


def test_chat_session_streams_and_reflects_on_exit(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    code, out = run("chat", input="I love hiking in the hills\n\n/bye\n")
    assert code == 0, out
    code, out = run("persona", "history", "--json")
    versions = json.loads(out)
    assert len(versions) == 2 and versions[-1]["reason"].startswith("reflection on session")
    assert "hiking" in versions[-1]["persona"]["interests"]


def test_ask_before_setup_says_what_to_do(scripted_home: Path) -> None:
    code, out = run("ask", "hello")
    assert code == 1 and "os1 setup" in out


def test_empty_message_is_a_clear_error(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    code, out = run("ask", "  ")
    assert code == 1 and "empty" in out


def test_one_megabyte_message_is_stored_whole_and_answered(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    huge = "x" * 1_000_000 + " the end"
    code, out = run("ask", "-", "--json", input=huge)
    assert code == 0
    assert json.loads(out)["status"] == "complete"
    code, out = run("history", "--json")
    assert json.loads(out)[-2]["text"] == huge


def test_setup_yes_needs_a_name(scripted_home: Path) -> None:
    code, out = run("setup", "--yes")
    assert code == 1 and "--name" in out


def test_unknown_backend_is_explained(home: Path, monkeypatch: object) -> None:
    import os

    os.environ["OS1_MODEL_BACKEND"] = "nonesuch"
    try:
        code, out = run("setup", "--yes", "--name", "Theodore")
    finally:
        del os.environ["OS1_MODEL_BACKEND"]
    assert code == 1 and "No model backend called 'nonesuch'" in out


def test_model_use_variants_write_config(home: Path) -> None:
    assert run("model", "use", "ollama:llama3.2")[0] == 0
    text = (home / "config.toml").read_text()
    assert 'backend = "openai"' in text and 'name = "llama3.2"' in text
    assert run("model", "use", "embedded")[0] == 0
    assert 'backend = "embedded"' in (home / "config.toml").read_text()
    code, out = run("model", "use", "gibberish")
    assert code == 1 and "--url" in out


def test_locked_database_is_a_clear_error(scripted_home: Path) -> None:
    import sqlite3

    run("setup", "--yes", "--name", "Theodore")
    run("config", "set", "store.busy_timeout_s", "0.2")
    holder = sqlite3.connect(scripted_home / "os1.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, out = run("ask", "hello")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1 and "locked by another process" in out
