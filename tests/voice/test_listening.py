"""Voice activity, the transcriber and the end of a turn, with scripted parts (fakes) so
that the frame on which each event happens is known exactly."""

from __future__ import annotations

import numpy as np

from os1.voice.frames import AudioIn, FinalTranscript, SpeechStarted
from os1.voice.listening import SilencePolicy, SpeechDetector, Transcriber, TurnDetector
from os1.voice.pipeline import Pipeline

CHUNK = 512
CHUNK_S = CHUNK / 16_000


class FakeVAD:
    """A fake voice activity detector: a chunk is speech when it is loud."""

    frame_samples = CHUNK
    sample_rate = 16_000

    def speech_probability(self, frame: np.ndarray) -> float:
        return 1.0 if float(np.max(np.abs(frame))) > 0.5 else 0.0

    def reset(self) -> None:
        pass


class CountingRecognizer:
    """A fake recognizer that finishes early (as Whisper does): its words are the number
    of loud chunks it was fed since the utterance began."""

    name = "counting"
    sample_rate = 16_000

    def __init__(self) -> None:
        self.loud = 0

    def start(self) -> None:
        self.loud = 0

    def feed(self, samples: np.ndarray) -> str | None:
        self.loud += sum(
            float(np.max(np.abs(samples[i : i + CHUNK]))) > 0.5
            for i in range(0, len(samples), CHUNK)
        )
        return None

    def finish(self) -> str:
        return f"{self.loud} loud"

    def prefinish(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def early_result(self, wait: bool = True) -> str | None:
        return None


def chunks(*runs: tuple[float, int]) -> list[np.ndarray]:
    return [np.full(CHUNK, level, np.float32) for level, count in runs for _ in range(count)]


def test_speech_start_comes_before_the_chunk_it_was_heard_in() -> None:
    detector = SpeechDetector(FakeVAD())
    out = [f for i, c in enumerate(chunks((1.0, 3))) for f in detector.process(AudioIn(c, i))]
    started = next(i for i, f in enumerate(out) if isinstance(f, SpeechStarted))
    # Two loud chunks start speech (64 ms): the event goes before the second chunk.
    assert [type(f).__name__ for f in out[: started + 2]] == ["AudioIn", "SpeechStarted", "AudioIn"]
    assert out[started].at == 0.0  # when the first loud chunk began


def test_speech_resuming_as_the_silence_window_closes_loses_nothing() -> None:
    """Speech that resumes on the very chunk whose end closes the silence window goes on
    the same turn. (It was lost: the turn ended on that chunk after the transcriber had
    already taken the speech as resumed, and the rest of it was never decoded.)"""
    gap = 10
    # The window closes at the end of the second loud chunk after the gap, where speech
    # is heard to start again.
    window = (gap + 2) * CHUNK_S - 1e-6
    transcriber = Transcriber(CountingRecognizer(), pre_roll_ms=0)
    turns = TurnDetector(transcriber, SilencePolicy(window))
    pipeline = Pipeline([SpeechDetector(FakeVAD()), transcriber, turns])
    audio = chunks((1.0, 10), (0.0, gap), (1.0, 10), (0.0, 40))
    finals = [
        f
        for i, c in enumerate(audio)
        for f in pipeline.push(AudioIn(c, i * CHUNK_S))
        if isinstance(f, FinalTranscript)
    ]
    assert [f.text for f in finals] == ["20 loud"]
