"""The speech engines a voice WebSocket uses, built from the server's voice options.

A recognizer and a VAD hold one stream's state, so each connection gets its own. A voice
(synthesizer) holds no state between phrases and is slow to load, so each voice is loaded
once and shared, its calls taking turns on a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from os1.mind import assembly
from os1.options import VoiceOptions
from os1.voice.listening import TurnEndPolicy
from os1.voice.stt import Recognizer
from os1.voice.tts import Synthesizer
from os1.voice.vad import SileroVAD, VoiceActivityDetector


class VoiceEngines(Protocol):
    def recognizer(self) -> Recognizer: ...

    def vad(self) -> VoiceActivityDetector: ...

    def synthesizer(self, persona_voice: str) -> Synthesizer: ...

    def policy(self) -> TurnEndPolicy: ...


class SharedSynthesizer:
    """One voice used by every connection: whole phrases take turns."""

    def __init__(self, inner: Synthesizer) -> None:
        self.inner = inner
        self.name = inner.name
        self.sample_rate = inner.sample_rate
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        with self._lock:
            chunks = list(self.inner.synthesize(text))
        yield from chunks


class ConfiguredVoiceEngines:
    """The engines ``voice.*`` names, built as the command line builds them
    (``os1.mind.assembly``)."""

    def __init__(self, options: VoiceOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._voices: dict[str, Synthesizer] = {}

    def recognizer(self) -> Recognizer:
        return assembly.recognizer(self.options)

    def vad(self) -> VoiceActivityDetector:
        return SileroVAD()

    def synthesizer(self, persona_voice: str) -> Synthesizer:
        with self._lock:
            if persona_voice not in self._voices:
                loaded = assembly.synthesizer(self.options, persona_voice)
                self._voices[persona_voice] = SharedSynthesizer(loaded)
            return self._voices[persona_voice]

    def policy(self) -> TurnEndPolicy:
        return assembly.turn_policy(self.options)
