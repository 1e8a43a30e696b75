"""Speech recognition engines behind one streaming interface.

PocketSphinx is the embedded default: its en-us model ships inside the pocketsphinx wheel and it
decodes incrementally, so partial hypotheses can be shown while the user speaks. The Whisper
engines are more accurate but optional; they need a model file the user already has.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from os1.voice.audio import SAMPLE_RATE, Audio, resample, to_pcm16
from os1.voice.errors import EngineUnavailable, VoiceError

# A lower language-model weight for the second (flat-lexicon) search pass than the default 8.5:
# 48.2% WER instead of 49.1% over 55 real clips at the same CPU cost (docs/voice-engines.md).
# Only general decoder settings were tried; none was fitted to the clips' text.
POCKETSPHINX_SETTINGS: dict[str, Any] = {"fwdflatlw": 7.0}


class Recognizer(Protocol):
    name: str
    sample_rate: int

    def start(self) -> None:
        """Begin a new utterance, discarding anything fed before."""

    def feed(self, samples: np.ndarray) -> str | None:
        """Add float32 mono samples; return the partial hypothesis if it changed, else None."""

    def finish(self) -> str:
        """End the utterance and return the final transcript of everything fed since start()."""


def _find_pocketsphinx_model(model_dir: Path) -> dict[str, str]:
    """Locate acoustic model, language model and dictionary in a model directory."""
    if not model_dir.is_dir():
        raise VoiceError(f"PocketSphinx model directory {model_dir} does not exist")
    acoustic = next((p.parent for p in sorted(model_dir.rglob("mdef"))), None)
    language = next(
        (p for pattern in ("*.lm.bin", "*.lm", "*.arpa") for p in sorted(model_dir.glob(pattern))),
        None,
    )
    dictionary = next(iter(sorted(model_dir.glob("*.dict"))), None)
    if acoustic is None or language is None or dictionary is None:
        raise VoiceError(
            f"{model_dir} is not a PocketSphinx model: it needs an acoustic model folder "
            "(with mdef), a language model (*.lm.bin, *.lm or *.arpa) and a dictionary (*.dict)"
        )
    return {"hmm": str(acoustic), "lm": str(language), "dict": str(dictionary)}


class PocketSphinxRecognizer:
    """CMU PocketSphinx 5 with its bundled US English model, decoding as audio arrives.

    Partial hypotheses come from a live decode. Live decoding has to normalise the audio
    (cepstral mean) from a guess and the audio so far, which costs accuracy: 53.9% WER against
    48.2% with the whole utterance known. So by default finish() decodes the utterance once more
    with its true mean (``final_pass``); that adds about 0.3 s per second of speech after the
    user stops speaking. Turn it off where latency matters more than accuracy.
    """

    name = "pocketsphinx"
    sample_rate = SAMPLE_RATE

    def __init__(
        self, model_dir: Path | None = None, final_pass: bool = True, **settings: Any
    ) -> None:
        try:
            import pocketsphinx
        except ImportError as exc:
            raise EngineUnavailable(
                "PocketSphinx is not installed; install it with: pip install pocketsphinx"
            ) from exc
        config: dict[str, Any] = {"loglevel": "FATAL", **POCKETSPHINX_SETTINGS, **settings}
        if model_dir is not None:
            config.update(_find_pocketsphinx_model(Path(model_dir)))
        try:
            self._decoder: Any = pocketsphinx.Decoder(**config)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise VoiceError(f"PocketSphinx could not load its model: {exc}") from exc
        self.final_pass = final_pass
        self._config = config
        self._in_utterance = False
        self._partial = ""
        self._pcm: list[bytes] = []
        # The final pass started early, while the speaker paused (see prefinish).
        self._early: _FinalPass | None = None
        self._early_decoder: Any = None

    def start(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._in_utterance = True
        self._partial = ""
        self._pcm = []
        self._early = None

    def prefinish(self) -> None:
        """The speaker paused: start the final pass now, on a second decoder in the
        background, over what was said so far. If the pause ends the turn, finish() takes
        its result instead of decoding after the end-of-turn silence; if speech resumes,
        call resume() and the early result is dropped."""
        if not (self.final_pass and self._pcm and self._in_utterance):
            return
        if self._early is not None and not self._early.done.is_set():
            self._early = None  # one at a time; finish() falls back to its own pass
            return
        if self._early_decoder is None:
            import pocketsphinx

            self._early_decoder = pocketsphinx.Decoder(**self._config)
        self._early = _FinalPass(self._early_decoder, b"".join(self._pcm))

    def resume(self) -> None:
        """Speech went on after a pause: an early final pass no longer covers it."""
        self._early = None

    def early_result(self) -> str | None:
        """The early final pass's transcript, waiting for it to finish; None if none."""
        early = self._early
        return early.result().strip() if early is not None else None

    def feed(self, samples: np.ndarray) -> str | None:
        if not self._in_utterance:
            self.start()
        if len(samples) == 0:
            return None
        pcm = to_pcm16(samples)
        if self.final_pass:
            self._pcm.append(pcm)
        self._decoder.process_raw(pcm, False, False)
        hypothesis = self._decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        if text == self._partial:
            return None
        self._partial = text
        return text

    def finish(self) -> str:
        if not self._in_utterance:
            return ""
        self._decoder.end_utt()
        self._in_utterance = False
        early, self._early = self._early, None
        if early is not None:
            self._pcm = []
            return early.result()
        if self.final_pass and self._pcm:
            # The live pass leaves noise and cepstral-mean estimates behind; the second pass
            # must start clean or it inherits them (measured: 50.6% WER instead of 48.9%).
            self._decoder.reinit_feat()
            self._decoder.start_utt()
            self._decoder.process_raw(b"".join(self._pcm), False, True)
            self._decoder.end_utt()
            self._pcm = []
        hypothesis = self._decoder.hyp()
        return str(hypothesis.hypstr) if hypothesis is not None else ""


