from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from os1.config import load
from os1.llm import registry
from os1.llm.embedded import EmbeddedBackend, bundled_model_path
from os1.llm.scripted import ScriptedBackend
from os1.memory.store import SQLiteStore

# Registered once: tests choose it with OS1_MODEL_BACKEND=scripted.
SCRIPTED_REPLIES: list[str] = ["I'm here with you."]
registry.register("scripted", lambda settings: ScriptedBackend(list(SCRIPTED_REPLIES)))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private OS1_HOME for one test, with no OS1_* settings leaking in."""
    import os

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
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Gemma 3 270M, assembled from its package once per test run."""
    return bundled_model_path(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def embedded(model_path: Path) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(model_path, context_window=2048)
    yield backend
    backend.close()
