"""The real embedded model (Gemma 3 270M through llama.cpp), end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from os1.domain import Prompt
from os1.llm.base import BackendUnavailable, CancelToken
from os1.llm.embedded import BUNDLED_MODEL_FILE, EmbeddedBackend
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration

PREFIX = (
    "Samantha is an AI companion with a mind of her own, talking with Theodore. Samantha is "
    "warm and curious, and speaks in short, natural sentences.\n\n"
)


def transcript(*lines: str) -> Prompt:
    text = PREFIX + "".join(f"{line}\n" for line in lines) + "Samantha:"
    return Prompt(completion=text, chat=(), stop=("\n", "Theodore:"), max_tokens=40)


def test_streams_a_reply_and_stops_at_the_turn_boundary(embedded: EmbeddedBackend) -> None:
    pieces = list(embedded.stream(transcript("Theodore: Hi! What's your name?")))
    reply = "".join(pieces)
    assert reply.strip(), "the model said nothing"
    assert "\n" not in reply and "Theodore:" not in reply


def test_second_turn_reuses_the_cached_prefix(embedded: EmbeddedBackend) -> None:
    first = transcript("Theodore: Hi there.")
    reply = "".join(embedded.stream(first))
    second = transcript("Theodore: Hi there.", f"Samantha:{reply}", "Theodore: How are you?")
    list(embedded.stream(second))
    prefix_tokens = embedded.count_tokens(first.completion)
    assert embedded.last_reused_tokens >= prefix_tokens - 2


def test_cancellation_stops_generation(embedded: EmbeddedBackend) -> None:
    cancel = CancelToken()
    prompt = Prompt(
        completion=PREFIX + "Theodore: Tell me a long story.\nSamantha:", chat=(), max_tokens=200
    )
    pieces = []
    for piece in embedded.stream(prompt, cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.cancel()
    assert len(pieces) == 3


def test_count_tokens_uses_the_real_tokenizer(embedded: EmbeddedBackend) -> None:
    assert embedded.count_tokens("Hello") == 1
    assert 5 < embedded.count_tokens("The quick brown fox jumps over the lazy dog") < 15


def test_a_file_that_is_not_a_model_is_explained(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 100)
    backend = EmbeddedBackend(bogus)  # the model loads on first use
    with pytest.raises(BackendUnavailable, match="could not be loaded"):
        backend.load()
    prompt = Prompt(completion="Hello", chat=(), stop=(), max_tokens=4, temperature=0.0)
    with pytest.raises(BackendUnavailable, match="could not be loaded"):
        list(backend.stream(prompt))
    backend.close()  # nothing was loaded: nothing to close
    with pytest.raises(BackendUnavailable, match="does not exist"):
        EmbeddedBackend(tmp_path / "missing.gguf")


def _os1(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update(OS1_HOME=str(home), OS1_MODEL_BACKEND="embedded")
    return subprocess.run(
        [sys.executable, "-m", "os1", *args], env=env, capture_output=True, text=True, timeout=240
    )


def test_first_run_then_ask_then_stored_turn(tmp_path: Path, model_path: Path) -> None:
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    os.link(model_path, home / "models" / BUNDLED_MODEL_FILE)  # skip re-assembling 250 MB

    setup = _os1(home, "setup", "--yes", "--name", "Theodore", "--voice", "feminine")
    assert setup.returncode == 0, setup.stderr
    persona = json.loads(_os1(home, "persona", "show", "--json").stdout)
    name = persona["name"]
    assert name[0].isupper() and name != "Theodore"
    assert f"{name}: Hi Theodore. My name is {name}." in setup.stdout

    asked = _os1(home, "ask", "Hello, who are you?")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith(f"{name}: ")
    reply = asked.stdout.removeprefix(f"{name}: ").strip()
    assert reply

    turns = json.loads(_os1(home, "history", "--json").stdout)
    assert [t["text"] for t in turns[-2:]] == ["Hello, who are you?", reply]
    assert [t["role"] for t in turns[-2:]] == ["user", "companion"]
    assert turns[-1]["session_id"] == turns[-2]["session_id"]

    slept = _os1(home, "sleep")
    assert slept.returncode == 0, slept.stderr
    history = json.loads(_os1(home, "persona", "history", "--json").stdout)
    assert len(history) == 2
    entry = history[-1]["persona"]["journal"][-1]["text"]
    assert entry.startswith("Today Theodore ") and entry[-1] in ".!?"


def test_the_model_is_loaded_only_when_a_turn_needs_it(
    tmp_path: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn a local intent answers never waits for the model to load."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    os.link(model_path, home / "models" / BUNDLED_MODEL_FILE)
    assert _os1(home, "setup", "--yes", "--name", "Theodore").returncode == 0
    monkeypatch.setenv("OS1_HOME", str(home))
    monkeypatch.setenv("OS1_MODEL_BACKEND", "embedded")
    from os1.cli.runtime import Runtime
    from os1.mind.events import Done

    rt = Runtime()
    try:
        turns = rt.turns()
        backend = rt.backend
        assert isinstance(backend, EmbeddedBackend) and not backend.loaded
        done = [e for e in turns.run("What is your name?") if isinstance(e, Done)]
        assert done and done[0].reply.strip()
        assert not backend.loaded  # the name came from the persona, not from the model
        done = [e for e in turns.run("I had a long day at work.") if isinstance(e, Done)]
        assert done and backend.loaded
    finally:
        rt.close()


def test_preload_loads_through_the_gate_and_leaves_errors_to_the_turn(
    tmp_path: Path, model_path: Path
) -> None:
    from os1.llm.base import preload
    from os1.llm.gate import GatedBackend, ModelGate

    backend = EmbeddedBackend(model_path, context_window=512)
    try:
        preload(GatedBackend(backend, ModelGate(1, 4)))
        assert backend.loaded
    finally:
        backend.close()
    assert not backend.loaded
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 100)
    broken = EmbeddedBackend(bogus)
    preload(broken)  # no error here: the turn that needs the model reports it
    assert not broken.loaded
    with pytest.raises(BackendUnavailable, match="could not be loaded"):
        broken.load()


LOCOMO = ROOT.parent / "shared" / "benchdata" / "locomo" / "locomo-dev.json"


@pytest.mark.skipif(not LOCOMO.exists(), reason="../shared/benchdata is not beside the repo")
def test_locomo_recall_on_one_real_conversation(tmp_path: Path) -> None:
    """The real harness on the first dev conversation: recall stays well above BM25."""
    env_home = tmp_path / "home"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "os1",
            "eval",
            "locomo",
            "--data",
            str(LOCOMO),
            "--limit",
            "1",
            "--json",
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("OS1_")},
            "OS1_HOME": str(env_home),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] > 100
    assert set(report["by_category"]) == {"multi-hop", "temporal", "open-domain", "single-hop"}
    ours, bm25 = report["overall"]["recall@10"], report["baseline_bm25"]["overall"]["recall@10"]
    assert ours >= 0.75 and ours > bm25 + 0.1


def test_two_first_runs_at_once_both_get_the_model(tmp_path: Path) -> None:
    """Two processes assembling the bundled model at once (two evals, a server and a chat)
    each write their own partial file: neither renames the other's away."""
    from concurrent.futures import ThreadPoolExecutor

    from os1.llm.embedded import bundled_model_path

    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda _: bundled_model_path(tmp_path), range(2)))
    assert paths[0] == paths[1] == tmp_path / BUNDLED_MODEL_FILE
    assert [p.name for p in tmp_path.iterdir()] == [BUNDLED_MODEL_FILE]
