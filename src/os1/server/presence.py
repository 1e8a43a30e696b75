"""How many people the OS is talking with right now, across every server process.

A person is *in conversation* while they have a conversation socket open (``/v1/chat``,
``/v1/voice``) or sent a message within ``server.presence_window_s`` (REST and OpenAI
clients hold no connection). Each process tracks its own people (``PresenceTracker``).

- ``LocalPresence``: one process; the count is its own.
- ``SharedPresence``: several processes. Each publishes the ids of its people on a shared
  *board* (a row per process, with a heartbeat) whenever they change and every few
  seconds, and reads the others' rows; the count is the number of distinct people across
  all live rows, so someone talking through two processes counts once. A process that
  dies stops counting when its heartbeat is older than ``stale_after_s``.
  Boards: PostgreSQL (``os1.server.presence_pg``, with LISTEN/NOTIFY so the others hear
  of a change at once) when ``store.url`` is a postgresql:// URL, else a SQLite file in
  the server's home, polled (several processes on one machine).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
STALE_AFTER_S = 15.0
# A local change is published within this long (changes in between are published together).
PUBLISH_EVERY_S = 0.25


class Presence(Protocol):
    def connected(self, user_id: int) -> None:
        """A conversation socket of this user opened."""

    def disconnected(self, user_id: int) -> None:
        """A conversation socket of this user closed."""

    def spoke(self, user_id: int) -> None:
        """This user sent a message (on any channel)."""

    def count(self) -> int:
        """People in conversation now, across every process."""

    def close(self) -> None:
        """Stop counting this process's people (withdraw them from the board)."""


class PresenceTracker:
    """This process's people: open sockets per user, and when each last spoke."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sockets: dict[int, int] = {}
        self._spoke: dict[int, float] = {}
        self.changed = threading.Event()

    def connected(self, user_id: int) -> None:
        with self._lock:
            self._sockets[user_id] = self._sockets.get(user_id, 0) + 1
        self.changed.set()

    def disconnected(self, user_id: int) -> None:
        with self._lock:
            left = self._sockets.get(user_id, 0) - 1
            if left > 0:
                self._sockets[user_id] = left
            else:
                self._sockets.pop(user_id, None)
                # Just left: counts for the window like anyone who spoke, not a moment more.
                self._spoke.setdefault(user_id, self._clock())
        self.changed.set()

    def spoke(self, user_id: int) -> None:
        with self._lock:
            known = user_id in self._sockets or user_id in self._spoke
            self._spoke[user_id] = self._clock()
        if not known:
            self.changed.set()

    def users(self) -> set[int]:
        """Everyone in conversation here; forgets who spoke longer ago than the window."""
        cutoff = self._clock() - self.window_s
        with self._lock:
            gone = [u for u, at in self._spoke.items() if at < cutoff]
            for user in gone:
                del self._spoke[user]
            return set(self._sockets) | set(self._spoke)


class LocalPresence(PresenceTracker):
    """One process: its own people are everyone."""

    def count(self) -> int:
        return len(self.users())

    def close(self) -> None:
        """Nothing is shared, so nothing to withdraw."""


class PresenceBoard(Protocol):
    """Where processes publish their people; each process has its own row."""

    def publish(self, worker: str, users: Sequence[int]) -> None:
        """Write this worker's people and heartbeat; tell the others it changed."""

    def others(self, worker: str, stale_after_s: float) -> set[int]:
        """Everyone the other live workers are talking with."""

    def wait(self, worker: str, timeout_s: float) -> bool:
        """Block until another worker published (True) or ``timeout_s`` passed."""

    def withdraw(self, worker: str) -> None:
        """Remove this worker's row."""

    def close(self) -> None:
        """Release the connection."""


class SharedPresence(PresenceTracker):
    """Counts across processes through a ``PresenceBoard``, on a thread of its own."""

    def __init__(
        self,
        board: PresenceBoard,
        window_s: float,
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        super().__init__(window_s)
        self.board = board
        self.worker = uuid.uuid4().hex[:12]
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self._remote: set[int] = set()
        self._remote_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="os1-presence", daemon=True)
        self._thread.start()

    def count(self) -> int:
        with self._remote_lock:
            remote = self._remote
        return len(self.users() | remote)

    def _run(self) -> None:
        published: list[int] | None = None
        next_heartbeat = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                self.changed.clear()
                users = sorted(self.users())
                heard = False
                if users != published or now >= next_heartbeat:
                    self.board.publish(self.worker, users)
                    published, next_heartbeat = users, now + self.heartbeat_s
                    heard = True  # a heartbeat also re-reads, so dead workers drop out
                else:
                    heard = self.board.wait(self.worker, PUBLISH_EVERY_S)
                if heard:
                    remote = self.board.others(self.worker, self.stale_after_s)
                    with self._remote_lock:
                        self._remote = remote
            except Exception:
                # The board is unreachable: count what is known, try again shortly.
                logger.warning("presence board failed; retrying", exc_info=True)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        try:
            self.board.withdraw(self.worker)
        except Exception:
            logger.warning("could not withdraw from the presence board", exc_info=True)
        self.board.close()


class SQLiteBoard:
    """A board in a SQLite file, for several processes on one machine; polled."""

    def __init__(self, path: Path, poll_s: float = PUBLISH_EVERY_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.poll_s = poll_s
        self._db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS presence "
            "(worker TEXT PRIMARY KEY, heartbeat REAL NOT NULL, users TEXT NOT NULL)"
        )
        self._seen = ""

    def publish(self, worker: str, users: Sequence[int]) -> None:
        self._db.execute(
            "INSERT INTO presence VALUES (?, ?, ?) ON CONFLICT(worker) DO UPDATE "
            "SET heartbeat = excluded.heartbeat, users = excluded.users",
            (worker, time.time(), ",".join(map(str, users))),
        )

    def others(self, worker: str, stale_after_s: float) -> set[int]:
        rows = self._db.execute(
            "SELECT users FROM presence WHERE worker != ? AND heartbeat > ?",
            (worker, time.time() - stale_after_s),
        ).fetchall()
        return {int(u) for (users,) in rows for u in users.split(",") if u}

    def wait(self, worker: str, timeout_s: float) -> bool:
        time.sleep(timeout_s)
        # A changed table (any row) is a change; reading it is cheap at this size.
        seen = repr(
            self._db.execute(
                "SELECT worker, users FROM presence WHERE worker != ? ORDER BY worker", (worker,)
            ).fetchall()
        )
        changed, self._seen = seen != self._seen, seen
        return changed

    def withdraw(self, worker: str) -> None:
        self._db.execute("DELETE FROM presence WHERE worker = ?", (worker,))

    def close(self) -> None:
        self._db.close()


def open_presence(store_url: str, board_path: Path, workers: int, window_s: float) -> Presence:
    """PostgreSQL's board for a postgresql:// store, a SQLite file for several local
    workers, else this process alone."""
    if store_url.startswith(("postgresql://", "postgres://")):
        from os1.server.presence_pg import PostgresBoard

        return SharedPresence(PostgresBoard(store_url), window_s)
    if workers > 1:
        return SharedPresence(SQLiteBoard(board_path), window_s)
    return LocalPresence(window_s)
