"""A scripted backend for tests: it replays given replies, token by token.

It is a stand-in, not a model. Tests use it where the real model's words do not matter;
integration tests run the real embedded model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from os1.domain import Prompt
from os1.llm.base import CancelToken, estimate_tokens, until_stop


class ScriptedBackend:
    name = "scripted"

    def __init__(
        self,
        replies: Sequence[str] = ("I'm here.",),
        context_window: int = 2048,
        token_delay_s: float = 0.0,
    ) -> None:
        self._replies = list(replies)
        self._next = 0
        self.context_window = context_window
        self.token_delay_s = token_delay_s
        self.prompts: list[Prompt] = []

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        self.prompts.append(prompt)
        reply = self._replies[self._next % len(self._replies)]
        self._next += 1
        return until_stop(self._replay(reply, prompt.max_tokens, cancel), prompt.stop)

    def _replay(self, reply: str, limit: int, cancel: CancelToken | None) -> Iterator[str]:
        for count, piece in enumerate(_pieces(reply)):
            if (cancel is not None and cancel.cancelled) or count >= limit:
                return
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            yield piece

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def close(self) -> None:
        pass


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
