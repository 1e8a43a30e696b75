"""One connection pool per PostgreSQL database, shared by every store in the process.

A server with thousands of users opens one ``PostgresStore`` per user, but they all
borrow from one small pool: a store holds a connection only while a call runs. The
first use of a database in a process brings its schema up to date (as opening a SQLite
file does) and teaches the pool's connections pgvector's binary format, so vectors
travel as packed floats, never as text.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg_pool import ConnectionPool, PoolTimeout

from os1.memory.storage.errors import StoreError
from os1.memory.storage.postgres.migrations import USER_LOCK_CLASS, upgrade

Connection = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]
DEFAULT_POOL_SIZE = 10


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":••••@")
    return urlunsplit(parts._replace(netloc=netloc))


class VectorLoader(Loader):
    """pgvector's binary form: dimensions (int16), unused (int16), big-endian float4s."""

    format = Format.BINARY

    def load(self, data: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
        return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)


def vector_dumper(oid: int) -> type[Dumper]:
    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            values = np.asarray(obj, dtype=">f4").ravel()
            return struct.pack(">HH", len(values), 0) + values.tobytes()

    VectorDumper.oid = oid
    return VectorDumper


def upgrade_database(url: str) -> tuple[int, int]:
    """Apply the missing migrations to the database at ``url``: (version before, after)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return upgrade(conn)
    except psycopg.OperationalError as exc:
        raise StoreError(f"Cannot use PostgreSQL at {redacted(url)}: {exc}") from None


def _configure(conn: Connection) -> None:
    # Timestamps come back in UTC, as the SQLite store writes them.
    conn.execute("SET TIME ZONE 'UTC'")
    row = conn.execute("SELECT 'vector'::regtype::oid").fetchone()
    assert row is not None
    conn.adapters.register_loader(int(row[0]), VectorLoader)
    conn.adapters.register_dumper(np.ndarray, vector_dumper(int(row[0])))


class Database:
    """A pool of connections to one PostgreSQL database whose schema is current."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        # The connection each thread holds inside ``holding()``, if any.
        self._held = threading.local()
        upgrade_database(url)
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(pool_size, 1),
            kwargs={"autocommit": True},
            configure=_configure,
            open=True,
            name="os1",
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection from the pool, or the one this thread holds (``holding``)."""
        held: Connection | None = getattr(self._held, "connection", None)
        if held is not None:
            yield held
            return
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreError(f"PostgreSQL at {redacted(self.url)} failed: {exc}") from None

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep one connection for this thread's calls inside, instead of borrowing one
        per call. Under load every borrow can mean a wait in the pool's queue, so a run of
        calls (a turn's reads and writes before the model starts) waits once, not each
        time. Never hold one across a model call: others need it meanwhile."""
        if getattr(self._held, "connection", None) is not None:
            yield
            return
        with self.connection() as conn:
            self._held.connection = conn
            try:
                yield
            finally:
                self._held.connection = None

    def close(self) -> None:
        self.pool.close()


_databases: dict[str, Database] = {}
_lock = threading.Lock()


class UserRows:
    """One user's access to the shared database, for the store and each of its parts:
    queries, and atomic writes that hold that user's lock."""

    def __init__(self, database: Database, user_id: int) -> None:
        self.database = database
        self.user_id = user_id

    def rows(
        self, sql: str, params: Sequence[object] | dict[str, object] = (), binary: bool = False
    ) -> list[Any]:
        """Every row of one query; ``binary`` for vectors, which load fastest that way."""
        with self.database.connection() as conn, conn.cursor(binary=binary) as cur:
            return cur.execute(sql.encode(), params).fetchall()

    def one(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One atomic write, holding this user's lock until it commits (as SQLite's
        ``BEGIN IMMEDIATE`` takes its file's)."""
        with self.database.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (USER_LOCK_CLASS, self.user_id))
            yield conn


def database(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
    """The process's pool for ``url``, made (and its schema upgraded) on first use."""
    with _lock:
        found = _databases.get(url)
        if found is None:
            found = _databases[url] = Database(url, pool_size)
        return found


def close_database(url: str) -> None:
    with _lock:
        found = _databases.pop(url, None)
    if found is not None:
        found.close()
