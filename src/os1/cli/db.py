"""``os1 db``: the database behind OS1 (SQLite or PostgreSQL), its schema, and moving a
person's memory from SQLite into PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import click

from os1.cli.common import console, friendly_errors, print_json
from os1.memory import transfer
from os1.memory.storage.errors import StoreError
from os1.memory.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from os1.mind.assembly import LOCAL_USER_ID, open_store
from os1.options import StoreOptions
from os1.options import load as load_options
from os1.server.accounts import AccountError, Accounts, accounts_path

# The PostgreSQL modules are imported by the commands that use them, so that every other
# os1 command starts without loading the driver.


@click.group("db")
def db_group() -> None:
    """The database: status, schema upgrades, moving memory to PostgreSQL."""


def _describe(store: StoreOptions) -> tuple[str, str, int]:
    """Backend name, where it is, and the schema version this OS1 writes."""
    if store.url:
        from os1.memory.storage.postgres import LATEST, redacted

        return "postgresql", redacted(store.url), LATEST
    return "sqlite", str(store.sqlite_path), SCHEMA_VERSION


@db_group.command("status")
@click.option("--user", "user_id", type=int, help="A server account's id (PostgreSQL).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def db_status(user_id: int | None, as_json: bool) -> None:
    """The backend in use (store.url), its schema version, and what it holds."""
    options = load_options()
    backend, where, current = _describe(options.store)
    if backend == "sqlite" and user_id is not None:
        options = options.for_home(options.home / "users" / str(user_id))
        where = str(options.store.sqlite_path)
    store = open_store(options.store, LOCAL_USER_ID if user_id is None else user_id)
    try:
        version, held = store.schema_version, transfer.counts(store)
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "backend": backend,
                "location": where,
                "schema_version": version,
                "latest_schema_version": current,
                "counts": held,
            }
        )
        return
    console.print(f"{backend} at {where}")
    console.print(f"schema version {version} (this OS1 writes {current})")
    for kind, number in held.items():
        console.print(f"  {kind}: {number}")


@db_group.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Bring the database's schema up to this OS1's version (safe to run again)."""
    options = load_options()
    backend, where, _ = _describe(options.store)
    if backend == "postgresql":
        from os1.memory.storage.postgres import upgrade_database

        before, after = upgrade_database(options.store.url)
    else:
        # Opening a SQLite file upgrades it.
        store = open_store(options.store)
        before = after = store.schema_version
        store.close()
    if before == after:
        console.print(f"{backend} at {where}: schema {after}, already current.")
    else:
        console.print(f"{backend} at {where}: schema {before} → {after}.")


@db_group.command("migrate")
@click.option(
    "--from",
    "source",
    default="sqlite",
    show_default=True,
    help="sqlite (this home's os1.db, or with --user a server user's) or sqlite:PATH.",
)
@click.option("--to", "target", required=True, help="postgresql://USER:PASSWORD@HOST/DATABASE")
@click.option("--user", "user_id", type=int, help="Move this server account's memory.")
@click.option("--all-users", is_flag=True, help="Move every server account: accounts and memory.")
@friendly_errors
def db_migrate(source: str, target: str, user_id: int | None, all_users: bool) -> None:
    """Move memory from SQLite into PostgreSQL, keeping every id, vector and timing.

    Without --user, moves this home's os1.db (the command line's memory). Refuses a
    target that already holds other data for the user; a move already done is skipped.
    Then set store.url to the target to use it.
    """
    from os1.memory.storage.postgres import is_postgres_url

    options = load_options()
    if not is_postgres_url(target):
        raise StoreError(f"--to must be a postgresql:// URL, got {target.split(':')[0]}:…")
    if source != "sqlite" and not source.startswith("sqlite:"):
        raise StoreError(f"--from must be sqlite or sqlite:PATH, got {source!r}")
    explicit = Path(source.removeprefix("sqlite:")) if source != "sqlite" else None
    if all_users:
        if explicit is not None or user_id is not None:
            raise StoreError("--all-users takes every user under OS1_HOME: no PATH or --user")
        _move_accounts(options.home, target)
        users = sorted(int(p.name) for p in (options.home / "users").glob("*") if p.name.isdigit())
        moves = [(options.home / "users" / str(u) / "os1.db", u) for u in users]
    elif explicit is not None:
        moves = [(explicit, LOCAL_USER_ID if user_id is None else user_id)]
    elif user_id is not None:
        moves = [(options.home / "users" / str(user_id) / "os1.db", user_id)]
    else:
        moves = [(options.store.sqlite_path, LOCAL_USER_ID)]
    for path, user in moves:
        _move_one(path, target, user)


def _move_one(path: Path, target: str, user_id: int) -> None:
    from os1.memory.storage.postgres import PostgresStore

    if not path.exists():
        raise StoreError(f"No OS1 database at {path}")
    source = SQLiteStore(path)
    try:
        moved = transfer.move(source, PostgresStore(target, user_id))
    finally:
        source.close()
    summary = ", ".join(f"{n} {kind}" for kind, n in moved.counts.items())
    if moved.already:
        console.print(f"User {user_id}: already moved ({summary}); nothing to do.")
    else:
        console.print(f"User {user_id}: moved {path} ({summary}).")


def _move_accounts(home: Path, target: str) -> None:
    from os1.server.accounts_postgres import PostgresAccounts

    path = accounts_path(home)
    if not path.exists():
        return
    accounts = Accounts(path)
    try:
        added = PostgresAccounts(target).restore(accounts.records())
    except AccountError as exc:
        raise StoreError(str(exc)) from None
    finally:
        accounts.close()
    console.print(f"Accounts: {added} moved (tokens keep working).")
