"""A reply begun before the user has surely finished speaking.

In a spoken conversation the turn only ends after a stretch of silence (the end-of-turn
window, 0.4–1.4 s). Waiting for it before starting the reply wastes that time, so when the
speaker pauses, the companion starts replying to what was heard so far, on its own
thread, and keeps what it generates. If the pause ends the turn with the same words, the
reply adopts it (``TurnRunner.run(..., ahead=...)``) and the first phrase is often ready
the moment the turn ends. If the speaker goes on, or the final transcript differs, the
speculation is abandoned: nothing of it was stored, said or shown.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

from os1.domain import Prompt
from os1.llm.base import CancelToken, LLMBackend


def same_words(a: str, b: str) -> bool:
    """Whether two transcripts say the same words (case and punctuation aside)."""
    return _words(a) == _words(b)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


class Speculation:
    """Generates a reply to ``text`` on a worker thread, keeping every piece, so that a
    later reader (``follow``) gets what was generated so far at once, then the rest live.

    ``build_prompt`` runs first on the worker thread and may use the store (recall, the
    recent turns); ``store_free`` is set once it has finished, so the caller knows when it
    may use the store again (a store is used by one thread at a time)."""

    def __init__(self, text: str, build_prompt: Callable[[], Prompt], backend: LLMBackend):
        self.text = text
        self.cancel = CancelToken()
        self.store_free = threading.Event()
        self._build_prompt = build_prompt
        self._backend = backend
        self._pieces: list[str] = []
        self._finished = False
        self._error: Exception | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def matches(self, text: str) -> bool:
        return same_words(self.text, text)

    def abandon(self) -> None:
        """Stop generating; what was generated is dropped."""
        self.cancel.cancel()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def generated(self) -> str:
        with self._changed:
            return "".join(self._pieces)

    def follow(self) -> Iterator[str]:
        """Every piece, from the first: those generated already, then each as it comes."""
        taken = 0
        while True:
            with self._changed:
                while taken >= len(self._pieces) and not self._finished:
                    self._changed.wait()
                if taken < len(self._pieces):
                    piece = self._pieces[taken]
                    taken += 1
                elif self._error is not None:
                    raise self._error
                else:
                    return
            yield piece

    def _run(self) -> None:
        try:
            try:
                prompt = self._build_prompt()
            finally:
                self.store_free.set()
            for piece in self._backend.stream(prompt, self.cancel):
                with self._changed:
                    self._pieces.append(piece)
                    self._changed.notify_all()
        except Exception as exc:  # the reader re-raises it, as if it had generated itself
            self._error = exc
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()
