"""Whisper (through faster-whisper / CTranslate2) as a streaming recognizer that keeps pace.

Whisper decodes a whole piece of audio at once, so to have the final words when the turn
ends, the utterance is decoded in the user's pauses (``WhisperRecognizer``): at each pause
(a VAD sub-pause, ``prefinish``) the audio since the last cut is decoded in the background.
If the turn ends there, those are the final words, ready before the end-of-turn silence is
over; if speech goes on, a piece of at least ``COMMIT_S`` is kept as final (a cut), so at
the end of a long turn only the tail is new (shorter pieces are decoded again with what
follows: the encoder's window makes that nearly free). Pieces are decoded on their own: with the
words before them as the prompt, Whisper sometimes skipped the piece's first sentence, and
on 19 clips of the shared speech set, cut at their pauses, WER was no better (34 errors
in 303 words either way). Partial words while the user speaks come from a cheap live pass.

Whisper's encoder takes a 30 s window whatever the audio's length; CTranslate2 accepts a
shorter one, and the encoder's cost falls with it: a 5 s clip decoded in ~1.1 s on the full
window, ~0.45 s on a 10 s one (1 thread, a busy 2-core box). Short windows can make the
decoder repeat the sentence in a loop (6 of the 55 clips of the shared speech set at the
audio's length + 1 s, 1 at 10 s, none at 15 s), so the window is at least ``MIN_WINDOW_S``
and output that looks like a loop is decoded again on the full window. WER on the 55 clips,
each decoded whole: 8.3% so (73 errors in 877 words), 8.7% on 15 s windows, 8.9% on 30 s.
"""

from __future__ import annotations

import importlib
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from os1.voice.audio import SAMPLE_RATE
from os1.voice.errors import EngineUnavailable, VoiceError

if TYPE_CHECKING:
    from os1.voice.stt import Recognizer

# See the module docstring: the shortest encoder window that loops rarely (10 s of 30).
MIN_WINDOW_S = 10.0
FULL_WINDOW_S = 30.0
_FRAMES_PER_S = 100  # Whisper's mel frames: one every 10 ms
# Whisper's own test for a decode stuck repeating itself (gzip compression ratio).
LOOP_RATIO = 2.4
# Whisper's no-speech rule: a likely silent window decoded with low confidence is empty.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# English speech runs ~3 words, ~4-5 tokens, a second; more than this is a loop (the
# sentence again and again), then decoded again on the full window.
_TOKENS_PER_S = 8
# Peak amplitude under which audio is taken as digital silence (1 in 16-bit PCM is 3e-5).
DIGITAL_SILENCE = 1e-4
# A piece shorter than this is not cut off at a pause: it is decoded again with what
# follows, so most turns are decoded whole. A piece of up to ~9 s costs the encoder no
# more than a short one (both take the MIN_WINDOW_S window), and on its own Whisper
# guesses more: stt_wer_conversation on the shared speech set was 0.108 cutting at 2 s,
# 0.091 at 8 s (each clip decoded whole: 0.079).
COMMIT_S = 8.0


