"""Every face runs its turns through the turn owner (os1.mind.turn), so every face indexes
what was said at once: after one turn on any of them the turn is already indexed, and
memory search finds it with no further turn. The server's faces share the scripted
backend of tests/test_server.py; the voice faces hear real synthesised speech.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from os1.cli.main import cli
from os1.config import load
from os1.memory.ingest import FACTS_DONE
from os1.memory.storage.codec import now
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store
from os1.server.app import create_app
from os1.server.tenancy import Tenant
from os1.voice.audio import to_pcm16
from os1.voice.listening import SilencePolicy, TurnEndPolicy
from os1.voice.stt import PocketSphinxRecognizer, Recognizer
from os1.voice.tts import PiperSynthesizer, Synthesizer
from os1.voice.vad import SileroVAD, VoiceActivityDetector
from tests.conftest import SCRIPTED_REPLIES
from tests.mind.test_voice_conversation import spoken
from tests.server.test_server import Server, ToneSynthesizer, make_server, set_up

SECRET = "zanzibarquokka"
# Nothing a skill serves (a reminder request would be the reminders skill's): the model replies.
SPOKEN = "I walked in the park with my sister today."


def run(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result.output


def indexed(store: Store) -> bool:
    """Whether every stored turn has been through indexing (facts extracted)."""
    return store.turns_after_state(FACTS_DONE) == []


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


# --- the command line ---------------------------------------------------------------


def cli_chat() -> str:
    run("chat", input=f"I keep a {SECRET} in the garden\n/bye\n")
    return SECRET


def cli_ask() -> str:
    run("ask", f"I keep a {SECRET} in the garden")
    return SECRET


@pytest.mark.parametrize("face", [cli_chat, cli_ask], ids=["chat", "ask"])
def test_a_typed_turn_on_the_command_line_is_indexed_at_once(
    scripted_home: Path, face: Callable[[], str]
) -> None:
    run("setup", "--yes", "--name", "Theodore")
    word = face()
    store = SQLiteStore(load().db_path)
    assert indexed(store)
    store.close()
    hits = json.loads(run("memory", "search", word, "--json"))
    assert any(word in hit["text"] and hit["speaker"] == "Theodore" for hit in hits)


def test_a_spoken_turn_from_a_file_is_indexed_at_once(scripted_home: Path, tmp_path: Path) -> None:
    run("setup", "--yes", "--name", "Theodore", "--voice", "masculine")
    question = tmp_path / "question.wav"
    run("say", SPOKEN, "-o", str(question))
    SCRIPTED_REPLIES[:] = ["That sounds lovely."]
    out = run("talk", "--input", str(question), "--output", str(tmp_path / "reply.wav"))
    assert "That sounds lovely." in out
    store = SQLiteStore(load().db_path)
    assert indexed(store)
    heard = store.turns()[-2].text
    assert {"walked", "park", "sister", "today"} & set(heard.lower().split())
    store.close()
    hits = json.loads(run("memory", "search", heard, "--json"))
    assert any(hit["text"] == heard and hit["speaker"] == "Theodore" for hit in hits)


def test_a_reminder_due_is_said_between_spoken_turns(scripted_home: Path, tmp_path: Path) -> None:
    run("setup", "--yes", "--name", "Theodore", "--voice", "masculine")
    store = SQLiteStore(load().db_path)
    store.agenda.schedule("reminders", "reminder", "water the plants", now() - timedelta(hours=1))
    store.close()
    question = tmp_path / "question.wav"
    run("say", SPOKEN, "-o", str(question))
    out = run("talk", "--input", str(question), "--output", str(tmp_path / "reply.wav"))
    assert "water the plants" in out and "late" in out
    store = SQLiteStore(load().db_path)
    notice = store.agenda.recent_notices()[-1]
    assert notice.delivered_at is not None and "water the plants" in notice.text
    store.close()


# --- the server ----------------------------------------------------------------------


class SpeechEngines:
    """The real VAD and recognizer (a spoken turn over the socket is really heard); a
    short tone for a voice, so the reply's audio is quick to send."""

    def recognizer(self) -> Recognizer:
        return PocketSphinxRecognizer()

    def vad(self) -> VoiceActivityDetector:
        return SileroVAD()

    def synthesizer(self, persona_voice: str) -> Synthesizer:
        return ToneSynthesizer()

    def policy(self) -> TurnEndPolicy:
        return SilencePolicy(0.5)


