"""Speaking the reply: cut the token stream into phrases, voice them, play them in short
blocks that can stop at once, and remember how much was actually heard."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from os1.voice.frames import ReplyAudio, Samples

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_PAUSE = re.compile(r"[,;:—–]\s")


class PhraseChunker:
    """Cuts streamed reply text into phrases worth voicing on their own.

    The first phrase is cut early, at the first pause after a few words, because the user
    is waiting for it; later phrases are whole sentences, which sound more natural.
    """

    def __init__(self, first_min_words: int = 2, first_max_words: int = 6) -> None:
        self.first_min_words = first_min_words
        self.first_max_words = first_max_words
        self._text = ""
        self._emitted = 0

    def feed(self, piece: str) -> list[str]:
        self._text += piece
        phrases = []
        while (phrase := self._next()) is not None:
            phrases.append(phrase)
        return phrases

    def flush(self) -> list[str]:
        rest, self._text = self._text.strip(), ""
        return [rest] if rest else []

    def _next(self) -> str | None:
        cut = None
        if end := _SENTENCE_END.search(self._text):
            cut = end.end()
        if self._emitted == 0:
            words = self._text.split()
            pause = _PAUSE.search(self._text)
            if pause and len(self._text[: pause.end()].split()) >= self.first_min_words:
                cut = min(cut or pause.end(), pause.end())
            elif cut is None and len(words) > self.first_max_words:
                # No punctuation yet: cut after the first few words, on a word boundary.
                cut = len(" ".join(words[: self.first_max_words])) + (
                    len(self._text) - len(self._text.lstrip())
                )
        if cut is None:
            return None
        phrase, self._text = self._text[:cut].strip(), self._text[cut:]
        if not phrase:
            return None
        self._emitted += 1
        return phrase


class AudioSink(Protocol):
    sample_rate: int

    def write(self, samples: Samples) -> None:
        """Play (or store) ``samples``; a device blocks until there is room for them."""


class FileSink:
    """Collects everything played, for writing to a file."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.blocks: list[Samples] = []

    def write(self, samples: Samples) -> None:
        self.blocks.append(samples.copy())

    def audio(self) -> Samples:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)


class RealTimeSink:
    """Takes audio at the pace a speaker would play it (for tests and benchmarks, where no
    sound device exists): each write returns when its samples would have been heard."""

    def __init__(self, sample_rate: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.sample_rate = sample_rate
        self._clock = clock
        self._free_at = 0.0
        self.played = 0

    def write(self, samples: Samples) -> None:
        now = self._clock()
        self._free_at = max(self._free_at, now) + len(samples) / self.sample_rate
        time.sleep(max(0.0, self._free_at - self._clock()))
        self.played += len(samples)


class Playback:
    """Plays phrases through a sink in blocks of ``block_ms``, so ``stop()`` (from any
    thread) takes effect within one block, and keeps count of what was heard."""

    def __init__(self, sink: AudioSink, block_ms: float = 20.0) -> None:
        self.sink = sink
        self.block = max(1, int(sink.sample_rate * block_ms / 1000))
        self._stop = threading.Event()
        self._heard: list[tuple[str, float]] = []  # (phrase, fraction played)
        self.first_audio_at: float | None = None
        self.stopped_at: float | None = None
        # When the last block before the stop finished: sound really ended there.
        self.halted_at: float | None = None

    def play(self, audio: ReplyAudio) -> bool:
        """Play one phrase; False if playback was stopped before its end."""
        samples = audio.samples
        if audio.sample_rate != self.sink.sample_rate:
            from os1.voice.audio import resample

            samples = resample(samples, audio.sample_rate, self.sink.sample_rate)
        self._heard.append((audio.text, 0.0))
        total = max(len(samples), 1)
        for start in range(0, len(samples), self.block):
            if self._stop.is_set():
                self.halted_at = time.perf_counter()
                return False
            if self.first_audio_at is None:
                self.first_audio_at = time.perf_counter()
            self.sink.write(samples[start : start + self.block])
            self._heard[-1] = (audio.text, min(1.0, (start + self.block) / total))
        if self._stop.is_set():
            self.halted_at = time.perf_counter()
            return False
        return True

    def stop(self) -> None:
        if not self._stop.is_set():
            self.stopped_at = time.perf_counter()
            self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def spoken(self) -> str:
        """What the listener heard: whole phrases, and of a phrase cut off, the words
        whose share of its audio had played."""
        parts = []
        for text, fraction in self._heard:
            words = text.split()
            heard = words if fraction >= 1.0 else words[: int(len(words) * fraction)]
            if heard:
                parts.append(" ".join(heard))
        return " ".join(parts)
