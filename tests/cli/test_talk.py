"""The os1 command, end to end in-process, with the scripted backend."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from os1.cli.main import cli
from tests.conftest import SCRIPTED_REPLIES
from tests.support.fake_openai_server import running


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


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _to_server(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """From now on the model is an OpenAI-compatible server at ``url``."""
    monkeypatch.setenv("OS1_MODEL_BACKEND", "openai")
    monkeypatch.setenv("OS1_MODEL_URL", url)
    monkeypatch.setenv("OS1_MODEL_NAME", "fake-llm")


def test_chat_goes_on_after_a_failed_reply_and_marks_the_unanswered_turns(
    scripted_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("setup", "--yes", "--name", "Theodore")
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    _to_server(monkeypatch, dead)
    code, out = run("chat", input="Are you there?\nHello?\n/bye\n")
    assert code == 0, out
    flat = " ".join(out.split())
    # Each failure is said, and the chat asks for the next message.
    assert flat.count(f"Cannot reach the model server at {dead}") >= 2
    assert flat.count("(no reply; what you said is kept)") == 2
    code, out = run("history", "--json")
    turns = json.loads(out)
    assert [(t["role"], t["text"], t["status"]) for t in turns[-2:]] == [
        ("user", "Are you there?", "failed"),
        ("user", "Hello?", "failed"),
    ]
    code, out = run("history")
    assert "Are you there? (no reply: the model failed)" in " ".join(out.split())


def test_chat_replies_again_once_the_model_answers(
    scripted_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("setup", "--yes", "--name", "Theodore")
    with running(reply="Yes, I'm here.") as fake:
        fake.failures = [500]  # the first reply fails; the server then answers
        _to_server(monkeypatch, f"{fake.url}/v1")
        code, out = run("chat", input="Are you there?\nAnd now?\n/bye\n")
    assert code == 0, out
    assert "answered 500" in out and "Yes, I'm here." in out
    turns = json.loads(run("history", "--json")[1])
    said = [(t["role"], t["text"], t["status"]) for t in turns if t["text"] != ""]
    assert ("user", "Are you there?", "failed") in said
    assert said[-2:] == [
        ("user", "And now?", "complete"),
        ("companion", "Yes, I'm here.", "complete"),
    ]


def test_ask_json_reports_a_failure_as_json(
    scripted_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("setup", "--yes", "--name", "Theodore")
    _to_server(monkeypatch, f"http://127.0.0.1:{_closed_port()}/v1")
    result = CliRunner().invoke(cli, ["ask", "--json", "Are you there?"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "backend_unavailable"
    assert "Cannot reach the model server" in error["message"]
    assert json.loads(run("history", "--json")[1])[-1]["status"] == "failed"
    # Before the turn too: a failure of any kind is JSON with --json.
    monkeypatch.setenv("OS1_CHAT_MEMORIES", "-3")
    result = CliRunner().invoke(cli, ["ask", "--json", "Hi"])
    assert result.exit_code == 1
    assert "chat.memories" in json.loads(result.stdout)["error"]["message"]
