"""The backend interface: stop sequences, cancellation, and the scripted test backend."""

from __future__ import annotations

from os1.domain import Prompt
from os1.llm.base import CancelToken, LLMBackend, StopScanner
from os1.llm.scripted import ScriptedBackend


def test_stop_scanner_catches_a_stop_split_across_pieces() -> None:
    scanner = StopScanner(("\nTheo:",))
    out = "".join(scanner.feed(p) for p in ["Hello", " there", "\nTh", "eo:", " more"])
    assert scanner.stopped
    assert out == "Hello there"


def test_stop_scanner_flushes_held_back_text() -> None:
    scanner = StopScanner(("STOP",))
    out = scanner.feed("abc") + scanner.flush()
    assert out == "abc"
    assert not scanner.stopped


def test_scripted_backend_streams_and_honours_stop_and_limit() -> None:
    backend = ScriptedBackend(["one two three\nUser: four"])
    assert isinstance(backend, LLMBackend)
    prompt = Prompt(completion="x", chat=(), stop=("\n",), max_tokens=10)
    assert "".join(backend.stream(prompt)) == "one two three"
    short = Prompt(completion="x", chat=(), max_tokens=2)
    assert "".join(backend.stream(short)) == "one two"


def test_cancel_token_stops_a_stream() -> None:
    backend = ScriptedBackend(["a b c d e f"])
    cancel = CancelToken()
    pieces = []
    for piece in backend.stream(Prompt(completion="x", chat=()), cancel):
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.cancel()
    assert "".join(pieces).split() == ["a", "b"]
