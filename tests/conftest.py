from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from os1.config import load
from os1.llm import registry
from os1.llm.embedded import EmbeddedBackend, bundled_model_path
from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.postgres import PostgresStore, close_database
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store
from tests.support.postgres import URL_VARIABLE, PostgresDatabases, start, stop

# Read before any test's ``home`` fixture clears the OS1_* variables.
TEST_POSTGRES_URL = os.environ.get(URL_VARIABLE, "")

# Registered once: tests choose it with OS1_MODEL_BACKEND=scripted.
SCRIPTED_REPLIES: list[str] = ["I'm here with you."]
registry.register("scripted", lambda model: ScriptedBackend(list(SCRIPTED_REPLIES)))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private OS1_HOME for one test, with no OS1_* settings leaking in."""

    for name in list(os.environ):
        if name.startswith("OS1_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "os1home"
    monkeypatch.setenv("OS1_HOME", str(folder))
    return folder


@pytest.fixture
def scripted_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("OS1_MODEL_BACKEND", "scripted")
    SCRIPTED_REPLIES[:] = ["I'm here with you."]
    yield home


@pytest.fixture
def store(home: Path) -> Iterator[SQLiteStore]:
    db = SQLiteStore(load().db_path)
    yield db
    db.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """The PostgreSQL server of this run: $OS1_TEST_POSTGRES_URL, or a private one."""
    if TEST_POSTGRES_URL:
        databases = PostgresDatabases(TEST_POSTGRES_URL)
        yield databases
        databases.close()
        return
    # Not under pytest's temporary folders: another pytest run on the machine may prune
    # them while this server runs.
    folder = Path(tempfile.mkdtemp(prefix="os1-test-pg-"))
    try:
        databases = PostgresDatabases(start(folder / "data", stop_at_exit=True))
        yield databases
        databases.close()
    finally:
        stop(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """A fresh PostgreSQL database with the current schema, dropped after the test."""
    name, url = postgres_databases.create()
    yield url
    close_database(url)
    postgres_databases.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    """The store on each backend: the tests that take it run once on each."""
    opened: Store
    if request.param == "sqlite":
        opened = SQLiteStore(load().db_path)
    else:
        opened = PostgresStore(request.getfixturevalue("postgres_url"), user_id=1)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Gemma 3 270M, assembled from its package once per test run."""
    return bundled_model_path(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def embedded(model_path: Path) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(model_path, context_window=2048)
    yield backend
    backend.close()
