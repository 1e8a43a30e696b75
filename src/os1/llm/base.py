"""The interface every model backend implements.

A backend streams text for a ``Prompt``, honours its stop sequences, stops early when a
``CancelToken`` is set, and counts tokens so prompts can be fitted to a budget.

A capable model can also call tools: a ``ToolBackend`` streams text and ``ToolCall``s
together. Callers ask ``isinstance(backend, ToolBackend)``; wrappers such as the gate are
one exactly when what they wrap is, so the answer is always true to the model behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Iterator
from typing import Protocol, runtime_checkable

from os1.domain import Prompt, ToolCall


class BackendError(Exception):
    """A model backend failed; the message says what happened and how to fix it."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached or loaded at all."""


class CancelToken:
    """Set from any thread (a Ctrl-C handler, a barge-in) to stop a stream early."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@runtime_checkable
class LLMBackend(Protocol):
    name: str
    context_window: int

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        """Yield pieces of the reply as they are generated, never including a stop sequence."""

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class ToolBackend(LLMBackend, Protocol):
    """A backend whose model can call the tools in ``Prompt.tools``."""

    def stream_tools(
        self, prompt: Prompt, cancel: CancelToken | None = None
    ) -> Iterator[str | ToolCall]:
        """Yield text pieces as they are generated and each tool call once it is complete.

        A call's arguments are parsed from JSON; arguments that are not a JSON object give
        ``arguments={}`` with the model's text in ``malformed_arguments`` (never an error:
        the caller answers the call so the model can correct itself). A prompt without
        tools streams text only, as ``stream`` does. Stop sequences end the reply as in
        ``stream``: calls after a stop are not yielded, nor are calls left incomplete by a
        cancel.
        """


def preload(backend: LLMBackend) -> None:
    """Load a model that loads on first use (the embedded one) now, as a session opens, so
    the first turn the model answers does not wait ~0.55 s for it. A model that cannot be
    loaded is left for that turn to report, where the user sees it."""
    load = getattr(backend, "load", None)
    if callable(load):
        with contextlib.suppress(BackendError):
            load()


def preload_in_background(backend: LLMBackend) -> None:
    threading.Thread(target=preload, args=(backend,), name="os1-model-load", daemon=True).start()


class StopScanner:
    """Holds back just enough streamed text to catch a stop sequence split across tokens."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._keep = max((len(s) for s in self._stops), default=1) - 1
        self._buffer = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add a piece; return the text that is now safe to emit."""
        self._buffer += piece
        hits = [i for i in (self._buffer.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._buffer = self._buffer[: min(hits)], ""
            return out
        cut = max(len(self._buffer) - self._keep, 0)
        out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return out

    def flush(self) -> str:
        out, self._buffer = self._buffer, ""
        return out


def until_stop(pieces: Iterator[str], stops: tuple[str, ...]) -> Iterator[str]:
    """Pass ``pieces`` through, ending just before the first stop sequence.

    The source is closed as soon as a stop is seen, so a model stops generating at once.
    """
    items = until_stop_tools(pieces, stops)
    try:
        for item in items:
            if isinstance(item, str):
                yield item
    finally:
        items.close()


def until_stop_tools(
    items: Iterator[str] | Iterator[str | ToolCall], stops: tuple[str, ...]
) -> Generator[str | ToolCall, None, None]:
    """``until_stop`` for a stream of text and tool calls: the text before a tool call is
    flushed ahead of it (the call ends that text), and a stop ends everything."""
    scanner = StopScanner(stops)
    try:
        for item in items:
            if isinstance(item, ToolCall):
                rest = scanner.flush()
                if rest:
                    yield rest
                yield item
                continue
            out = scanner.feed(item)
            if out:
                yield out
            if scanner.stopped:
                return
        rest = scanner.flush()
        if rest:
            yield rest
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token in English)."""
    return max(1, (len(text) + 3) // 4) if text else 0
