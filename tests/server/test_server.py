"""The multi-user server, over its API: accounts, isolation, limits, WebSocket, SSE, OpenAI.

One ScriptedBackend instance is shared by every user (as the real server shares its
model), so the tests can read every prompt it was given and check that no user's words
reach another user's prompt. Recall runs on full-text search alone (no embedders), which
is enough to find a secret word and keeps the file fast.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from os1.cli.main import cli
from os1.llm.scripted import ScriptedBackend
from os1.mind.events import Generated, Token
from os1.options import load
from os1.server.accounts import Accounts, token_hash
from os1.server.app import create_app
from os1.server.state import ServerState
from os1.server.tenancy import SharedModels
from os1.voice.listening import SilencePolicy, TurnEndPolicy
from os1.voice.stt import Recognizer
from os1.voice.tts import Synthesizer
from os1.voice.vad import VoiceActivityDetector

SECRETS = {"alice": "zanzibarquokka", "bob": "plutoniumwalrus"}


class QuietVAD:
    """Hears no speech (voice tests type their turns with the protocol's text command)."""

    frame_samples = 512
    sample_rate = 16_000

    def speech_probability(self, frame: np.ndarray) -> float:
        return 0.0

    def reset(self) -> None:
        pass


class SilentRecognizer:
    name = "silent"
    sample_rate = 16_000

    def start(self) -> None:
        pass

    def feed(self, samples: np.ndarray) -> str | None:
        return None

    def finish(self) -> str:
        return ""


class ToneSynthesizer:
    """A stand-in voice: 60 ms of tone per phrase, so reply audio is short."""

    name = "tone"
    sample_rate = 16_000

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        t = np.arange(int(0.06 * self.sample_rate)) / self.sample_rate
        yield (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


class FakeVoiceEngines:
    def recognizer(self) -> Recognizer:
        return SilentRecognizer()

    def vad(self) -> VoiceActivityDetector:
        return QuietVAD()

    def synthesizer(self, persona_voice: str) -> Synthesizer:
        return ToneSynthesizer()

    def policy(self) -> TurnEndPolicy:
        return SilencePolicy(0.3)


@dataclass
class Server:
    state: ServerState
    backend: ScriptedBackend
    tokens: dict[str, str]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def prompts_text(self) -> list[str]:
        return [p.completion + " ".join(m.content for m in p.chat) for p in self.backend.prompts]


def make_server(home: Path, store_url: str = "", **server: Any) -> Server:
    """``server``: ServerOptions fields to change from the settings (by default, room
    for many requests and a quick heartbeat)."""
    # Room for both users' replies at once: no test here waits for a model slot.
    environ = {
        "OS1_HOME": str(home),
        "OS1_MEMORY_EMBEDDERS": "",
        "OS1_STORE_URL": store_url,
        "OS1_SERVER_MODEL_CONCURRENCY": "4",
    }
    configured = load(environ)
    backend = ScriptedBackend(["I'm here with you."])
    state = ServerState.create(
        configured,
        replace(
            configured.server,
            **(server or {"requests_per_minute": 6000, "burst": 1000, "heartbeat_s": 0.2}),
        ),
        SharedModels(configured, backend=backend, embedders=[]),
        FakeVoiceEngines(),
    )
    tokens = {name: state.accounts.add(name)[1] for name in SECRETS}
    return Server(state, backend, tokens)


@pytest.fixture
def server(home: Path) -> Server:
    return make_server(home)


@pytest.fixture
def client(server: Server) -> Iterator[TestClient]:
    with TestClient(create_app(server.state)) as test_client:
        yield test_client


def set_up(client: TestClient, server: Server, user: str) -> None:
    response = client.post("/v1/setup", json={"name": user.title()}, headers=server.auth(user))
    assert response.status_code == 201, response.text


def say(client: TestClient, server: Server, user: str, text: str) -> dict[str, Any]:
    response = client.post("/v1/messages", json={"text": text}, headers=server.auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(server: Server) -> Iterator[str]:
    """A real uvicorn server on a free loopback port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(server.state), host="127.0.0.1", port=port, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


# --- accounts ---------------------------------------------------------------------


def test_tokens_are_stored_only_as_hashes_and_revocation_is_immediate(home: Path) -> None:
    accounts = Accounts(home / "server" / "accounts.db")
    account, token = accounts.add("carol")
    raw = (home / "server" / "accounts.db").read_bytes()
    assert token.encode() not in raw
    assert accounts.authenticate(token) == account
    assert accounts.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert accounts.authenticate(f"os1_{account.id}_" + "x" * 43) is None
    assert len(token_hash(token)) == 64
    accounts.revoke("carol")
    assert accounts.authenticate(token) is None
    accounts.close()


def test_users_commands_add_list_revoke(home: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "dana"])
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("os1_")
    listed = runner.invoke(cli, ["users", "list", "--json"])
    assert json.loads(listed.output)[0]["name"] == "dana"
    assert runner.invoke(cli, ["users", "add", "dana"]).exit_code != 0
    assert runner.invoke(cli, ["users", "revoke", "dana"]).exit_code == 0
    assert runner.invoke(cli, ["users", "revoke", "nobody"]).exit_code != 0
    accounts = Accounts(home / "server" / "accounts.db")
    assert accounts.authenticate(token) is None
    accounts.close()


# --- bad input ----------------------------------------------------------------------


def test_bad_tokens_get_401(client: TestClient, server: Server) -> None:
    assert client.get("/v1/me").status_code == 401
    for header in ("Bearer nope", "Basic abc", f"Bearer {server.tokens['alice']}x"):
        response = client.get("/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert client.get("/healthz").status_code == 200
    assert "/v1/chat/completions" in client.get("/openapi.json").json()["paths"]


def test_oversize_and_malformed_bodies_get_clear_4xx(client: TestClient, server: Server) -> None:
    auth = server.auth("alice")
    big = client.post("/v1/messages", content=b"x" * 1_100_000, headers=auth)
    assert big.status_code == 413
    broken = client.post(
        "/v1/messages", content=b'{"text": ', headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert "malformed JSON" in broken.json()["error"]["message"]
    assert client.post("/v1/messages", json=[1, 2], headers=auth).status_code == 400
    assert client.post("/v1/messages", json={"text": 5}, headers=auth).status_code == 400
    # Before setup, a clear 409 says what to do.
    not_set_up = client.post("/v1/messages", json={"text": "hi"}, headers=auth)
    assert not_set_up.status_code == 409
    assert "/v1/setup" in not_set_up.json()["error"]["message"]
    set_up(client, server, "alice")
    assert client.post("/v1/setup", json={"name": "Alice"}, headers=auth).status_code == 409
    assert client.delete("/v1/memories/t999", headers=auth).status_code == 404
    assert client.delete("/v1/memories/nonsense", headers=auth).status_code == 400
    assert client.get("/v1/memories/search?q=x&k=abc", headers=auth).status_code == 400
    assert client.get("/v1/nothing-here", headers=auth).status_code == 404
    assert client.get("/v1/messages", headers=auth).status_code == 405


def test_rate_limit_answers_429_with_retry_after(home: Path) -> None:
    server = make_server(home, requests_per_minute=60, burst=3)
    with TestClient(create_app(server.state)) as client:
        codes = [client.get("/v1/me", headers=server.auth("alice")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/me", headers=server.auth("alice"))
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        # Another user's bucket is their own.
        assert client.get("/v1/me", headers=server.auth("bob")).status_code == 200


# --- isolation ----------------------------------------------------------------------


def test_one_user_never_reads_searches_forgets_or_exports_anothers_data(
    client: TestClient, server: Server
) -> None:
    for user in SECRETS:
        set_up(client, server, user)
    said = {
        user: say(client, server, user, f"My secret word is {word}.")
        for user, word in SECRETS.items()
    }
    a, b = server.auth("alice"), server.auth("bob")
    bob_secret = SECRETS["bob"]

    search = client.get(f"/v1/memories/search?q={bob_secret}&k=20", headers=a)
    assert search.status_code == 200
    assert bob_secret not in search.text
    history = client.get("/v1/history", headers=a).json()["turns"]
    assert all(bob_secret not in t["text"] for t in history)
    assert any(SECRETS["alice"] in t["text"] for t in history)
    export = client.get("/v1/export", headers=a)
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert bob_secret not in export.text and SECRETS["alice"] in export.text
    assert "Bob" not in client.get("/v1/me", headers=a).text
    assert bob_secret not in client.get("/v1/memories", headers=a).text

    # Alice forgetting Bob's turn id forgets her own turn with that number, never Bob's.
    bobs_turn = said["bob"]["user_turn_id"]
    client.delete(f"/v1/memories/{bobs_turn}", headers=a)
    bob_history = client.get("/v1/history", headers=b).json()["turns"]
    assert any(bob_secret in t["text"] for t in bob_history)
    found = client.get(f"/v1/memories/search?q={bob_secret}", headers=b).json()["results"]
    assert any(bob_secret in r["text"] for r in found)

    # Alice asks what matches Bob's turn word for word: her prompt never holds his secret.
    before = len(server.backend.prompts)
    say(client, server, "alice", "Tell me a story about my secret word and its meaning.")
    alice_prompts = server.prompts_text()[before:]
    assert alice_prompts and all(bob_secret not in p for p in alice_prompts)
    # Asked as a memory question, answered from her own words: never his.
    answer = say(client, server, "alice", "Do you remember my secret word?")
    assert bob_secret not in json.dumps(answer)

    # Forgetting removes a memory from search at once.
    mine = client.get(f"/v1/memories/search?q={SECRETS['alice']}", headers=a).json()["results"]
    for hit in mine:
        assert client.delete(f"/v1/memories/{hit['id']}", headers=a).status_code == 200
    again = client.get(f"/v1/memories/search?q={SECRETS['alice']}", headers=a).json()
    assert not [r for r in again["results"] if SECRETS["alice"] in r["text"]]


def test_each_user_has_their_own_home_and_database(client: TestClient, server: Server) -> None:
    for user in SECRETS:
        set_up(client, server, user)
    homes = sorted(p.name for p in (server.state.options.home / "users").iterdir())
    assert homes == ["1", "2"]
    assert all((server.state.options.home / "users" / h / "os1.db").exists() for h in homes)


def test_on_postgresql_users_share_one_database_and_never_each_others_rows(
    home: Path, postgres_url: str
) -> None:
    from os1.memory.storage.postgres import PostgresStore
    from os1.server.accounts_postgres import PostgresAccounts

    server = make_server(home, store_url=postgres_url)
    with TestClient(create_app(server.state)) as client:
        for user, word in SECRETS.items():
            set_up(client, server, user)
            say(client, server, user, f"My secret word is {word}.")
        a = server.auth("alice")
        search = client.get(f"/v1/memories/search?q={SECRETS['bob']}&k=20", headers=a)
        assert search.status_code == 200 and SECRETS["bob"] not in search.text
        export = client.get("/v1/export", headers=a).text
        assert SECRETS["alice"] in export and SECRETS["bob"] not in export
    server.state.close()
    # Accounts and memory are in PostgreSQL, nothing in per-user files.
    assert [a.name for a in PostgresAccounts(postgres_url).all_accounts()] == ["alice", "bob"]
    assert not (home / "users" / "1" / "os1.db").exists()
    for user_id, (user, word) in enumerate(SECRETS.items(), start=1):
        other = SECRETS["bob" if user == "alice" else "alice"]
        store = PostgresStore(postgres_url, user_id)
        assert store.search_turns(word, 5) and store.search_turns(other, 5) == []


# --- streaming ----------------------------------------------------------------------


def test_sse_stream_sends_tokens_then_done(client: TestClient, server: Server) -> None:
    set_up(client, server, "alice")
    with client.stream(
        "POST", "/v1/messages/stream", json={"text": "hello there"}, headers=server.auth("alice")
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    names = [line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("event:")]
    assert names[-1] == "done" and "token" in names
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    # Pieces that arrive together may travel as one event; together they are the reply.
    streamed = "".join(d["text"] for d, name in zip(data, names, strict=True) if name == "token")
    done = data[-1]
    assert done["reply"] == "I'm here with you." == streamed and done["status"] == "complete"
    query = client.get("/v1/messages/stream?text=", headers=server.auth("alice"))
    assert query.status_code == 400


def test_websocket_chat_streams_and_reports_bad_messages(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_text("{not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "message", "text": "good morning"})
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(ws.receive_json())
        assert events[-1]["type"] == "done"
        assert "".join(e["text"] for e in events if e["type"] == "token").strip() == (
            "I'm here with you."
        )
    with client.websocket_connect("/v1/chat?token=wrong") as ws:
        assert ws.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_idle_and_oversize_websockets_are_closed(home: Path) -> None:
    server = make_server(home, ws_idle_timeout_s=0.3, ws_max_text_bytes=1000, heartbeat_s=0.2)
    with TestClient(create_app(server.state)) as client:
        with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
            ws.receive_json()
            closing = ws.receive_json()
            assert "idle" in closing["message"]
        with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
            ws.receive_json()
            ws.send_text("x" * 2000)
            assert "larger" in ws.receive_json()["message"]


def test_voice_websocket_speaks_a_typed_turn(client: TestClient, server: Server) -> None:
    set_up(client, server, "alice")
    with client.websocket_connect("/v1/voice", headers=server.auth("alice")) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["output"]["sample_rate"] == 16_000
        ws.send_bytes(b"\x00\x00" * 512)  # a block of silence
        ws.send_bytes(b"\x00")  # odd-sized audio breaks the protocol
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "text", "text": "tell me something"})
        seen, audio_bytes = [], 0
        while True:
            message = ws.receive()
            if message.get("bytes") is not None:
                audio_bytes += len(message["bytes"])
                continue
            event = json.loads(message["text"])
            seen.append(event["type"])
            if event["type"] == "turn_end":
                break
        assert "reply_text" in seen and "audio" in seen and audio_bytes > 0
        assert event["heard"] == "tell me something" and event["spoken"]
    history = client.get("/v1/history", headers=server.auth("alice")).json()["turns"]
    assert [t["text"] for t in history[-2:]] == ["tell me something", event["spoken"]]


# --- two users at once, over real sockets ------------------------------------------


def test_two_users_converse_at_once_over_websocket_and_openai_without_crossover(
    server: Server,
) -> None:
    import websockets.sync.client as ws_client

    server.backend.token_delay_s = 0.005  # replies interleave
    with running(server) as base:
        for user in SECRETS:
            response = httpx.post(
                f"{base}/v1/setup", json={"name": user.title()}, headers=server.auth(user)
            )
            assert response.status_code == 201
        errors: list[BaseException] = []

        def converse(user: str) -> None:
            try:
                word = SECRETS[user]
                url = base.replace("http", "ws") + "/v1/chat"
                with ws_client.connect(url, additional_headers=server.auth(user)) as ws:
                    assert json.loads(ws.recv())["account"] == user
                    for i in range(3):
                        ws.send(json.dumps({"type": "message", "text": f"{word} number {i}"}))
                        while (event := json.loads(ws.recv()))["type"] == "token":
                            pass
                        assert event["type"] == "done", event
                client = openai.OpenAI(api_key=server.tokens[user], base_url=f"{base}/v1")
                plain = client.chat.completions.create(
                    model="os1", messages=[{"role": "user", "content": f"{word} plain"}]
                )
                assert plain.choices[0].message.content == "I'm here with you."
                streamed = client.chat.completions.create(
                    model="os1",
                    messages=[{"role": "user", "content": f"{word} streamed"}],
                    stream=True,
                )
                text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
                assert text.strip() == "I'm here with you."
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=converse, args=(u,)) for u in SECRETS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors

        client = openai.OpenAI(api_key=server.tokens["alice"], base_url=f"{base}/v1")
        assert [m.id for m in client.models.list()] == ["os1"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(api_key="os1_1_bad", base_url=f"{base}/v1").models.list()

        for user, word in SECRETS.items():
            other = next(w for u, w in SECRETS.items() if u != user)
            turns = httpx.get(f"{base}/v1/history?limit=100", headers=server.auth(user)).json()[
                "turns"
            ]
            said = [t["text"] for t in turns if t["role"] == "user"]
            assert len(said) == 5 and all(word in t for t in said)
            assert all(other not in t["text"] for t in turns)
            exported = httpx.get(f"{base}/v1/export", headers=server.auth(user)).text
            assert word in exported and other not in exported
        # Every prompt held one user's words only.
        for prompt in server.prompts_text():
            assert not all(word in prompt for word in SECRETS.values())

        # The events stream says hello, then beats.
        with httpx.stream(
            "GET", f"{base}/v1/events", headers=server.auth("alice"), timeout=5
        ) as events:
            lines = []
            for line in events.iter_lines():
                lines.append(line)
                if line == "event: heartbeat":
                    break
        assert lines[0] == "event: hello"


def test_tokens_in_websocket_paths_never_reach_the_logs() -> None:
    import logging

    from os1.server.app import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/v1/voice?token=os1_3_secretvalue&x=1"),
        None,
    )
    assert RedactTokens().filter(record)
    line = record.getMessage()
    assert "secretvalue" not in line
    assert "/v1/voice?token=[redacted]&x=1" in line


def test_reply_pieces_travel_in_frames_and_none_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    from os1.server import conversation

    moments = iter([0.0, 0.01, 0.02, 0.05, 0.06, 0.2, 0.21])
    monkeypatch.setattr(conversation.time, "monotonic", lambda: next(moments))
    pieces = ["I ", "do ", "remember ", "your ", "dog, ", "Zephyr", "."]
    done = Generated("".join(pieces))
    sent = list(conversation.coalesced([*(Token(p) for p in pieces), done], 0.03))
    # The first piece at once; one within 30 ms of the last frame waits for the next
    # piece; what is held when the reply ends goes at once, before the next event.
    assert sent == [Token("I "), Token("do remember your "), Token("dog, Zephyr"), Token("."), done]
    assert "".join(e.text for e in sent if isinstance(e, Token)) == "".join(pieces)
