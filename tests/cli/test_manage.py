"""os1 model use and os1 config set: a server is asked before it is saved, and a value out
of range is refused before it is written. Servers are real sockets on loopback: the FAKE
OpenAI server (tests/support/fake_openai_server.py), a port nothing listens on, a socket
that never answers, and a plain HTTP server that answers HTML."""

from __future__ import annotations

import socket
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from os1.cli.main import cli
from tests.support.fake_openai_server import running


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())  # Rich wraps long lines


def saved(home: Path) -> dict[str, Any]:
    path = home / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- os1 model use ------------------------------------------------------------------


def test_openai_with_one_model_picks_it_and_never_stores_the_backend_kind(home: Path) -> None:
    with running(models=("fake-llm",)) as fake:
        code, out = run("model", "use", "openai", "--url", f"{fake.url}/v1")
    assert code == 0, out
    assert f"Now using fake-llm at {fake.url}/v1" in out
    model = saved(home)["model"]
    assert model["backend"] == "openai" and model["name"] == "fake-llm"
    assert model["url"] == f"{fake.url}/v1"


def test_a_named_model_is_checked_and_a_missing_one_lists_what_the_server_has(
    home: Path,
) -> None:
    with running(models=("llama3.2", "qwen3:4b")) as fake:
        url = f"{fake.url}/v1"
        code, out = run("model", "use", "openai", "--url", url, "--name", "mistral")
        assert code == 1
        assert f"{url} has no model 'mistral'" in out and "llama3.2, qwen3:4b" in out
        assert saved(home) == {}  # nothing saved
        code, out = run("model", "use", "openai", "--url", url)
        assert code == 1 and "serves 2 models: llama3.2, qwen3:4b" in out and "--name" in out
        assert saved(home) == {}
        code, out = run("model", "use", "openai", "--url", url, "--name", "qwen3:4b")
        assert code == 0, out
        assert saved(home)["model"]["name"] == "qwen3:4b"
        # The older form, the model's name with --url, is checked the same way.
        code, out = run("model", "use", "gemma", "--url", url)
        assert code == 1 and "has no model 'gemma'" in out
        assert run("model", "use", "llama3.2", "--url", url)[0] == 0
    assert saved(home)["model"]["name"] == "llama3.2"


