"""The speech engines a voice WebSocket uses, built from the server's settings.

A recognizer and a VAD hold one stream's state, so each connection gets its own. A voice
(synthesizer) holds no state between phrases and is slow to load, so each voice is loaded
once and shared, its calls taking turns on a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from os1 import config
from os1.voice.listening import HesitationPolicy, SilencePolicy, TurnEndPolicy
from os1.voice.stt import Recognizer, create_recognizer
from os1.voice.tts import Synthesizer, create_synthesizer
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


def _path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


class SettingsVoiceEngines:
    def __init__(self, settings: config.Settings) -> None:
        self.voice = settings.values["voice"]
        self._lock = threading.Lock()
        self._voices: dict[str, Synthesizer] = {}

    def recognizer(self) -> Recognizer:
        return create_recognizer(self.voice["stt"], _path(self.voice["stt_model"]))

    def vad(self) -> VoiceActivityDetector:
        return SileroVAD()

    def synthesizer(self, persona_voice: str) -> Synthesizer:
        with self._lock:
            if persona_voice not in self._voices:
                loaded = create_synthesizer(
                    persona_voice, self.voice["tts"], _path(self.voice["tts_model"])
                )
                self._voices[persona_voice] = SharedSynthesizer(loaded)
            return self._voices[persona_voice]

    def policy(self) -> TurnEndPolicy:
        seconds = float(self.voice["end_silence_ms"]) / 1000
        if self.voice["turn_policy"] == "silence":
            return SilencePolicy(seconds)
        return HesitationPolicy(seconds=seconds)
