"""The first phrase of a reply begun in a pause, voiced ahead.

A reply begun while the user pauses (``os1.mind.speculation``) often has its first phrase
generated before the turn is known to be over. Synthesising that phrase then, too, means
its audio is ready the moment the turn ends: the voice's time to first audio (~0.1–0.2 s
with Piper on this CPU) is spent in the pause instead of after it. Nothing is played
until the reply is adopted; a dropped reply's audio is dropped with it.
"""

from __future__ import annotations

import threading

import numpy as np

from os1.mind.speculation import Speculation
from os1.voice.speaking import PhraseChunker
from os1.voice.tts import Synthesizer


class FirstPhrase:
    """Follows ``ahead`` on a thread until its first phrase, then synthesises it."""

    def __init__(self, ahead: Speculation, synthesizer: Synthesizer) -> None:
        self.ahead = ahead
        self.phrase: str | None = None
        self._audio: list[np.ndarray] = []
        self._synthesizer = synthesizer
        self._done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def audio_for(self, phrase: str) -> list[np.ndarray] | None:
        """The whole audio of ``phrase`` if it is the phrase voiced ahead, waiting for its
        synthesis to finish; None if it is another phrase or was not voiced."""
        if self.phrase is not None and self.phrase != phrase:
            return None
        self._done.wait()
        if self.phrase != phrase or not self._audio:
            return None
        return list(self._audio)

    def _run(self) -> None:
        try:
            chunker = PhraseChunker()
            first: list[str] = []
            for piece in self.ahead.follow():
                first = chunker.feed(piece)
                if first or self.ahead.cancel.cancelled:
                    break
            else:
                first = chunker.flush()
            if not first or self.ahead.cancel.cancelled:
                return
            self.phrase = first[0]
            for samples in self._synthesizer.synthesize(first[0]):
                if self.ahead.cancel.cancelled:
                    self._audio = []
                    return
                self._audio.append(samples)
        except Exception:  # the reply voices the phrase itself, and reports any failure
            self._audio = []
        finally:
            self._done.set()
