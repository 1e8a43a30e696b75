"""The host side of skills: a skill's question answered through the server, its routes
mounted under /v1, its command on the os1 command line, and notices that fall due between
turns reaching the user's open streams. The skill is tests/server_skill.py, loaded
through the same plugin door as the built-in ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.codec import now
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import plugins
from os1.mind.voice_conversation import VoiceConversation
from os1.server import notices
from os1.server.app import create_app
from os1.server.state import ServerState
from os1.server.tenancy import SharedModels, Tenant
from os1.voice.speaking import FileSink
from tests.mind.test_voice_conversation import make_turns
from tests.server import skill_fixture as server_skill
from tests.server.test_server import (
    FakeVoiceEngines,
    QuietVAD,
    Server,
    SilentRecognizer,
    ToneSynthesizer,
    make_server,
    running,
    set_up,
)

SKILLS = ("os1.skills.presence", "os1.skills.reflection", "tests.server.skill_fixture")


@pytest.fixture(autouse=True)
def with_the_skill(monkeypatch: pytest.MonkeyPatch) -> None:
    skills = plugins.manager(SKILLS, entry_points=False)
    monkeypatch.setattr(plugins, "skills", lambda: skills)
    server_skill.DONE.clear()


@pytest.fixture
def server(home: Path) -> Server:
    return make_server(
        home, requests_per_minute=6000, burst=1000, heartbeat_s=0.2, notice_check_s=0.2
    )


@pytest.fixture
def client(server: Server) -> Iterator[TestClient]:
    with TestClient(create_app(server.state)) as test_client:
        yield test_client


def tenant_of(server: Server, name: str) -> Tenant:
    account = next(a for a in server.state.accounts.all_accounts() if a.name == name)
    return server.state.tenants.for_account(account)


def post(client: TestClient, server: Server, path: str, body: Any, user: str = "alice") -> Any:
    return client.post(path, json=body, headers=server.auth(user))


# --- confirmations --------------------------------------------------------------------


def test_a_question_is_answered_through_the_confirmations_endpoint(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    set_up(client, server, "bob")
    asked = post(client, server, "/v1/messages", {"text": "delete note 3"}).json()
    confirm = asked["confirm"]
    assert confirm["type"] == "confirm" and confirm["question"] == "Shall I delete note 3?"
    assert asked["reply"] == "Shall I delete note 3?" and server_skill.DONE == []
    path = f"/v1/confirmations/{confirm['id']}"
    assert post(client, server, path, {"answer": "maybe"}).status_code == 400
    assert post(client, server, "/v1/confirmations/999", {"answer": "yes"}).status_code == 404
    # Another user's store has no such question: nobody answers alice's but alice.
    assert post(client, server, path, {"answer": "yes"}, user="bob").status_code == 404
    done = post(client, server, path, {"answer": "yes"}).json()
    assert done["type"] == "done" and done["reply"] == "I deleted note 3."
    assert [a["via"] for a in done["actions"]] == ["confirmation"]
    assert server_skill.DONE == ["deleted 3"]
    # Answered once: a second yes (another tab, a retry) runs nothing.
    again = post(client, server, path, {"answer": "yes"}).json()
    assert again["reply"] == "That's already been taken care of."
    assert server_skill.DONE == ["deleted 3"]
    history = client.get("/v1/history", headers=server.auth("alice")).json()["turns"]
    assert [t["text"] for t in history][-4:] == ["yes", "I deleted note 3.", "yes", again["reply"]]


def test_the_question_reaches_socket_and_stream_clients_and_a_no_declines(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    with client.websocket_connect("/v1/chat", headers=server.auth("alice")) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "message", "text": "delete note 4"})
        events = [ws.receive_json()]
        while events[-1]["type"] != "done":
            events.append(ws.receive_json())
    kinds = [e["type"] for e in events]
    assert kinds.index("action") < kinds.index("confirm") < kinds.index("token")
    asked = events[kinds.index("confirm")]
    done = post(client, server, f"/v1/confirmations/{asked['id']}", {"answer": "no"}).json()
    assert done["reply"] == "All right, I won't." and server_skill.DONE == []
    stream = client.post(
        "/v1/messages/stream", json={"text": "delete note 5"}, headers=server.auth("alice")
    )
    names = [line for line in stream.text.splitlines() if line.startswith("event: ")]
    assert "event: confirm" in names and names[-1] == "event: done"


# --- routes and commands --------------------------------------------------------------


def test_a_skills_routes_are_mounted_authenticated_under_v1(
    client: TestClient, server: Server
) -> None:
    assert client.get("/v1/notes").status_code == 401
    assert client.get("/v1/notes", headers=server.auth("alice")).status_code == 409  # not set up
    set_up(client, server, "alice")
    listed = client.get("/v1/notes", params={"q": "milk"}, headers=server.auth("alice"))
    assert listed.status_code == 200
    assert listed.json() == {"owner": "Alice", "query": "milk", "done": []}
    added = post(client, server, "/v1/notes/7", {"text": "buy milk"})
    assert added.status_code == 201 and added.json() == {"added": "buy milk", "id": "7"}
    refused = post(client, server, "/v1/notes/7", {"words": "buy milk"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == 'send {"text": …}'
    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/v1/notes"] and "post" in paths["/v1/notes/{id}"]
    assert "/v1/confirmations/{confirmation_id}" in paths


def test_a_skills_command_gets_the_persons_world(scripted_home: Path) -> None:
    from os1.cli import main

    runner = CliRunner()
    assert runner.invoke(main.cli, ["setup", "--yes", "--name", "Theodore"]).exit_code == 0
    command = server_skill._notes_command
    main.cli.add_command(main._friendly(command))
    main.SKILL_COMMANDS.add("notes")
    try:
        result = runner.invoke(main.cli, ["notes"])
    finally:
        main.cli.commands.pop("notes")
        main.SKILL_COMMANDS.discard("notes")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "notes of Theodore"


# --- notices between turns ------------------------------------------------------------


def read_events(base: str, server: Server, until: str, limit: int = 200) -> list[dict[str, Any]]:
    """The events of a /v1/events stream, up to the first named ``until``."""
    seen: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{base}/v1/events", headers=server.auth("alice"), timeout=10) as s:
        name = ""
        for line in s.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append({"event": name, **json.loads(line.removeprefix("data: "))})
                if name == until or len(seen) >= limit:
                    break
    return seen


def test_a_reminder_due_while_nobody_listened_arrives_late_when_the_stream_connects(
    server: Server,
) -> None:
    with running(server) as base:
        httpx.post(f"{base}/v1/setup", json={"name": "Alice"}, headers=server.auth("alice"))
        tenant = tenant_of(server, "alice")
        with tenant.lock:
            tenant.store.agenda.schedule(
                "notes", "note", "call the plumber", now() - timedelta(hours=3)
            )
        seen = read_events(base, server, until="notice")
    assert seen[0]["event"] == "hello"
    notice = seen[1]
    assert notice["event"] == "notice" and notice["type"] == "notice"
    assert notice["text"] == "Reminder: call the plumber (late)" and notice["late"] is True
    assert notice["source"] == "notes"


def test_a_reminder_falling_due_reaches_the_open_stream_once(server: Server) -> None:
    with running(server) as base:
        httpx.post(f"{base}/v1/setup", json={"name": "Alice"}, headers=server.auth("alice"))
        tenant = tenant_of(server, "alice")
        with tenant.lock:
            tenant.store.agenda.schedule("notes", "note", "stretch", now() + timedelta(seconds=0.5))
        # Heartbeats every 0.2 s; the watcher looks every 0.2 s and finds it due.
        seen = read_events(base, server, until="notice")
    assert seen[0]["event"] == "hello" and seen[1]["event"] == "heartbeat"
    assert seen[-1]["text"] == "Reminder: stretch" and seen[-1]["late"] is False
    # Claimed once: a second worker on the same store finds nothing more to say.
    options = server.state.options
    shared = SharedModels(options, backend=server.backend, embedders=[])
    other = ServerState.create(options, None, shared, FakeVoiceEngines())
    account = tenant.account
    assert notices.due_notices(other.tenants.for_account(account)) == []
    assert notices.due_notices(tenant) == []
    other.close()


# --- by voice -------------------------------------------------------------------------


def test_by_voice_the_question_is_spoken_and_the_next_turn_answers_it(
    store: SQLiteStore,
) -> None:
    turns = make_turns(store, ScriptedBackend(["unused"]), plugins.skills())
    voice = ToneSynthesizer()
    sink = FileSink(voice.sample_rate)
    conversation = VoiceConversation(turns, SilentRecognizer(), QuietVAD(), voice, sink)
    conversation.say("delete note 3", 0.0)
    asked = conversation.wait(timeout=30)
    assert asked is not None and asked.error is None
    assert asked.spoken == "Shall I delete note 3?" and server_skill.DONE == []
    conversation.say("yes", 1.0)
    answered = conversation.wait(timeout=30)
    assert answered is not None and answered.spoken == "I deleted note 3."
    assert server_skill.DONE == ["deleted 3"]
    conversation.close()
    assert [t.text for t in store.turns()] == [
        "delete note 3",
        "Shall I delete note 3?",
        "yes",
        "I deleted note 3.",
    ]


def test_a_reminder_due_in_an_openai_turn_goes_to_the_event_stream(home: Path) -> None:
    # The watcher would be too slow here: the turn itself claims the reminder.
    server = make_server(home, requests_per_minute=6000, burst=1000, notice_check_s=60)
    with running(server) as base:
        auth = server.auth("alice")
        httpx.post(f"{base}/v1/setup", json={"name": "Alice"}, headers=auth)
        tenant = tenant_of(server, "alice")
        seen: list[str] = []
        with httpx.stream("GET", f"{base}/v1/events", headers=auth, timeout=10) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: hello"
            with tenant.lock:
                tenant.store.agenda.schedule(
                    "notes", "note", "feed the cat", now() - timedelta(seconds=1)
                )
            body = {"model": "os1", "messages": [{"role": "user", "content": "hello"}]}
            reply = httpx.post(f"{base}/v1/chat/completions", json=body, headers=auth, timeout=10)
            assert reply.json()["choices"][0]["message"]["content"] == "I'm here with you."
            for line in lines:
                seen.append(line)
                if line.startswith("data: ") and "feed the cat" in line:
                    break
    assert "event: notice" in seen
    assert json.loads(seen[-1].removeprefix("data: "))["text"] == "Reminder: feed the cat"


def test_the_watcher_reads_a_quiet_users_next_due_time_seldom(server: Server) -> None:
    """Thousands of listeners: a pass costs nothing for those with nothing due, until a
    turn or a route of theirs may have scheduled something."""
    import asyncio

    with running(server) as base:
        httpx.post(f"{base}/v1/setup", json={"name": "Alice"}, headers=server.auth("alice"))
        tenant = tenant_of(server, "alice")
        tenants = server.state.tenants
        hub = tenants.hub(tenant.account)
        queue = asyncio.new_event_loop().run_until_complete(_subscribed(hub))
        asyncio.run(notices.deliver_once(tenants))
        assert hub.next_due is not None and hub.next_due[1] is None  # read: nothing due
        read_at = hub.next_due[0]
        asyncio.run(notices.deliver_once(tenants))
        assert hub.next_due[0] == read_at  # not read again
        chat = httpx.post(
            f"{base}/v1/messages", json={"text": "hello there"}, headers=server.auth("alice")
        )
        assert chat.status_code == 200 and hub.next_due is not None
        assert hub.next_due[0] == read_at  # small talk scheduled nothing: not read again
        acted = httpx.post(
            f"{base}/v1/messages", json={"text": "delete note 3"}, headers=server.auth("alice")
        )
        # A skill acted: look again (the server's own watcher may already have).
        assert acted.status_code == 200
        assert hub.next_due is None or hub.next_due[0] > read_at
        hub.unsubscribe(queue)


async def _subscribed(hub: Any) -> Any:
    return hub.subscribe()
