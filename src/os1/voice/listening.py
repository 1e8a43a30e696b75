"""Hearing the user: voice activity, streaming transcription and the end of a turn.

AudioIn → SpeechDetector → Transcriber → TurnDetector
          SpeechStarted    PartialTranscript  FinalTranscript
          SpeechStopped
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from os1.voice.frames import (
    AudioIn,
    FinalTranscript,
    Frame,
    PartialTranscript,
    Samples,
    SpeechStarted,
    SpeechStopped,
)
from os1.voice.stt import Recognizer
from os1.voice.vad import VoiceActivityDetector


class SpeechDetector:
    """Voice activity with hysteresis: speech starts after ``start_ms`` of frames above
    ``threshold`` and stops after ``stop_ms`` below ``threshold - 0.15``. Audio passes on
    unchanged, cut into the detector's frame size."""

    def __init__(
        self,
        vad: VoiceActivityDetector,
        threshold: float = 0.5,
        start_ms: float = 64.0,
        stop_ms: float = 160.0,
    ) -> None:
        self.vad = vad
        self.threshold = threshold
        self.frame_s = vad.frame_samples / vad.sample_rate
        self.start_frames = max(1, round(start_ms / 1000 / self.frame_s))
        self.stop_frames = max(1, round(stop_ms / 1000 / self.frame_s))
        self.speaking = False
        self._buffer: Samples = np.zeros(0, np.float32)
        self._buffer_at = 0.0
        self._run = 0  # consecutive frames on the other side of the threshold
        self._first_voiced = 0.0
        self._last_voiced_end = 0.0

    def process(self, frame: Frame) -> Iterable[Frame]:
        if not isinstance(frame, AudioIn):
            return [frame]
        if not len(self._buffer):
            self._buffer_at = frame.at
        self._buffer = np.concatenate([self._buffer, frame.samples])
        out: list[Frame] = []
        size = self.vad.frame_samples
        while len(self._buffer) >= size:
            chunk, self._buffer = self._buffer[:size], self._buffer[size:]
            at = self._buffer_at
            self._buffer_at += self.frame_s
            judged = self._judge(self.vad.speech_probability(chunk), at)
            # Speech that starts began before this chunk (at the first voiced one): it
            # goes first, so the turn detector never ends the turn on a chunk that the
            # transcriber has already taken as speech resumed (then lost: on the shared
            # speech set 2.5 s of one clip and 1.5 s of another went undecoded so).
            starts = [f for f in judged if isinstance(f, SpeechStarted)]
            out += [*starts, AudioIn(chunk, at), *(f for f in judged if f not in starts)]
        return out

    def _judge(self, probability: float, at: float) -> list[Frame]:
        voiced = probability >= (self.threshold - 0.15 if self.speaking else self.threshold)
        if voiced:
            self._last_voiced_end = at + self.frame_s
        if voiced != self.speaking:
            if self._run == 0:
                self._first_voiced = at
            self._run += 1
        else:
            self._run = 0
        if not self.speaking and self._run >= self.start_frames:
            self.speaking, self._run = True, 0
            return [SpeechStarted(self._first_voiced)]
        if self.speaking and self._run >= self.stop_frames:
            self.speaking, self._run = False, 0
            return [SpeechStopped(self._last_voiced_end)]
        return []

    def reset(self) -> None:
        self.vad.reset()
        self.speaking, self._run = False, 0
        self._buffer = np.zeros(0, np.float32)


@runtime_checkable
class FinishesEarly(Protocol):
    """A recognizer that can start its final decoding during a pause (see PocketSphinx)."""

    def prefinish(self) -> None: ...

    def resume(self) -> None: ...

    def early_result(self, wait: bool = True) -> str | None: ...


