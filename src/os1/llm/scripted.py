"""A scripted backend for tests and benchmarks: it replays given replies, token by token.

It is a stand-in, not a model. Tests use it where the real model's words do not matter;
integration tests run the real embedded model. The load benchmark runs the server with
``model.backend = "bench"``: scripted replies at a fixed pace (``bench_backend``), so what
it measures beyond that pace is OS1's own overhead.

A reply may also script tool calls (a ``ToolCall``, or a list of text and calls):
``ScriptedToolBackend`` is a ``ToolBackend`` and yields them as a capable model would.
``ScriptedBackend`` stands in for the embedded base model, which calls no tools (its
turns go through local intents), and leaves them out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from os1.domain import Prompt, ToolCall
from os1.llm.base import CancelToken, estimate_tokens, until_stop, until_stop_tools

# One scripted reply: text, a tool call, or text and tool calls in the order given.
Reply = str | ToolCall | Sequence[str | ToolCall]


class ScriptedBackend:
    name = "scripted"

    def __init__(
        self,
        replies: Sequence[Reply] = ("I'm here.",),
        context_window: int = 2048,
        token_delay_s: float = 0.0,
        first_token_delay_s: float | None = None,
        keep_prompts: bool = True,
    ) -> None:
        self._replies = list(replies)
        self._next = 0
        self.context_window = context_window
        self.token_delay_s = token_delay_s
        self.first_token_delay_s = (
            token_delay_s if first_token_delay_s is None else first_token_delay_s
        )
        # A long-running server keeps no prompts: they would pile up.
        self.keep_prompts = keep_prompts
        self.prompts: list[Prompt] = []

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        items = self._replay(self._reply(prompt), prompt.max_tokens, cancel)
        return until_stop((i for i in items if isinstance(i, str)), prompt.stop)

    def _reply(self, prompt: Prompt) -> list[str | ToolCall]:
        if self.keep_prompts:
            self.prompts.append(prompt)
        reply = self._replies[self._next % len(self._replies)]
        self._next += 1
        if isinstance(reply, str | ToolCall):
            return [reply]
        return list(reply)

    def _replay(
        self, reply: list[str | ToolCall], limit: int, cancel: CancelToken | None
    ) -> Iterator[str | ToolCall]:
        count = 0
        for part in reply:
            for item in [part] if isinstance(part, ToolCall) else _pieces(part):
                if (cancel is not None and cancel.cancelled) or count >= limit:
                    return
                delay = self.first_token_delay_s if count == 0 else self.token_delay_s
                if delay:
                    time.sleep(delay)
                count += 1
                yield item

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def close(self) -> None:
        pass


class ScriptedToolBackend(ScriptedBackend):
    """A scripted stand-in for a capable model: it calls the tools its replies script."""

    def stream_tools(
        self, prompt: Prompt, cancel: CancelToken | None = None
    ) -> Iterator[str | ToolCall]:
        items = self._replay(self._reply(prompt), prompt.max_tokens, cancel)
        return until_stop_tools(items, prompt.stop)


def _pieces(text: str) -> Iterator[str]:
    """Split like a tokenizer would: words with their leading space."""
    word = ""
    for ch in text:
        if ch.isspace() and word.strip():
            yield word
            word = ""
        word += ch
    if word:
        yield word


BENCH_WORD = " fine"


def parse_timing(spec: str) -> dict[str, int]:
    """``first_token_ms=20,token_ms=10,tokens=16`` (any may be left out) as numbers."""
    timing = {"first_token_ms": 20, "token_ms": 10, "tokens": 16}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in timing or not value.strip().isdigit():
            raise ValueError(
                f"bad bench model timing {part!r}: use first_token_ms=20,token_ms=10,tokens=16"
            )
        timing[key.strip()] = int(value)
    return timing


def timing_label(timing: dict[str, int]) -> str:
    return (
        f"scripted: fixed timing, first token {timing['first_token_ms']} ms, then "
        f"{timing['token_ms']} ms per token, {timing['tokens']} tokens"
    )


def bench_backend(spec: str) -> ScriptedBackend:
    """The benchmark's stand-in model: ``tokens`` words, the first after
    ``first_token_ms`` and each next one ``token_ms`` later (its own time is therefore
    first_token_ms + (tokens - 1) * token_ms)."""
    timing = parse_timing(spec)
    reply = "I'm" + BENCH_WORD * max(timing["tokens"] - 1, 0)
    backend = ScriptedBackend(
        [reply],
        token_delay_s=timing["token_ms"] / 1000,
        first_token_delay_s=timing["first_token_ms"] / 1000,
        keep_prompts=False,
    )
    backend.name = timing_label(timing)
    return backend


def create(timing: str) -> ScriptedBackend:
    """``model.backend = "bench"``: ``model.name`` holds the timing (see ``parse_timing``)."""
    return bench_backend(timing)
