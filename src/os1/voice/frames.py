"""What flows through the voice pipeline: small typed frames.

Times (``at``) are seconds on the audio stream's own clock: the position in the input
audio, which for a microphone runs with the wall clock and for a file runs as fast as the
file is read. Timings measured in wall-clock time are kept apart in ``TurnTimings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioIn:
    """Input audio: 16 kHz mono float32, whose first sample is at ``at``."""

    samples: Samples
    at: float


@dataclass(frozen=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True)
class SpeechStopped:
    """The voice went quiet at ``at`` (it may start again before the turn ends)."""

    at: float


@dataclass(frozen=True)
class PartialTranscript:
    text: str
    at: float


@dataclass(frozen=True)
class FinalTranscript:
    """The user's turn is over: what they said, when speech ended and when that was known."""

    text: str
    speech_end_at: float
    at: float


@dataclass(frozen=True)
class ReplyText:
    """A phrase of the reply, ready to be spoken."""

    text: str


@dataclass(frozen=True)
class ReplyAudio:
    samples: Samples
    sample_rate: int
    text: str


@dataclass(frozen=True)
class Interrupted:
    """The user spoke over the reply: playback stopped; ``spoken`` is what was heard."""

    at: float
    spoken: str


@dataclass
class TurnTimings:
    """Wall-clock seconds of one spoken turn, from the moment the user's speech ended
    (``speech_end``, 0) to each later stage; ``end_silence_s`` is the end-of-turn window
    waited before the turn was known to be over."""

    end_silence_s: float = 0.0
    final_transcript_s: float | None = None
    first_token_s: float | None = None
    first_phrase_s: float | None = None
    first_audio_s: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "end_silence_s": self.end_silence_s,
            "final_transcript_s": self.final_transcript_s,
            "first_token_s": self.first_token_s,
            "first_phrase_s": self.first_phrase_s,
            "first_audio_s": self.first_audio_s,
        }


@dataclass
class SpokenTurn:
    """One exchange: what the user said, what OS1 said aloud, and when each stage was."""

    heard: str
    spoken: str = ""
    generated: str = ""
    interrupted: bool = False
    timings: TurnTimings = field(default_factory=TurnTimings)
    bargein_stop_s: float | None = None
    reply_turn_id: int | None = None
    error: str | None = None
    # The reply was begun in the pause before the turn ended, on the same words.
    begun_early: bool = False


Frame = (
    AudioIn
    | SpeechStarted
    | SpeechStopped
    | PartialTranscript
    | FinalTranscript
    | ReplyText
    | ReplyAudio
    | Interrupted
)