@pytest.fixture
def server(home: Path) -> Server:
    made = make_server(home)
    made.state.voice_engines = SpeechEngines()
    return made


@pytest.fixture
def client(server: Server) -> Iterator[TestClient]:
    with TestClient(create_app(server.state)) as test_client:
        yield test_client


def alice(server: Server) -> Tenant:
    account = next(a for a in server.state.accounts.all_accounts() if a.name == "alice")
    return server.state.tenants.for_account(account)


def over_websocket(client: TestClient, auth: dict[str, str], text: str) -> dict[str, Any]:
    with client.websocket_connect("/v1/chat", headers=auth) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "message", "text": text})
        while (event := ws.receive_json())["type"] != "done":
            assert event["type"] in ("token", "notice", "action", "confirm", "busy")
    return event


def over_sse(client: TestClient, auth: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post("/v1/messages/stream", json={"text": text}, headers=auth)
    assert response.status_code == 200
    blocks = [b for b in response.text.split("\n\n") if b.strip()]
    name, data = blocks[-1].split("\n", 1)
    assert name == "event: done"
    done: dict[str, Any] = json.loads(data.removeprefix("data: "))
    return done


def over_rest(client: TestClient, auth: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post("/v1/messages", json={"text": text}, headers=auth)
    assert response.status_code == 200
    done: dict[str, Any] = response.json()
    assert done["type"] == "done" and done["notices"] == [] and done["confirm"] is None
    return done


def over_openai(client: TestClient, auth: dict[str, str], text: str) -> dict[str, Any]:
    body = {"model": "os1", "messages": [{"role": "user", "content": text}]}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 200
    reply = response.json()["choices"][0]["message"]["content"]
    return {"reply": reply, "status": "complete"}


@pytest.mark.parametrize(
    "face",
    [over_websocket, over_sse, over_rest, over_openai],
    ids=["websocket", "sse", "rest", "openai"],
)
def test_a_turn_on_every_server_face_is_indexed_at_once(
    client: TestClient, server: Server, face: Callable[..., dict[str, Any]]
) -> None:
    set_up(client, server, "alice")
    auth = server.auth("alice")
    done = face(client, auth, f"I keep a {SECRET} in the garden")
    assert done["reply"] == "I'm here with you." and done["status"] == "complete"
    tenant = alice(server)
    with tenant.lock:  # the turn's worker holds it until its indexing is over
        assert indexed(tenant.store)
    found = client.get("/v1/memories/search", params={"q": SECRET}, headers=auth).json()
    assert any(SECRET in hit["text"] and hit["role"] == "user" for hit in found["results"])


def test_a_spoken_turn_over_the_voice_socket_is_indexed_at_once(
    client: TestClient, server: Server, piper: PiperSynthesizer
) -> None:
    set_up(client, server, "alice")
    auth = server.auth("alice")
    audio = spoken(piper, SPOKEN, pad_s=1.0)
    with client.websocket_connect("/v1/voice", headers=auth) as ws:
        assert ws.receive_json()["type"] == "ready"
        block = 1600  # 100 ms
        for start in range(0, len(audio.samples), block):
            ws.send_bytes(to_pcm16(audio.samples[start : start + block]))
        ws.send_json({"type": "end"})
        while True:
            message = ws.receive()
            if message.get("text") is None:
                continue
            event = json.loads(message["text"])
            if event["type"] == "turn_end":
                break
    assert event["error"] is None and event["spoken"] == "I'm here with you."
    heard = event["heard"]
    assert {"walked", "park", "sister", "today"} & set(heard.lower().split())
    tenant = alice(server)
    with tenant.lock:
        # The voice session's own connection indexed the turn before it said turn_end.
        assert indexed(tenant.store)
    found = client.get("/v1/memories/search", params={"q": heard}, headers=auth).json()
    assert any(hit["text"] == heard and hit["role"] == "user" for hit in found["results"])


def test_the_installed_reminders_skill_is_served_under_v1(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    auth = server.auth("alice")
    body = {"text": "call Amy", "when": "in 2 hours"}
    added = client.post("/v1/reminders", json=body, headers=auth)
    assert added.status_code == 201, added.text
    listed = client.get("/v1/reminders", headers=auth).json()["reminders"]
    assert [r["text"] for r in listed] == ["call Amy"]
    assert client.get("/v1/reminders").status_code == 401
    bad = client.post("/v1/reminders", json={"text": "call Amy"}, headers=auth)
    assert bad.status_code == 400 and "when is missing" in bad.json()["error"]["message"]