def default_threads() -> int:
    """One core fewer than the machine has (at least one, at most four), leaving the
    model's thread its core (os1.llm.embedded explains why threads that take every core
    stall). Two threads on 2 cores gained 15 ms at the median in time to final words."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class WhisperDecoder:
    """One loaded Whisper model: int8, greedy (beam 1), English. Shared by every
    recognizer in the process (``load_decoder``); decodes take turns on a lock."""

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        try:
            import faster_whisper
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens
        except ImportError as exc:
            raise EngineUnavailable(
                "the Whisper engine needs faster-whisper; install it with: "
                "pip install faster-whisper==1.2.1 (or set voice.stt = pocketsphinx)"
            ) from exc
        path = Path(model_dir).expanduser()
        if not (path / "model.bin").is_file():
            raise VoiceError(
                f"{path} is not a CTranslate2 Whisper model folder (no model.bin); give a "
                "converted model you have (OS1 never downloads models by itself)"
            )
        self.threads = threads or default_threads()
        try:
            self._model: Any = faster_whisper.WhisperModel(
                str(path), device="cpu", compute_type="int8", cpu_threads=self.threads
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise VoiceError(f"the Whisper model in {path} could not be loaded: {exc}") from exc
        self._tokenizer: Any = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        self._suppress = get_suppressed_tokens(self._tokenizer, (-1,))
        # faster-whisper's own dependency, untyped: the encoder takes its features as one.
        self._storage_view: Any = importlib.import_module("ctranslate2").StorageView
        self._lock = threading.Lock()

    def decode(self, samples: np.ndarray) -> str:
        """The words in 16 kHz float32 ``samples``."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if len(samples) == 0 or float(np.max(np.abs(samples))) < DIGITAL_SILENCE:
            return ""  # Whisper guesses words ("Thank you.") in digital silence
        seconds = len(samples) / SAMPLE_RATE
        with self._lock:
            if seconds > FULL_WINDOW_S - 1:
                return self._long(samples)
            window = min(FULL_WINDOW_S, max(MIN_WINDOW_S, seconds + 1))
            text, capped = self._window(samples, window)
            if window < FULL_WINDOW_S and (capped or _loops(text)):
                text, _ = self._window(samples, FULL_WINDOW_S)
            return text

    def _window(self, samples: np.ndarray, window_s: float) -> tuple[str, bool]:
        """The words decoded on a ``window_s`` encoder window, and whether the decoder
        was stopped by the length cap (a loop) rather than ending by itself."""
        frames = round(window_s * _FRAMES_PER_S)
        padded = np.zeros(frames * 160, np.float32)  # zeros after, as Whisper pads
        padded[: len(samples)] = samples
        features = self._model.feature_extractor(padded, padding=0)[:, :frames]
        prompt = self._model.get_prompt(self._tokenizer, [], without_timestamps=True)
        new_tokens = 16 + round(_TOKENS_PER_S * len(samples) / SAMPLE_RATE)
        # CTranslate2 4.8.5 generates at most max_length / 2 tokens here (measured: 10 of
        # 20, 50 of 100, 224 of 448), whatever the prompt (4 tokens).
        result = self._model.model.generate(
            self._storage_view.from_array(np.ascontiguousarray(features[None])),
            [prompt],
            beam_size=1,
            max_length=min(self._model.max_length, 2 * new_tokens),
            suppress_blank=True,
            suppress_tokens=self._suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        sequence = result.sequences_ids[0]
        tokens = [t for t in sequence if t < self._tokenizer.eot]
        text = str(self._tokenizer.decode(tokens)).strip()
        average = result.scores[0] if result.scores else 0.0
        if result.no_speech_prob > NO_SPEECH_PROB and average < LOW_LOGPROB:
            return "", False
        return text, len(sequence) >= new_tokens

    def _long(self, samples: np.ndarray) -> str:
        """Audio longer than one window: faster-whisper's own long-form decoding."""
        segments, _ = self._model.transcribe(
            samples,
            language="en",
            beam_size=1,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()


def _loops(text: str) -> bool:
    data = text.encode()
    return len(data) > 40 and len(data) / len(zlib.compress(data)) > LOOP_RATIO


_decoders: dict[tuple[str, int | None], WhisperDecoder] = {}
_decoders_lock = threading.Lock()


def load_decoder(model_dir: Path, threads: int | None = None, same_as: str = "") -> WhisperDecoder:
    """The process's decoder for ``model_dir``, loaded on first use (~150 MB, a second),
    so each voice connection does not load its own. ``same_as`` names the model's
    content (its checksum): copies of one model in other folders (every OS1 home's
    bundled model) share one decoder."""
    folder = Path(model_dir).expanduser().resolve()
    key = (same_as or str(folder), threads)
    with _decoders_lock:
        if key not in _decoders:
            _decoders[key] = WhisperDecoder(folder, threads)
        return _decoders[key]


@dataclass(eq=False)  # each piece is itself: compared by identity
class _Piece:
    """A span of the utterance's samples, decoded (or being decoded) in the background."""

    start: int
    end: int
    text: str = ""
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)


class WhisperRecognizer:
    """Streams an utterance into Whisper piece by piece (see the module docstring).

    Pieces are decoded in order on a background thread. Partial words while the user speaks come
    from ``live``, a cheap streaming recognizer (PocketSphinx), restarted at each cut:
    they are Whisper's kept words followed by the live pass's words since the cut."""

    name = "whisper"
    sample_rate = SAMPLE_RATE
    # The final words are decoded within the pause: nothing is begun on the live words.
    final_words_soon = True

    def __init__(
        self, decoder: WhisperDecoder, live: Recognizer | None = None, commit_s: float = COMMIT_S
    ) -> None:
        self.decoder = decoder
        self.live = live
        self.commit_s = commit_s
        self._lock = threading.Lock()
        self._queue: list[_Piece] = []
        self._running = False
        # The last utterance's final piece and words: a reply begun in the pause that
        # ended the turn still gets them after finish() (os1.mind.voice_conversation).
        self._finished: tuple[_Piece | None, str] = (None, "")
        self._reset()

    def _reset(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._audio = np.zeros(0, np.float32)
        self._fed = 0
        self._cut = 0  # samples before this are in ``_kept`` pieces
        self._kept: list[_Piece] = []
        self._pause: _Piece | None = None  # the open piece, decoded in this pause

    # --- the Recognizer interface -------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._drop_queued(keep=[])  # an earlier utterance's: nobody needs them now
            self._reset()
            self._finished = (None, "")
        if self.live is not None:
            self.live.start()

    def feed(self, samples: np.ndarray) -> str | None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            if len(samples):
                self._chunks.append(samples)
                self._fed += len(samples)
            self._pause = None  # speech goes on after it (see resume)
        if self.live is None:
            return None
        heard = self.live.feed(samples)
        if heard is None:
            return None
        with self._lock:
            return " ".join(w for w in (self._kept_words(), heard) if w)

    def finish(self) -> str:
        with self._lock:
            pause = self._pause
            if pause is None or pause.start != self._cut or pause.end != self._fed:
                pause = self._decode_later(self._cut, self._fed)
            pieces = [*self._kept, pause]
        for piece in pieces:
            piece.done.wait()
        failed = next((p.error for p in pieces if p.error), None)
        text = " ".join(p.text for p in pieces if p.text).strip()
        with self._lock:
            self._reset()
            self._finished = (pause, text if failed is None else "")
        if self.live is not None:
            self.live.start()  # its words are not needed: drop them now
        if failed is not None:
            raise VoiceError(f"Whisper could not decode the speech: {failed}")
        return text

    # --- finishing early (os1.voice.listening.FinishesEarly) ----------------------

    def prefinish(self) -> None:
        """The speaker paused: decode the open piece now, in the background."""
        with self._lock:
            if self._fed > self._cut:
                self._pause = self._decode_later(self._cut, self._fed)

    def resume(self) -> None:
        """Speech went on after the pause: a long enough piece decoded in it is cut off
        and kept (shorter ones are decoded again with what follows)."""
        with self._lock:
            pause, self._pause = self._pause, None
            if pause is None or pause.end - pause.start < self.commit_s * SAMPLE_RATE:
                return
            self._kept.append(pause)
            self._cut = pause.end
        if self.live is not None:
            self.live.start()  # from here its words follow the kept piece's

    def early_result(self, wait: bool = True) -> str | None:
        """The final words of everything said before this pause (waiting for them unless
        ``wait`` is false); None if no decoding started in this pause."""
        with self._lock:
            pause = self._pause
        if pause is None or not (wait or pause.done.is_set()):
            return None
        pause.done.wait()
        with self._lock:
            if pause is self._finished[0]:
                return self._finished[1] or None  # the turn ended in this pause meanwhile
            if pause is not self._pause:
                return None  # speech resumed meanwhile
            return " ".join(w for w in (self._kept_words(), pause.text) if w)

    # --- the background decoding --------------------------------------------------

    def _drop_queued(self, keep: list[_Piece]) -> None:
        """Forget queued pieces not in ``keep``; they end empty (anyone waiting on one
        finds it no longer current)."""
        for piece in self._queue:
            if piece not in keep:
                piece.done.set()
        self._queue = [piece for piece in self._queue if piece in keep]

    def _decode_later(self, start: int, end: int) -> _Piece:
        # A piece not yet begun that this one covers (a pause too short to cut at) is
        # not decoded: only the kept ones are needed.
        self._drop_queued(keep=self._kept)
        piece = _Piece(start, end)
        self._queue.append(piece)
        if not self._running:
            self._running = True
            threading.Thread(target=self._drain, daemon=True).start()
        return piece

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    return
                piece = self._queue.pop(0)
                audio = self._samples(piece.start, piece.end)
            try:
                piece.text = self.decoder.decode(audio)
            except Exception as exc:  # reported by finish(); the thread goes on
                piece.error = str(exc) or type(exc).__name__
            finally:
                piece.done.set()

    def _samples(self, start: int, end: int) -> np.ndarray:
        if self._chunks:
            self._audio = np.concatenate([self._audio, *self._chunks])
            self._chunks = []
        return self._audio[start:end].copy()

    def _kept_words(self) -> str:
        """The kept pieces' words, those decoded by now (they finish in order)."""
        done = [p.text for p in self._kept if p.done.is_set() and p.text]
        return " ".join(done)
