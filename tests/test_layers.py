"""Dependencies point inward: domain ← llm ← memory; voice ← mind ← skills ← evaluation,
server, cli. Skills see the mind only through its skill API.

Checked from the source's import statements, so a wrong import fails here rather than
in review."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

SRC = ROOT / "src" / "os1"
# What each layer may import from os1 (besides itself and the top-level modules).
ALLOWED = {
    "domain": set(),
    "llm": {"domain"},
    "memory": {"domain", "llm"},  # fact extraction can ask a model
    "voice": {"domain"},
    "mind": {"domain", "llm", "memory", "voice"},
    # Built-in skills come through the plugin door like third-party ones: never the
    # server's or the command line's internals (their routes and commands are plain data).
    "skills": {"domain", "llm", "memory", "mind"},
    "evaluation": {"domain", "llm", "memory", "mind", "skills"},
    "server": {"domain", "llm", "memory", "voice", "mind", "skills"},
    "cli": {"domain", "llm", "memory", "voice", "mind", "skills", "evaluation", "server"},
}
# What a skill may use of the mind: the skill API, and prompt templates.
SKILL_API = {"os1.mind.skill", "os1.mind.hookspecs", "os1.mind.templates"}
TOP_LEVEL = {"config", "options", "__init__"}
# The web framework is the server's business alone.
WEB_FRAMEWORK = {"starlette", "uvicorn"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "os1" and len(parts) > 1 and parts[1] not in TOP_LEVEL:
                found.add(parts[1])
    return found


def test_every_layer_imports_only_inward() -> None:
    wrong = []
    for layer, allowed in ALLOWED.items():
        for path in (SRC / layer).rglob("*.py"):
            for used in imported_layers(path) - allowed - {layer}:
                wrong.append(f"{path.relative_to(SRC)} imports os1.{used}")
    assert not wrong, wrong


def imported_names(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_skills_use_only_the_minds_skill_api() -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "skills").rglob("*.py")
        for name in imported_names(path)
        if name.startswith("os1.mind") and name not in SKILL_API
    ]
    assert not wrong, wrong


def test_the_mind_loads_skills_only_by_name() -> None:
    """Built-in skills are plugins: the mind never imports them (os1.mind.plugins names
    them as strings, as third-party ones are named by their entry points)."""
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "mind").rglob("*.py")
        for name in imported_names(path)
        if name.startswith("os1.skills")
    ]
    assert not wrong, wrong


def test_every_layer_is_listed() -> None:
    layers = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert layers == set(ALLOWED)


def test_only_the_server_imports_the_web_framework() -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] != "server"
        for name in imported_modules(path) & WEB_FRAMEWORK
    ]
    assert not wrong, wrong


# The PostgreSQL driver is the PostgreSQL backend's business alone, and the server's
# modules made for PostgreSQL (the account store, which uses the backend's pool, and
# presence over LISTEN/NOTIFY: server/*_pg.py).
DATABASE_DRIVER = {"psycopg", "psycopg_pool"}


def postgres_module(relative: Path) -> bool:
    name = relative.as_posix()
    return name.startswith("memory/storage/postgres/") or (
        name.startswith("server/")
        and (relative.stem.endswith("_pg") or relative.stem == "accounts_postgres")
    )


def test_only_the_postgresql_backend_imports_the_driver() -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in SRC.rglob("*.py")
        if not postgres_module(path.relative_to(SRC))
        for name in imported_modules(path) & DATABASE_DRIVER
    ]
    assert not wrong, wrong
    assert postgres_module(Path("server/presence_pg.py"))
    assert not postgres_module(Path("server/app.py"))


# The SQLite store's own modules; what both stores share lives in neutral ones (codec,
# columns, errors, search, protocol).
SQLITE_MODULES = {
    "os1.memory.storage.sqlite",
    "os1.memory.storage.sqlite_derived",
    "os1.memory.storage.sqlite_schema",
    "os1.memory.storage.sqlite_restore",
}


def test_the_postgresql_store_does_not_import_the_sqlite_store() -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "memory" / "postgres").rglob("*.py")
        for name in imported_names(path) & SQLITE_MODULES
    ]
    assert not wrong, wrong


def test_tests_mirror_the_source_tree() -> None:
    """A test folder names the package it tests (tests/mind for os1/mind, …), so a newcomer
    finds a module's tests where the module is; tests/support holds servers and fakes."""
    tests = ROOT / "tests"
    folders = {
        p.relative_to(tests)
        for p in tests.rglob("*")
        if p.is_dir() and p.name != "__pycache__" and p.relative_to(tests).parts[0] != "support"
    }
    wrong = [str(f) for f in folders if not (SRC / f).is_dir()]
    assert not wrong, wrong