class Transcriber:
    """Streams speech into the recognizer from a little before it started (``pre_roll_ms``,
    so the first syllable is not lost) and emits partial transcripts as they change.

    With a recognizer that finishes early, a pause starts the final pass at once, and the
    live pass is held: the pause's audio waits in ``_held`` and is decoded only if speech
    resumes. Decoding silence costs a live pass about a fifth of a core, which the final
    pass and the reply begun in the pause need more (2 cores). The final pass's words are
    shown as a partial transcript once they are ready, in the pause (Whisper's live words
    lag the speech; these are what the turn's end is judged on)."""

    def __init__(self, recognizer: Recognizer, pre_roll_ms: float = 300.0) -> None:
        self.recognizer = recognizer
        self.pre_roll_s = pre_roll_ms / 1000
        self.listening = False
        self._recent: deque[AudioIn] = deque()
        self._held: list[AudioIn] | None = None
        self._shown = ""  # the last partial transcript emitted

    def early_result(self, wait: bool = True) -> str | None:
        """The final words of what was said before the current pause (waiting for them
        unless ``wait`` is false); None if the recognizer cannot finish early or has none."""
        if isinstance(self.recognizer, FinishesEarly):
            return self.recognizer.early_result(wait)
        return None

    def process(self, frame: Frame) -> Iterable[Frame]:
        out: list[Frame] = [frame]
        if isinstance(frame, AudioIn):
            if self.listening and self._held is not None:
                self._held.append(frame)
                out.extend(self._early_partial(frame.at))
            elif self.listening:
                out.extend(self._feed(frame))
            else:
                self._recent.append(frame)
                while self._recent and self._recent[0].at < frame.at - self.pre_roll_s:
                    self._recent.popleft()
        elif isinstance(frame, SpeechStarted) and not self.listening:
            self.listening = True
            self._shown = ""
            self.recognizer.start()
            for earlier in self._recent:
                out.extend(self._feed(earlier))
            self._recent.clear()
        elif isinstance(frame, SpeechStarted) and isinstance(self.recognizer, FinishesEarly):
            self.recognizer.resume()
            held, self._held = self._held or [], None
            for earlier in held:
                out.extend(self._feed(earlier))
        elif (
            isinstance(frame, SpeechStopped)
            and self.listening
            and isinstance(self.recognizer, FinishesEarly)
        ):
            self.recognizer.prefinish()
            self._held = []
        return out

    def _feed(self, frame: AudioIn) -> list[Frame]:
        partial = self.recognizer.feed(frame.samples)
        if not partial or partial == self._shown:
            return []
        self._shown = partial
        return [PartialTranscript(partial, frame.at)]

    def _early_partial(self, at: float) -> list[Frame]:
        early = self.early_result(wait=False)
        if not early or early == self._shown:
            return []
        self._shown = early
        return [PartialTranscript(early, at)]

    def finish(self) -> str:
        """The final transcript of the utterance; listening stops until speech starts again."""
        self.listening = False
        self._held = None
        return self.recognizer.finish().strip()


class TurnEndPolicy(Protocol):
    def silence_needed(self, partial: str) -> float:
        """Seconds of silence after which the user is taken to have finished, given what
        they have said so far."""


@dataclass(frozen=True)
class SilencePolicy:
    """The turn ends after a fixed silence."""

    seconds: float = 0.6

    def silence_needed(self, partial: str) -> float:
        return self.seconds


_PUNCTUATION = re.compile(r"[^\w\s']+")
_TRAILING = re.compile(
    r"\b(and|but|so|or|because|um+|uh+|er|the|a|an|to|of|with|my|i|if|then|like|that)\s*$"
)


@dataclass(frozen=True)
class HesitationPolicy:
    """Waits longer when the words so far cannot end a sentence ("…and", "…um", "…the"),
    and less after a short, complete-sounding reply such as "yes" or "thank you"."""

    seconds: float = 0.6
    hesitant: float = 1.4
    brief: float = 0.4

    def silence_needed(self, partial: str) -> float:
        # Whisper's words come punctuated ("But I...", "and,"): the words decide.
        text = _PUNCTUATION.sub(" ", partial.lower()).strip()
        if _TRAILING.search(text):
            return self.hesitant
        if 0 < len(text.split()) <= 2:
            return self.brief
        return self.seconds


class TurnDetector:
    """Ends the user's turn once speech has stopped for as long as the policy asks, then
    asks the transcriber for the final transcript. An empty transcript (a cough, a door)
    ends nothing."""

    def __init__(self, transcriber: Transcriber, policy: TurnEndPolicy | None = None) -> None:
        self.transcriber = transcriber
        self.policy: TurnEndPolicy = policy or SilencePolicy()
        self.partial = ""
        self._stopped_at: float | None = None

    def process(self, frame: Frame) -> Iterable[Frame]:
        out: list[Frame] = [frame]
        if isinstance(frame, SpeechStarted):
            self._stopped_at = None
        elif isinstance(frame, SpeechStopped):
            self._stopped_at = frame.at
        elif isinstance(frame, PartialTranscript):
            self.partial = frame.text
        elif isinstance(frame, AudioIn) and self._stopped_at is not None:
            now = frame.at + len(frame.samples) / 16_000
            if now - self._stopped_at >= self.policy.silence_needed(self.partial):
                out.extend(self.end_turn(now))
        return out

    def end_turn(self, now: float) -> list[Frame]:
        """End the turn now (also called when the input ends mid-silence)."""
        if not self.transcriber.listening:
            return []
        speech_end = self._stopped_at if self._stopped_at is not None else now
        self._stopped_at = None
        self.partial = ""
        text = self.transcriber.finish()
        return [FinalTranscript(text, speech_end, now)] if text else []