class _FinalPass:
    """A whole-utterance decode on its own thread (pocketsphinx releases the GIL)."""

    def __init__(self, decoder: Any, pcm: bytes) -> None:
        self.done = threading.Event()
        self._text = ""
        self._decoder = decoder
        self._pcm = pcm
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self._decoder.reinit_feat()
            self._decoder.start_utt()
            self._decoder.process_raw(self._pcm, False, True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
            self._text = str(hypothesis.hypstr) if hypothesis is not None else ""
        finally:
            self.done.set()

    def result(self) -> str:
        self.done.wait()
        return self._text


def _require_model_file(model_path: Path, engine: str) -> Path:
    path = Path(model_path).expanduser()
    if not path.exists():
        raise VoiceError(
            f"{engine} model {path} does not exist; give the path of a model you have "
            "downloaded (OS1 never downloads models by itself)"
        )
    return path


class _BufferingRecognizer:
    """Collects audio during feed() and decodes the whole utterance in finish()."""

    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []

    def start(self) -> None:
        self._chunks = []

    def feed(self, samples: np.ndarray) -> str | None:
        self._chunks.append(np.asarray(samples, dtype=np.float32).reshape(-1))
        return None

    def _take_audio(self) -> np.ndarray:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        self._chunks = []
        return audio


class FasterWhisperRecognizer(_BufferingRecognizer):
    """Whisper through faster-whisper (CTranslate2); ``model_path`` is a converted model folder."""

    name = "faster-whisper"

    def __init__(self, model_path: Path, compute_type: str = "int8") -> None:
        super().__init__()
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable(
                "the faster-whisper engine is not installed; install it with: "
                "pip install faster-whisper"
            ) from exc
        path = _require_model_file(model_path, self.name)
        self._model: Any = WhisperModel(str(path), device="cpu", compute_type=compute_type)

    def finish(self) -> str:
        audio = self._take_audio()
        if len(audio) == 0:
            return ""
        segments, _ = self._model.transcribe(audio, language="en", beam_size=5)
        return " ".join(segment.text.strip() for segment in segments).strip()


class WhisperCppRecognizer(_BufferingRecognizer):
    """Whisper through whisper.cpp (pywhispercpp); ``model_path`` is a ggml .bin model file."""

    name = "whisper-cpp"

    def __init__(self, model_path: Path) -> None:
        super().__init__()
        try:
            from pywhispercpp.model import Model
        except ImportError as exc:
            raise EngineUnavailable(
                "the whisper.cpp engine is not installed; install it with: pip install pywhispercpp"
            ) from exc
        path = _require_model_file(model_path, self.name)
        self._model: Any = Model(str(path), redirect_whispercpp_logs_to=None)

    def finish(self) -> str:
        audio = self._take_audio()
        if len(audio) == 0:
            return ""
        segments = self._model.transcribe(audio, language="en")
        return " ".join(segment.text.strip() for segment in segments).strip()


def transcribe(recognizer: Recognizer, audio: Audio, chunk_s: float = 0.1) -> str:
    """Stream ``audio`` through ``recognizer`` in ``chunk_s`` pieces and return the transcript."""
    samples = audio.samples
    if audio.sample_rate != recognizer.sample_rate:
        samples = resample(samples, audio.sample_rate, recognizer.sample_rate)
    step = max(1, round(chunk_s * recognizer.sample_rate))
    recognizer.start()
    for offset in range(0, len(samples), step):
        recognizer.feed(samples[offset : offset + step])
    return recognizer.finish()


_ENGINE_ALIASES = {
    "pocketsphinx": "pocketsphinx",
    "sphinx": "pocketsphinx",
    "faster-whisper": "faster-whisper",
    "faster_whisper": "faster-whisper",
    "whisper-cpp": "whisper-cpp",
    "whisper.cpp": "whisper-cpp",
    "whispercpp": "whisper-cpp",
    "whisper_cpp": "whisper-cpp",
}


def create_recognizer(engine: str = "pocketsphinx", model_path: Path | None = None) -> Recognizer:
    """Build a recognizer by engine name: pocketsphinx, faster-whisper or whisper-cpp."""
    canonical = _ENGINE_ALIASES.get(engine.strip().lower())
    if canonical is None:
        raise VoiceError(
            f"unknown speech recognition engine {engine!r}; "
            "choose pocketsphinx, faster-whisper or whisper-cpp"
        )
    if canonical == "pocketsphinx":
        return PocketSphinxRecognizer(model_path)
    if model_path is None:
        raise VoiceError(f"the {canonical} engine needs the path of a model file")
    if canonical == "faster-whisper":
        return FasterWhisperRecognizer(model_path)
    return WhisperCppRecognizer(model_path)
