"""The presence board in PostgreSQL: a row per server process, and LISTEN/NOTIFY.

Each process upserts its row (its people's ids and a heartbeat, in the database's own
clock) and sends ``NOTIFY os1_presence`` with its worker id; every process LISTENs, so
the others re-read within moments of a change instead of at their next heartbeat. The
table is UNLOGGED: it is state of the running processes, rebuilt by their heartbeats,
not data worth a crash-safe write.

This module and the store's PostgreSQL backend are the only users of psycopg.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

CHANNEL = "os1_presence"
SCHEMA = """
CREATE UNLOGGED TABLE IF NOT EXISTS os1_presence (
    worker TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    users BIGINT[] NOT NULL
)
"""


class PostgresBoard:
    """One autocommit connection, used by the presence thread alone."""

    def __init__(self, url: str) -> None:
        self._db = psycopg.connect(url, autocommit=True)
        # Two processes starting together may both create the table: one lock settles it.
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext('os1_presence'))")
            self._db.execute(SCHEMA)
        self._db.execute(f"LISTEN {CHANNEL}")

    def publish(self, worker: str, users: Sequence[int]) -> None:
        self._db.execute(
            "INSERT INTO os1_presence (worker, heartbeat_at, users) VALUES (%s, now(), %s) "
            "ON CONFLICT (worker) DO UPDATE "
            "SET heartbeat_at = excluded.heartbeat_at, users = excluded.users",
            (worker, list(users)),
        )
        self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, worker))

    def others(self, worker: str, stale_after_s: float) -> set[int]:
        # Rows long dead (a killed process never withdraws) are cleared on the way.
        self._db.execute(
            "DELETE FROM os1_presence WHERE heartbeat_at < now() - make_interval(secs => %s)",
            (stale_after_s * 20,),
        )
        rows = self._db.execute(
            "SELECT DISTINCT unnest(users) FROM os1_presence "
            "WHERE worker <> %s AND heartbeat_at > now() - make_interval(secs => %s)",
            (worker, stale_after_s),
        ).fetchall()
        return {int(user) for (user,) in rows}

    def wait(self, worker: str, timeout_s: float) -> bool:
        heard = False
        for notice in self._db.notifies(timeout=timeout_s):
            if notice.payload != worker:  # a process hears its own NOTIFY too
                heard = True
                break
        return heard

    def withdraw(self, worker: str) -> None:
        self._db.execute("DELETE FROM os1_presence WHERE worker = %s", (worker,))
        self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, worker))

    def close(self) -> None:
        self._db.close()
