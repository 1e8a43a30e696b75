"""Serving many people: the model gate (queueing, busy events, a full queue), retrying a
busy model server, presence (how many people the OS is talking with), the tenant LRU, and
a recall index catching up with rows another process wrote.

A ``HeldBackend`` holds each generation until the test lets it go, so "the model is
busy" is a state the test sets up, not a race it hopes for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from os1.domain import Prompt, Role
from os1.llm.base import CancelToken
from os1.llm.gate import BusyNotice, GatedBackend, ModelBusy, ModelGate, listening
from os1.llm.openai_compat import OpenAICompatBackend
from os1.llm.scripted import ScriptedBackend, bench_backend, parse_timing
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.options import load
from os1.server import tenancy
from os1.server.app import create_app
from os1.server.presence import LocalPresence
from os1.server.state import ServerState
from os1.server.tenancy import SharedModels
from tests.server.test_server import FakeVoiceEngines, Server, set_up
from tests.support.fake_openai_server import running as fake_openai


class HeldBackend(ScriptedBackend):
    """Scripted replies that start only when ``go`` is set; ``started`` counts streams."""

    def __init__(self) -> None:
        super().__init__(["I'm here with you."])
        self.go = threading.Event()
        self.started = threading.Semaphore(0)

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        self.started.release()
        assert self.go.wait(30), "the test never let the generation go"
        return super().stream(prompt, cancel)


def gated_server(home: Path, backend: ScriptedBackend | OpenAICompatBackend, **env: str) -> Server:
    environ = {"OS1_HOME": str(home), "OS1_MEMORY_EMBEDDERS": "", **env}
    options = load(environ)
    state = ServerState.create(
        options,
        replace(options.server, requests_per_minute=6000, burst=1000),
        SharedModels(options, backend=backend, embedders=[]),  # type: ignore[arg-type]
        FakeVoiceEngines(),
    )
    tokens = {name: state.accounts.add(name)[1] for name in ("alice", "bob", "carol")}
    scripted = backend if isinstance(backend, ScriptedBackend) else ScriptedBackend()
    return Server(state, scripted, tokens)


def next_event(ws: object) -> dict[str, object]:
    event = json.loads(ws.receive_text())  # type: ignore[attr-defined]
    assert isinstance(event, dict)
    return event


def until_done(ws: object) -> list[dict[str, object]]:
    events = [next_event(ws)]
    while events[-1]["type"] not in ("done", "error"):
        events.append(next_event(ws))
    return events


# --- the model gate ----------------------------------------------------------------


def test_a_waiting_turn_hears_busy_and_a_full_queue_is_a_clear_503(home: Path) -> None:
    backend = HeldBackend()
    server = gated_server(
        home, backend, OS1_SERVER_MODEL_CONCURRENCY="1", OS1_SERVER_MODEL_QUEUE="1"
    )
    with TestClient(create_app(server.state)) as client:
        for user in ("alice", "bob", "carol"):
            backend.go.set()  # setup asks the model for a name
            set_up(client, server, user)
        backend.go.clear()
        drained = 0
        while backend.started.acquire(blocking=False):
            drained += 1
        with (
            client.websocket_connect("/v1/chat", headers=server.auth("alice")) as alice,
            client.websocket_connect("/v1/chat", headers=server.auth("bob")) as bob,
            client.websocket_connect("/v1/chat", headers=server.auth("carol")) as carol,
        ):
            for ws in (alice, bob, carol):
                assert next_event(ws)["type"] == "hello"
            alice.send_json({"type": "message", "text": "first in"})
            assert backend.started.acquire(timeout=10)  # alice's reply holds the one slot
            bob.send_json({"type": "message", "text": "second in"})
            busy = next_event(bob)
            assert busy["type"] == "busy" and busy["reason"] == "queued"
            assert busy["position"] == 1
            assert "queued" in str(busy["message"])
            assert float(str(busy["retry_in_s"])) > 0

            carol.send_json({"type": "message", "text": "third in"})
            refused = next_event(carol)
            assert refused["type"] == "error" and refused["code"] == 503
            assert float(str(refused["retry_in_s"])) > 0
            response = client.post(
                "/v1/messages", json={"text": "over REST"}, headers=server.auth("carol")
            )
            assert response.status_code == 503
            assert int(response.headers["Retry-After"]) >= 1
            assert "try again" in response.json()["error"]["message"]

            backend.go.set()
            assert until_done(alice)[-1]["type"] == "done"
            bob_events = until_done(bob)
            assert bob_events[-1]["type"] == "done", bob_events
            assert bob_events[-1]["reply"] == "I'm here with you."
        assert server.state.tenants.shared.gate.busy_slots == 0


def test_the_gate_hands_slots_on_in_order_and_forgets_who_gave_up() -> None:
    gate = ModelGate(slots=1, max_waiting=2)
    heard: list[BusyNotice] = []
    order: list[str] = []
    with gate.hold():
        waiters = []
        for name in ("first", "second"):

            def wait_then_note(name: str = name) -> None:
                with listening(heard.append), gate.hold():
                    order.append(name)

            thread = threading.Thread(target=wait_then_note)
            thread.start()
            while gate.waiting < len(waiters) + 1:
                thread.join(0.01)
            waiters.append(thread)
        with pytest.raises(ModelBusy) as refused, gate.hold():
            order.append("third")
        assert refused.value.retry_after_s > 0
    for thread in waiters:
        thread.join(10)
    assert order == ["first", "second"]
    assert [n.position for n in heard] == [1, 2]
    assert gate.busy_slots == 0 and gate.waiting == 0


def test_reflection_and_other_model_calls_take_a_slot_too() -> None:
    gate = ModelGate(slots=1, max_waiting=0)
    gated = GatedBackend(ScriptedBackend(["Hello there."]), gate)
    prompt = Prompt(completion="Hi", chat=(), stop=(), max_tokens=8)
    with gate.hold(), pytest.raises(ModelBusy):
        list(gated.stream(prompt))
    assert "".join(gated.stream(prompt)) == "Hello there."


# --- retrying a busy model server ------------------------------------------------------


def test_a_busy_model_server_is_retried_with_notices_then_answers() -> None:
    with fake_openai(reply="Back again.") as fake:
        fake.failures = [503, 429]
        slept: list[float] = []
        backend = OpenAICompatBackend(
            fake.url + "/v1", "fake-llm", retry_delays_s=(0.5, 1.0, 2.0), sleep=slept.append
        )
        heard: list[BusyNotice] = []
        prompt = Prompt(completion="", chat=(), stop=(), max_tokens=8)
        with listening(heard.append):
            text = "".join(backend.stream(prompt))
        backend.close()
    assert text == "Back again."
    assert [(n.reason, n.attempt) for n in heard] == [("retrying", 1), ("retrying", 2)]
    assert slept == [0.5, 1.0]
    assert len(fake.requests) == 3


def test_a_model_server_busy_for_too_long_is_an_error_not_a_hang() -> None:
    with fake_openai() as fake:
        fake.status = 503
        backend = OpenAICompatBackend(
            fake.url + "/v1", "fake-llm", retry_delays_s=(0.1,), sleep=lambda s: None
        )
        prompt = Prompt(completion="", chat=(), stop=(), max_tokens=8)
        with pytest.raises(Exception, match="busy"):
            "".join(backend.stream(prompt))
        backend.close()
    assert len(fake.requests) == 2


def test_busy_retrying_reaches_the_websocket_client(home: Path) -> None:
    with fake_openai(reply="I'm here with you.") as fake:
        backend = OpenAICompatBackend(fake.url + "/v1", "fake-llm", retry_delays_s=(0.01,) * 3)
        server = gated_server(home, backend, OS1_SERVER_MODEL_CONCURRENCY="2")
        with TestClient(create_app(server.state)) as client:
            set_up(client, server, "alice")
            fake.failures = [503]
            with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
                assert next_event(ws)["type"] == "hello"
                ws.send_json({"type": "message", "text": "are you there?"})
                events = until_done(ws)
    assert events[0]["type"] == "busy" and events[0]["reason"] == "retrying"
    assert events[0]["attempt"] == 1
    assert events[-1]["type"] == "done" and events[-1]["reply"] == "I'm here with you."


# --- presence ---------------------------------------------------------------------------


def test_presence_counts_open_conversations_and_recent_speakers() -> None:
    now = [100.0]
    presence = LocalPresence(window_s=60, clock=lambda: now[0])
    presence.connected(1)
    presence.connected(1)  # two sockets, one person
    presence.spoke(2)
    assert presence.count() == 2
    presence.disconnected(1)
    assert presence.count() == 2
    presence.disconnected(1)
    now[0] += 30
    assert presence.count() == 2  # who just left still counts for the window
    now[0] += 61
    assert presence.count() == 0


def test_presence_endpoint_and_the_os_says_the_true_count(home: Path) -> None:
    backend = ScriptedBackend(["I'm here with you."])
    server = gated_server(home, backend, OS1_SERVER_MODEL_CONCURRENCY="2")
    with TestClient(create_app(server.state)) as client:
        for user in ("alice", "bob", "carol"):
            set_up(client, server, user)
        with (
            client.websocket_connect("/v1/chat", headers=server.auth("alice")) as alice,
            client.websocket_connect("/v1/chat", headers=server.auth("bob")),
        ):
            assert next_event(alice)["type"] == "hello"
            response = client.get("/v1/presence", headers=server.auth("carol"))
            assert response.json() == {"conversations": 2}
            alice.send_json({"type": "message", "text": "How many people are you talking to?"})
            assert until_done(alice)[-1]["type"] == "done"
            asked = backend.prompts[-1]
            alice.send_json({"type": "message", "text": "Tell me about your morning."})
            assert until_done(alice)[-1]["type"] == "done"
            plain = backend.prompts[-1]
    assert client.get("/v1/presence").status_code == 401
    assert "talking with 2 people right now, Alice among them" in asked.completion
    # An instruction model gets the same line, as quoted data in the user's role.
    assert any(
        "talking with 2 people right now" in m.content and m.role == "user" for m in asked.chat
    )
    assert "people right now" not in plain.completion


# --- tenants: bounded, and caches that catch up ----------------------------------------


def test_least_recently_used_tenants_close_and_reopen_intact(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenancy, "MIN_IDLE_BEFORE_CLOSING_S", 0.0)
    backend = ScriptedBackend(["I'm here with you."])
    server = gated_server(home, backend, OS1_SERVER_MAX_OPEN_TENANTS="2")
    with TestClient(create_app(server.state)) as client:
        for user in ("alice", "bob", "carol"):
            set_up(client, server, user)
            reply = client.post(
                "/v1/messages", json={"text": f"{user} here"}, headers=server.auth(user)
            )
            assert reply.status_code == 200
        assert server.state.tenants.open_count <= 2
        history = client.get("/v1/history", headers=server.auth("alice")).json()["turns"]
    assert [t["text"] for t in history if t["role"] == "user"] == ["alice here"]


def test_a_socket_opens_the_users_memories_before_their_first_turn(home: Path) -> None:
    backend = ScriptedBackend(["I'm here with you."])
    server = gated_server(home, backend)
    with TestClient(create_app(server.state)) as client:
        set_up(client, server, "alice")
        said = client.post(
            "/v1/messages", json={"text": "I planted tomatoes"}, headers=server.auth("alice")
        )
        assert said.status_code == 200
        account = server.state.accounts.authenticate(server.tokens["alice"])
        assert account is not None
        tenant = server.state.tenants.for_account(account)
        with tenant.lock:  # her turn's indexing is done, and then, as after a restart,
            tenant.reset_recall()  # nothing of hers is in memory
        with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
            assert next_event(ws)["type"] == "hello"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with tenant.lock:
                    companion = tenant._companion
                if companion is not None:
                    break
                time.sleep(0.02)
            assert companion is not None, "the socket did not open her companion"
            retriever = companion.retriever
            assert isinstance(retriever, HybridRetriever)
            with tenant.lock:  # warmed under the tenant's lock: it has finished
                assert len(retriever._index.turn_ids) >= 2  # her turn and the reply
            ws.send_json({"type": "message", "text": "what did I plant?"})
            assert until_done(ws)[-1]["type"] == "done"


def test_a_recall_index_catches_up_with_rows_another_process_wrote(home: Path) -> None:
    path = home / "os1.db"
    reader, writer = SQLiteStore(path), SQLiteStore(path)
    try:
        session = writer.start_session()
        writer.add_turn(session.id, Role.USER, "Alice", "I planted tomatoes today")
        retriever = HybridRetriever(reader, [])
        assert [t.text for t, _ in retriever.search("tomatoes", 3)] == ["I planted tomatoes today"]
        writer.add_turn(session.id, Role.USER, "Alice", "my cat is called zanzibarquokka")
        found = [t.text for t, _ in retriever.search("zanzibarquokka", 1)]
        assert found == ["my cat is called zanzibarquokka"]
    finally:
        reader.close()
        writer.close()


# --- the bench backend ----------------------------------------------------------------


def test_the_bench_backend_streams_a_fixed_number_of_tokens_and_says_what_it_is() -> None:
    backend = bench_backend("first_token_ms=0,token_ms=0,tokens=5")
    pieces = list(backend.stream(Prompt(completion="", chat=(), stop=(), max_tokens=50)))
    assert len(pieces) == 5
    assert backend.name.startswith("scripted: fixed timing")
    assert parse_timing("tokens=3") == {"first_token_ms": 20, "token_ms": 10, "tokens": 3}
    with pytest.raises(ValueError, match="bad bench model timing"):
        parse_timing("speed=fast")
