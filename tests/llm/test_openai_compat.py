"""The HTTP backend against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from os1.cli.main import cli
from os1.domain import ChatMessage, Prompt
from os1.llm.base import BackendError, BackendUnavailable, CancelToken
from os1.llm.openai_compat import OpenAICompatBackend, list_ollama_models
from os1.llm.registry import create_backend
from os1.options import load as load_options
from tests.support.fake_openai_server import FakeOpenAIServer, running

PROMPT = Prompt(
    completion="unused",
    chat=(ChatMessage("system", "Be kind."), ChatMessage("user", "Hi")),
    stop=("\n",),
    max_tokens=20,
)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with running(reply="Hi there, Theodore. Nice day\nUser: ignored") as fake:
        yield fake


def test_streams_chat_messages_and_stops_at_stop_sequence(server: FakeOpenAIServer) -> None:
    backend = OpenAICompatBackend(f"{server.url}/v1", "fake-llm", api_key="sekrit")
    pieces = list(backend.stream(PROMPT))
    assert len(pieces) > 1, "the reply must arrive streamed, in pieces"
    assert "".join(pieces) == "Hi there, Theodore. Nice day"
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["stream"] is True
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
    ]
    assert sent["headers"]["Authorization"] == "Bearer sekrit"


def test_cancel_stops_the_stream(server: FakeOpenAIServer) -> None:
    backend = OpenAICompatBackend(f"{server.url}/v1", "fake-llm")
    cancel = CancelToken()
    got = []
    for piece in backend.stream(PROMPT, cancel):
        got.append(piece)
        cancel.cancel()
    assert len(got) == 1


def test_unknown_model_and_bad_key_say_how_to_fix(server: FakeOpenAIServer) -> None:
    with pytest.raises(BackendError, match="os1 model list"):
        list(OpenAICompatBackend(f"{server.url}/v1", "missing").stream(PROMPT))
    server.status = 401
    with pytest.raises(BackendError, match=r"model\.api_key"):
        list(OpenAICompatBackend(f"{server.url}/v1", "fake-llm").stream(PROMPT))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_reported_with_a_fix() -> None:
    backend = OpenAICompatBackend(f"http://127.0.0.1:{_closed_port()}/v1", "any")
    with pytest.raises(BackendUnavailable, match="os1 model use embedded"):
        list(backend.stream(PROMPT))


def test_silent_server_times_out_instead_of_hanging() -> None:
    # A socket that accepts connections and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    backend = OpenAICompatBackend(f"http://127.0.0.1:{port}/v1", "any", timeout_s=0.5)
    try:
        with pytest.raises(BackendUnavailable, match="did not answer in time"):
            list(backend.stream(PROMPT))
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_missing_model_name_is_explained() -> None:
    with pytest.raises(BackendUnavailable, match="No model name"):
        OpenAICompatBackend("http://127.0.0.1:1/v1", "")


def test_auto_detects_a_local_ollama(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running(models=("llama3.2:1b", "qwen3:4b")) as ollama:
        assert list_ollama_models(ollama.url) == ["llama3.2:1b", "qwen3:4b"]
        monkeypatch.setenv("OS1_MODEL_OLLAMA_URL", ollama.url)
        backend = create_backend(load_options().model)
        assert isinstance(backend, OpenAICompatBackend)
        assert backend.base_url == f"{ollama.url}/v1"
        assert backend.model == "llama3.2:1b"
        monkeypatch.setenv("OS1_MODEL_NAME", "qwen3:4b")
        chosen = create_backend(load_options().model)
        assert isinstance(chosen, OpenAICompatBackend)
        assert chosen.model == "qwen3:4b"


def test_no_ollama_means_nothing_detected() -> None:
    assert list_ollama_models(f"http://127.0.0.1:{_closed_port()}") == []


def test_cli_conversation_over_http_backend(home: Path) -> None:
    runner = CliRunner()
    with running(reply="Hello Theodore, I'm Iris.", models=("fake-llm", "Iris")) as fake:
        assert (
            runner.invoke(cli, ["model", "use", "fake-llm", "--url", f"{fake.url}/v1"]).exit_code
            == 0
        )
        # The fake replies "Iris" to the naming question too, so the OS names itself Iris... or
        # falls back; either way a name is chosen and the turn is stored.
        setup = runner.invoke(cli, ["setup", "--yes", "--name", "Theodore"])
        assert setup.exit_code == 0, setup.output
        asked = runner.invoke(cli, ["ask", "Hi", "--json"])
        assert asked.exit_code == 0, asked.output
        assert '"reply": "Hello Theodore, I\'m Iris."' in asked.output
        listed = runner.invoke(cli, ["model", "list"])
        assert "fake-llm at" in listed.output


def test_cli_reports_unreachable_server_and_keeps_the_turn(home: Path) -> None:
    runner = CliRunner()
    with running(models=("fake-llm",)) as fake:
        runner.invoke(cli, ["model", "use", "fake-llm", "--url", f"{fake.url}/v1"])
        assert runner.invoke(cli, ["setup", "--yes", "--name", "Theodore"]).exit_code == 0
    runner.invoke(cli, ["config", "set", "model.url", f"http://127.0.0.1:{_closed_port()}/v1"])
    result = runner.invoke(cli, ["ask", "Are you there?"])
    assert result.exit_code == 1
    assert "Cannot reach the model server" in result.output
    assert "Traceback" not in result.output
    history = runner.invoke(cli, ["history", "--json"])
    assert "Are you there?" in history.output
