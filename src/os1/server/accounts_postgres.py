"""Accounts in PostgreSQL (``store.url``), so several server processes, on one machine or
many, share one set of accounts and tokens. The same rules as ``os1.server.accounts``:
only token hashes are stored, and ids are never reused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from os1.memory.storage.postgres.database import DEFAULT_POOL_SIZE, Database, database
from os1.server.accounts import (
    Account,
    AccountError,
    check_name,
    new_token,
    now_text,
    token_hash,
    token_matches,
    token_user,
)

COLUMNS = "id, name, created_at, revoked_at, token_sha256"


class PostgresAccounts:
    """Safe to share between threads: each call borrows a pooled connection."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self._database: Database = database(url, pool_size)

    def add(self, name: str) -> tuple[Account, str]:
        """Create an account; returns it and its token, which is never shown again."""
        return self.add_many([name])[0]

    def add_many(self, names: list[str]) -> list[tuple[Account, str]]:
        """Create accounts in one transaction, each with its token; all or none."""
        for name in names:
            check_name(name)
        created: list[tuple[Account, str]] = []
        with self._database.connection() as conn, conn.transaction():
            for name in names:
                row = conn.execute(
                    "INSERT INTO accounts (name, token_sha256, created_at) VALUES (%s, '', %s) "
                    f"ON CONFLICT (name) DO NOTHING RETURNING {COLUMNS}",
                    (name, now_text()),
                ).fetchone()
                if row is None:  # raising rolls the whole transaction back
                    raise AccountError(f"an account named {name!r} exists already")
                # The id is part of the token: insert first, set the hash once it is known.
                token = new_token(int(row[0]))
                conn.execute(
                    "UPDATE accounts SET token_sha256 = %s WHERE id = %s",
                    (token_hash(token), row[0]),
                )
                created.append((_account(row), token))
        return created

    def all_accounts(self) -> list[Account]:
        return [account for account, _ in self.records()]

    def records(self) -> list[tuple[Account, str]]:
        """Every account with its token hash."""
        rows = self._rows(f"SELECT {COLUMNS} FROM accounts ORDER BY id")
        return [(_account(r), str(r[4])) for r in rows]

    def revoke(self, name: str) -> Account:
        rows = self._rows(
            "UPDATE accounts SET revoked_at = coalesce(revoked_at, %s), token_sha256 = '' "
            f"WHERE name = %s RETURNING {COLUMNS}",
            (now_text(), name),
        )
        if not rows:
            raise AccountError(f"no account named {name!r}: see os1 users list")
        return _account(rows[0])

    def rotate(self, account_id: int) -> str:
        """A new token for an active account; the old one stops working at once."""
        token = new_token(account_id)
        rows = self._rows(
            "UPDATE accounts SET token_sha256 = %s WHERE id = %s AND revoked_at IS NULL "
            "RETURNING id",
            (token_hash(token), account_id),
        )
        if not rows:
            raise AccountError(f"no active account with id {account_id}")
        return token

    def authenticate(self, token: str) -> Account | None:
        """The active account this token belongs to, or None."""
        user_id = token_user(token)
        if user_id is None:
            return None
        rows = self._rows(f"SELECT {COLUMNS} FROM accounts WHERE id = %s", (user_id,))
        if not rows or not token_matches(rows[0][3], rows[0][4], token):
            return None
        return _account(rows[0])

    def restore(self, records: Sequence[tuple[Account, str]]) -> int:
        """Copy accounts from another server keeping ids and token hashes, so its tokens
        keep working; returns how many were new. An id already here under another name
        is refused before anything is written."""
        existing = {account.id: account.name for account, _ in self.records()}
        clashes = [a.name for a, _ in records if existing.get(a.id, a.name) != a.name]
        if clashes:
            raise AccountError(
                f"accounts {', '.join(clashes)} have ids that other accounts hold here"
            )
        new = [(a, h) for a, h in records if a.id not in existing]
        with self._database.connection() as conn, conn.transaction():
            for account, stored_hash in new:
                conn.execute(
                    "INSERT INTO accounts (id, name, token_sha256, created_at, revoked_at) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (account.id, account.name, stored_hash, account.created_at, account.revoked_at),
                )
            # New accounts are numbered after every copied one.
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('accounts', 'id'), "
                "greatest((SELECT max(id) FROM accounts), 1))"
            )
        return len(new)

    def close(self) -> None:
        """Nothing to release: the connections belong to the process's shared pool."""

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._database.connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()


def _account(row: Sequence[Any]) -> Account:
    return Account(id=int(row[0]), name=str(row[1]), created_at=str(row[2]), revoked_at=row[3])
