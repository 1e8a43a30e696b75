"""The endpoints the web app added: editing memories, sessions, persona history, sleep,
settings, token rotation, erasing, and the web app's own files. Each is scoped to the
token's user, like every route.

The tests that touch a store run twice: on SQLite (a file per user) and on PostgreSQL
(one database, every user's rows in it; accounts there too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from os1.server.app import create_app
from tests.server.test_server import SECRETS, Server, client, make_server, say, set_up

__all__ = ["client"]  # a fixture, imported to be used here (on this file's ``server``)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, home: Path) -> Server:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    return make_server(home, store_url=url)


def test_editing_a_turn_drops_what_came_from_the_old_words(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    said = say(client, server, "alice", "My sister Anna lives in Lisbon.")
    auth = server.auth("alice")
    facts = client.get("/v1/memories", headers=auth).json()["memories"]
    assert [f["text"] for f in facts] == ["Alice sister: Anna"]

    edited = client.patch(
        f"/v1/memories/{said['user_turn_id']}",
        json={"text": "My sister Maria lives in Porto."},
        headers=auth,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["memory"]["dropped"]["facts"] == 1
    facts = client.get("/v1/memories", headers=auth).json()["memories"]
    assert [f["text"] for f in facts] == ["Alice sister: Maria"]
    found = client.get("/v1/memories/search", params={"q": "Lisbon"}, headers=auth).json()
    assert all("Lisbon" not in hit["text"] for hit in found["results"])

    fact_id = facts[0]["id"]
    fixed = client.patch(f"/v1/memories/{fact_id}", json={"text": "Mariana"}, headers=auth)
    assert fixed.json()["memory"]["text"] == "Alice sister: Mariana"
    assert client.patch("/v1/memories/f999", json={"text": "x"}, headers=auth).status_code == 404
    assert (
        client.patch(f"/v1/memories/{fact_id}", json={"text": " "}, headers=auth).status_code == 400
    )
    # Bob cannot reach Alice's memories: the same id is his own (and he has none).
    bob = client.patch(f"/v1/memories/{fact_id}", json={"text": "x"}, headers=server.auth("bob"))
    assert bob.status_code == 404


def test_sessions_persona_history_and_sleep(client: TestClient, server: Server) -> None:
    set_up(client, server, "alice")
    say(client, server, "alice", f"Remember {SECRETS['alice']}.")
    auth = server.auth("alice")
    sessions = client.get("/v1/sessions", headers=auth).json()["sessions"]
    assert len(sessions) == 1 and sessions[0]["turns"] == 3 and sessions[0]["ended_at"] is None
    assert SECRETS["alice"] in sessions[0]["first_words"]
    one = client.get(f"/v1/sessions/{sessions[0]['id']}", headers=auth).json()["session"]
    assert [t["role"] for t in one["turns"]] == ["companion", "user", "companion"]
    assert client.get("/v1/sessions/999", headers=auth).status_code == 404

    slept = client.post("/v1/sleep", headers=auth)
    assert slept.status_code == 200, slept.text
    assert client.get("/v1/sessions", headers=auth).json()["sessions"][0]["ended_at"]
    versions = client.get("/v1/persona/history", headers=auth).json()["versions"]
    assert versions[0]["reason"].startswith("first run")
    assert versions[-1]["persona"]["name"] == versions[0]["persona"]["name"]

    set_up(client, server, "bob")
    assert (
        client.get("/v1/sessions", headers=server.auth("bob")).json()["sessions"][0]["first_words"]
        == ""
    )
    assert (
        client.get(f"/v1/sessions/{sessions[0]['id']}", headers=server.auth("bob"))
        .json()["session"]["turns"][0]["text"]
        .startswith("Hi Bob")
    )


def test_settings_voice_and_model(client: TestClient, server: Server) -> None:
    auth = server.auth("alice")
    assert (
        client.patch("/v1/settings", json={"voice": "masculine"}, headers=auth).status_code == 409
    )
    set_up(client, server, "alice")
    settings = client.get("/v1/settings", headers=auth).json()
    assert settings["voice"] == "feminine" and settings["model"]["changeable"] is False
    changed = client.patch("/v1/settings", json={"voice": "masculine"}, headers=auth)
    assert changed.json()["voice"] == "masculine"
    assert client.get("/v1/me", headers=auth).json()["profile"]["voice"] == "masculine"
    reasons = [
        v["reason"] for v in client.get("/v1/persona/history", headers=auth).json()["versions"]
    ]
    assert reasons[-1] == "voice changed to masculine"
    assert client.patch("/v1/settings", json={"model": "x"}, headers=auth).status_code == 403
    assert client.patch("/v1/settings", json={"voice": "robot"}, headers=auth).status_code == 400
    questions = client.get("/v1/setup", headers=auth).json()["questions"]
    assert [q["key"] for q in questions] == ["name", "social", "mother", "voice"]


def test_a_new_token_replaces_the_old_at_once(client: TestClient, server: Server) -> None:
    rotated = client.post("/v1/token", headers=server.auth("alice"))
    assert rotated.status_code == 201
    token = rotated.json()["token"]
    assert client.get("/v1/me", headers=server.auth("alice")).status_code == 401
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["account"]["name"] == "alice"
    assert client.get("/v1/me", headers=server.auth("bob")).status_code == 200


def test_erasing_needs_the_account_name_and_touches_only_yours(
    client: TestClient, server: Server
) -> None:
    for user in SECRETS:
        set_up(client, server, user)
        say(client, server, user, f"Remember {SECRETS[user]}.")
    auth = server.auth("alice")
    refused = client.post("/v1/erase", json={"confirm": "bob"}, headers=auth)
    assert refused.status_code == 400 and "alice" in refused.json()["error"]["message"]
    assert client.post("/v1/erase", json={"confirm": "alice"}, headers=auth).json()["erased"]
    assert client.get("/v1/me", headers=auth).json()["set_up"] is False
    assert SECRETS["alice"] not in client.get("/v1/export", headers=auth).text
    assert SECRETS["bob"] in client.get("/v1/export", headers=server.auth("bob")).text
    set_up(client, server, "alice")  # a new first meeting works after erasing
    assert say(client, server, "alice", "Hello again.")["status"] == "complete"
    assert SECRETS["bob"] in client.get("/v1/export", headers=server.auth("bob")).text


def test_erasing_reaches_a_closed_tenant_and_other_open_connections(
    client: TestClient, server: Server
) -> None:
    set_up(client, server, "alice")
    say(client, server, "alice", f"Remember {SECRETS['alice']}.")
    auth = server.auth("alice")
    tenant = server.state.tenants.for_account(server.state.accounts.all_accounts()[0])
    # A voice session's own connection to the same database, open through the erase.
    _, voice_store = tenant.voice_turns()
    # The tenant cache closes the idle tenant (once the reply's indexing has let go of
    # it): erasing opens the user's store again.
    deadline = time.monotonic() + 10
    while not tenant.close_if_idle(time.monotonic()):
        assert time.monotonic() < deadline, "the tenant stayed in use"
        time.sleep(0.02)
    assert tenant.closed
    assert client.post("/v1/erase", json={"confirm": "alice"}, headers=auth).status_code == 200
    assert voice_store.turn_count() == 0 and voice_store.persona() is None
    voice_store.close()
    assert client.get("/v1/sessions", headers=auth).json()["sessions"] == []
    assert client.get("/v1/persona/history", headers=auth).json()["versions"] == []
    assert client.get("/v1/memories", headers=auth).json()["memories"] == []


@pytest.fixture
def web_client(home: Path) -> Iterator[TestClient]:
    """The web app's files need no store: one backend is enough."""
    with TestClient(create_app(make_server(home).state)) as test_client:
        yield test_client


def test_the_web_app_is_served_with_a_strict_policy(web_client: TestClient) -> None:
    client = web_client
    page = client.get("/")
    assert page.status_code == 200 and '<script type="module" src="/web/js/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    script = client.get("/web/js/talk.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for asset in ("/web/css/base.css", "/web/js/mic-worklet.js", "/web/js/voice.js"):
        assert client.get(asset).status_code == 200
    assert client.get("/web/../app.py").status_code == 404
    assert client.get("/web/js/missing.js").status_code == 404
    assert "/v1/sessions" in client.get("/openapi.json").json()["paths"]