def test_an_unreachable_server_is_named_and_nothing_is_saved(home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    code, out = run("model", "use", "openai", "--url", url, "--name", "llama3.2")
    assert code == 1
    assert f"Nothing answers at {url}" in out and "--no-check" in out
    assert saved(home) == {}


def test_a_server_that_never_answers_times_out(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS1_MODEL_TIMEOUT_S", "0.5")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    try:
        code, out = run("model", "use", "openai", "--url", url)
    finally:
        listener.close()
    assert code == 1 and f"{url}/models did not answer within 0.5 s" in out
    assert saved(home) == {}


class _HTMLHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><body>router login</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HTMLHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_openai_compatible_is_explained(home: Path, html_server: str) -> None:
    code, out = run("model", "use", "openai", "--url", html_server, "--name", "x")
    assert code == 1
    assert f"{html_server}/models did not answer as an OpenAI-compatible server" in out
    assert "router login" in out
    with running() as fake:  # the address without /v1: a 404
        code, out = run("model", "use", "openai", "--url", fake.url)
    assert code == 1 and "answered 404" in out and "ends in /v1" in out
    assert saved(home) == {}


def test_embedded_clears_what_was_for_the_server(home: Path) -> None:
    with running(models=("fake-llm",)) as fake:
        url = f"{fake.url}/v1"
        assert run("model", "use", "openai", "--url", url, "--api-key", "sk-1")[0] == 0
    assert saved(home)["model"]["api_key"] == "sk-1"
    code, out = run("model", "use", "embedded")
    assert code == 0, out
    assert "model.url" in out and "model.name" in out and "model.api_key" in out
    assert saved(home)["model"] == {"backend": "embedded"}
    code, out = run("config", "show", "--json")
    assert '"name": ""' in out and '"url": "http://127.0.0.1:11434/v1"' in out


def test_a_key_for_another_server_is_not_kept(home: Path) -> None:
    with running(models=("a",)) as first, running(models=("b",)) as second:
        run("model", "use", "openai", "--url", f"{first.url}/v1", "--api-key", "sk-first")
        assert run("model", "use", "openai", "--url", f"{first.url}/v1")[0] == 0
        assert saved(home)["model"]["api_key"] == "sk-first"  # the same server keeps it
        assert run("model", "use", "openai", "--url", f"{second.url}/v1")[0] == 0
    assert "api_key" not in saved(home)["model"]
    assert saved(home)["model"]["name"] == "b"


def test_no_check_saves_and_says_it_did_not_check(home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    code, out = run("model", "use", "openai", "--url", url, "--no-check")
    assert code == 1 and "--name" in out
    code, out = run("model", "use", "openai", "--url", url, "--name", "llama3.2", "--no-check")
    assert code == 0 and "Saved without checking" in out
    assert saved(home)["model"] == {"backend": "openai", "url": url, "name": "llama3.2"}


def test_ollama_names_are_checked_against_the_local_ollama(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(models=("llama3.2:latest",)) as ollama:
        monkeypatch.setenv("OS1_MODEL_OLLAMA_URL", ollama.url)
        code, out = run("model", "use", "ollama:llama3.2")  # Ollama's :latest is implied
        assert code == 0, out
        assert saved(home)["model"]["name"] == "llama3.2"
        assert saved(home)["model"]["url"] == f"{ollama.url}/v1"
        code, out = run("model", "use", "ollama:qwen3")
        assert code == 1 and "has no model 'qwen3'" in out and "llama3.2:latest" in out
    assert saved(home)["model"]["name"] == "llama3.2"


def test_a_gguf_file_must_exist_and_be_gguf(home: Path) -> None:
    code, out = run("model", "use", "file:missing.gguf")
    assert code == 1 and "cannot read" in out and "missing.gguf" in out
    models = home / "models"
    models.mkdir(parents=True)
    (models / "notes.gguf").write_text("not a model")
    code, out = run("model", "use", "file:notes.gguf")
    assert code == 1 and "is not a GGUF model file" in out
    (models / "tiny.gguf").write_bytes(b"GGUF" + bytes(60))
    code, out = run("model", "use", "file:tiny.gguf")
    assert code == 0, out
    assert saved(home)["model"] == {"backend": "embedded", "path": "tiny.gguf"}


def test_an_unknown_model_says_how_to_name_a_server(home: Path) -> None:
    code, out = run("model", "use", "gibberish")
    assert code == 1 and "os1 model use openai --url URL" in out
    assert saved(home) == {}


# --- os1 config set: ranges ---------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("chat.memories", "-3", "Not saved: chat.memories must be from 0 to 100; got -3"),
        ("chat.memories", "4000", "chat.memories must be from 0 to 100; got 4000"),
        ("chat.recent_turns", "-1", "chat.recent_turns must be from 0 to 1000"),
        ("model.temperature", "5", "model.temperature must be from 0 to 2; got 5.0"),
        ("server.port", "0", "server.port must be from 1 to 65535"),
        ("model.context_window", "100000000", "model.context_window must be from 256 to"),
    ],
)
def test_config_set_refuses_a_value_out_of_range(
    home: Path, key: str, value: str, message: str
) -> None:
    code, out = run("config", "set", key, value)
    assert code == 1 and message in out
    assert saved(home) == {}


def test_config_set_refuses_a_change_that_puts_another_setting_out_of_range(
    home: Path,
) -> None:
    assert run("config", "set", "model.max_reply_tokens", "300")[0] == 0
    code, out = run("config", "set", "model.context_window", "256")
    assert code == 1
    assert "Not saved (model.context_window)" in out
    assert "model.max_reply_tokens must be less than model.context_window (256)" in out
    assert saved(home) == {"model": {"max_reply_tokens": 300}}


def test_a_broken_config_file_names_the_key_and_can_be_fixed_a_key_at_a_time(
    home: Path,
) -> None:
    home.mkdir(parents=True)
    broken = "[chat]\nmemories = -3\nrecent_turns = -1\n\n[model]\ntemperature = 0.2\n"
    (home / "config.toml").write_text(broken)
    code, out = run("history")
    assert code == 1
    assert "chat.recent_turns must be from 0 to 1000; got -1" in out
    assert str(home / "config.toml") in out
    assert (home / "config.toml").read_text() == broken  # nothing lost
    assert run("config", "show")[0] == 0  # the settings can still be seen
    # Each fix is saved though the other setting is still wrong; a wrong one is not.
    assert run("config", "set", "chat.memories", "-2")[0] == 1
    assert run("config", "set", "chat.memories", "4")[0] == 0
    code, out = run("history")
    assert code == 1 and "chat.recent_turns" in out
    assert run("config", "set", "chat.recent_turns", "8")[0] == 0
    code, out = run("history")
    assert code == 0, out
    assert saved(home) == {
        "chat": {"memories": 4, "recent_turns": 8},
        "model": {"temperature": 0.2},
    }
