"""Accounts and their API tokens, in ``$OS1_HOME/server/accounts.db`` (or, with
``store.url`` set, in PostgreSQL: see ``os1.server.accounts_postgres``).

A token is ``os1_<user id>_<secret>``, where the secret is 32 random bytes. Only the
SHA-256 of the whole token is stored, so a copy of the database cannot be used to sign in;
the id in the token finds the account, and the hashes are compared in constant time.
Revoking keeps the account row (and the user's data), so an id is never reused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from os1.options import Options

TOKEN_PATTERN = re.compile(r"^os1_(\d{1,18})_([A-Za-z0-9_-]{43})$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


class AccountError(Exception):
    """An account command cannot be done; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise AccountError(
            f"{name!r} is not a usable name: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def new_token(user_id: int) -> str:
    return f"os1_{user_id}_{secrets.token_urlsafe(32)}"


def token_user(token: str) -> int | None:
    """The account id a well-formed token names."""
    match = TOKEN_PATTERN.match(token)
    return int(match.group(1)) if match else None


def token_matches(revoked_at: str | None, stored_hash: str, token: str) -> bool:
    """Whether ``token`` signs in to an account with this revocation time and hash,
    comparing hashes in constant time."""
    if revoked_at is not None or not stored_hash:
        return False
    return hmac.compare_digest(str(stored_hash), token_hash(token))


class AccountStore(Protocol):
    """Where accounts live: ``Accounts`` (SQLite, one server) or ``PostgresAccounts``
    (shared by every server process that uses the same database)."""

    def add(self, name: str) -> tuple[Account, str]:
        """Create an account; returns it and its token, which is never shown again."""

    def add_many(self, names: list[str]) -> list[tuple[Account, str]]:
        """Create accounts in one transaction, each with its token; all or none."""

    def all_accounts(self) -> list[Account]:
        """Every account, oldest first."""

    def revoke(self, name: str) -> Account:
        """Revoke an account's token; its data stays."""

    def rotate(self, account_id: int) -> str:
        """A new token for an active account, returned once; the old one stops working
        at once. ``AccountError`` when there is no active account with this id."""

    def authenticate(self, token: str) -> Account | None:
        """The active account this token belongs to, or None."""

    def close(self) -> None:
        """Release the database."""


def open_accounts(options: Options) -> AccountStore:
    """The accounts in ``store.url``'s PostgreSQL database when it names one, else in
    ``$OS1_HOME/server/accounts.db``."""
    if options.store.url:
        from os1.server.accounts_postgres import PostgresAccounts

        return PostgresAccounts(options.store.url, pool_size=options.store.pool_size)
    return Accounts(accounts_path(options.home))


def accounts_path(home: Path) -> Path:
    return home / "server" / "accounts.db"


class Accounts:
    """The account database. Safe to share between threads: one connection, one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def add(self, name: str) -> tuple[Account, str]:
        """Create an account; returns it and its token, which is never shown again."""
        return self.add_many([name])[0]

    def add_many(self, names: list[str]) -> list[tuple[Account, str]]:
        """Create many accounts in one transaction (a load test's thousands of users),
        each with its token, shown only here. Fails whole if any name is bad or taken."""
        for name in names:
            check_name(name)
        created: list[tuple[Account, str]] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for name in names:
                    if self._row("SELECT * FROM accounts WHERE name = ?", name) is not None:
                        raise AccountError(f"an account named {name!r} exists already")
                    # The id is part of the token: insert first, set the hash once it is known.
                    cursor = self._db.execute(
                        "INSERT INTO accounts (name, token_sha256, created_at) VALUES (?, '', ?)",
                        (name, now_text()),
                    )
                    user_id = int(cursor.lastrowid or 0)
                    token = new_token(user_id)
                    self._db.execute(
                        "UPDATE accounts SET token_sha256 = ? WHERE id = ?",
                        (token_hash(token), user_id),
                    )
                    account = self._row("SELECT * FROM accounts WHERE id = ?", user_id)
                    assert account is not None
                    created.append((account, token))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return created

    def records(self) -> list[tuple[Account, str]]:
        """Every account with its token hash, for ``os1 db migrate``."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM accounts ORDER BY id").fetchall()
        return [(_account(r), str(r["token_sha256"])) for r in rows]

    def rotate(self, account_id: int) -> str:
        """A new token for an active account; the old one stops working at once."""
        token = new_token(account_id)
        with self._lock:
            changed = self._db.execute(
                "UPDATE accounts SET token_sha256 = ? WHERE id = ? AND revoked_at IS NULL",
                (token_hash(token), account_id),
            ).rowcount
        if changed == 0:
            raise AccountError(f"no active account with id {account_id}")
        return token

    def all_accounts(self) -> list[Account]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM accounts ORDER BY id").fetchall()
        return [_account(r) for r in rows]

    def revoke(self, name: str) -> Account:
        with self._lock:
            found = self._row("SELECT * FROM accounts WHERE name = ?", name)
            if found is None:
                raise AccountError(f"no account named {name!r}: see os1 users list")
            if found.active:
                self._db.execute(
                    "UPDATE accounts SET revoked_at = ?, token_sha256 = '' WHERE id = ?",
                    (now_text(), found.id),
                )
            revoked = self._row("SELECT * FROM accounts WHERE id = ?", found.id)
        assert revoked is not None
        return revoked

    def authenticate(self, token: str) -> Account | None:
        """The active account this token belongs to, or None."""
        user_id = token_user(token)
        if user_id is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM accounts WHERE id = ?", (user_id,)).fetchone()
        if row is None or not token_matches(row["revoked_at"], row["token_sha256"], token):
            return None
        return _account(row)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, sql: str, value: object) -> Account | None:
        row = self._db.execute(sql, (value,)).fetchone()
        return _account(row) if row is not None else None


def _account(row: sqlite3.Row) -> Account:
    return Account(
        id=int(row["id"]),
        name=str(row["name"]),
        created_at=str(row["created_at"]),
        revoked_at=row["revoked_at"],
    )


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
