"""The memory commands, end to end in-process (scripted model, real embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from os1.cli.main import cli
from tests.conftest import SCRIPTED_REPLIES


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def talk(*lines: str) -> None:
    for line in lines:
        code, out = run("ask", line)
        assert code == 0, out


def test_remember_list_search_show_edit_forget(scripted_home: Path) -> None:
    SCRIPTED_REPLIES[:] = [" Iris.", " Hello.", "I see."]
    run("setup", "--yes", "--name", "Theodore")
    talk("My sister Ann lives in Paris.", "I work as a letter writer.")

    code, out = run("memory", "list", "--json")
    facts = json.loads(out)
    sister = next(f for f in facts if f["text"] == "Theodore sister: Ann")
    assert sister["sources"]

    code, out = run("memory", "search", "Where", "is", "Ann?", "--json")
    hits = json.loads(out)
    assert "Ann lives in Paris" in hits[0]["text"]

    code, out = run("memory", "show", sister["id"])
    assert "My sister Ann lives in Paris." in out

    assert run("memory", "edit", sister["id"], "Anna")[0] == 0
    code, out = run("memory", "list", "--json")
    assert any(f["text"] == "Theodore sister: Anna" for f in json.loads(out))

    code, out = run("memory", "forget", sister["id"], "--yes")
    assert code == 0 and "Forgotten: 1 turns" in out
    code, out = run("memory", "search", "Ann", "Paris", "--json", "-k", "10")
    assert all("Paris" not in h["text"] for h in json.loads(out))
    code, out = run("memory", "list", "--json")
    assert all("Ann" not in f["text"] for f in json.loads(out))
    code, out = run("history", "--json")
    assert "Paris" not in out


def test_forget_asks_first(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    talk("My dog Max is sick.")
    code, out = run("memory", "forget", "t2", input="n\n")
    assert code == 1 and "Aborted" in out
    assert "Max" in run("history", "--json")[1]


def test_bad_memory_ids_are_explained(scripted_home: Path) -> None:
    run("setup", "--yes", "--name", "Theodore")
    code, out = run("memory", "show", "x9")
    assert code == 1 and "t12 (turn)" in out
    code, out = run("memory", "show", "f999")
    assert code == 1 and "No fact f999" in out


def test_export_then_import_into_a_new_home(
    scripted_home: Path, tmp_path: Path, monkeypatch: object
) -> None:
    import os

    run("setup", "--yes", "--name", "Theodore")
    talk("I moved to Santa Monica last month.")
    run("sleep")
    code, out = run("export", "--out", str(tmp_path / "out"))
    assert code == 0
    exported = (tmp_path / "out" / "os1-export.jsonl").read_text()
    assert "Santa Monica" in (tmp_path / "out" / "os1-export.md").read_text()

    os.environ["OS1_HOME"] = str(tmp_path / "second")
    code, out = run("import", str(tmp_path / "out" / "os1-export.jsonl"))
    assert code == 0, out
    run("export", "--out", str(tmp_path / "again"))
    assert (tmp_path / "again" / "os1-export.jsonl").read_text() == exported
    code, out = run("persona", "show", "--json")
    assert json.loads(out)["name"]


def test_capable_model_extracts_facts_as_json(home: Path) -> None:
    from tests.support.fake_openai_server import running

    reply = (
        '{"facts": [{"kind": "person", "subject": "Theodore", "predicate": '
        '"allergic to", "value": "cats", "importance": 0.8}]}'
    )
    with running(reply=reply, models=("fake-llm",)) as fake:
        run("model", "use", "fake-llm", "--url", f"{fake.url}/v1")
        run("config", "set", "memory.extract_with_model", "true")
        assert run("setup", "--yes", "--name", "Theodore")[0] == 0
        code, out = run("ask", "Cats make me sneeze all day.")
        assert code == 0
        code, out = run("memory", "list", "--json")
    assert any(f["text"] == "Theodore allergic to: cats" for f in json.loads(out))
