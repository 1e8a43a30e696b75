"""The voice pipeline: frames in, frames out, with the real VAD, recognizer and voices.

The model is the scripted backend (its words do not matter here; its pace does), so the
barge-in test can hold a long reply and talk over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from os1.domain import Persona, Role, TurnStatus, UserProfile
from os1.llm.base import estimate_tokens
from os1.llm.scripted import ScriptedBackend
from os1.memory.ingest import Memorizer
from os1.memory.recall.retrieval import KeywordRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import plugins
from os1.mind.companion import ChatOptions, Companion
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.turn import TurnRunner
from os1.mind.voice_conversation import VoiceConversation
from os1.voice.audio import SAMPLE_RATE, Audio, resample
from os1.voice.frames import (
    AudioIn,
    FinalTranscript,
    Frame,
    PartialTranscript,
    ReplyText,
    SpeechStarted,
    SpeechStopped,
)
from os1.voice.listening import (
    HesitationPolicy,
    SilencePolicy,
    SpeechDetector,
    Transcriber,
    TurnDetector,
)
from os1.voice.pipeline import Pipeline
from os1.voice.speaking import FileSink, PhraseChunker, Playback, RealTimeSink
from os1.voice.stt import PocketSphinxRecognizer
from os1.voice.tts import EspeakSynthesizer, PiperSynthesizer
from os1.voice.vad import SileroVAD

BLOCK = 512


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


def spoken(piper: PiperSynthesizer, text: str, pad_s: float = 0.5) -> Audio:
    """Real speech, synthesised, at 16 kHz with silence around it."""
    samples = np.concatenate(list(piper.synthesize(text)))
    samples = resample(samples, piper.sample_rate, SAMPLE_RATE)
    pad = np.zeros(int(pad_s * SAMPLE_RATE), np.float32)
    return Audio(np.concatenate([pad, samples, pad]).astype(np.float32), SAMPLE_RATE)


def blocks(audio: Audio, start_at: float = 0.0) -> Iterator[AudioIn]:
    for start in range(0, len(audio.samples), BLOCK):
        yield AudioIn(audio.samples[start : start + BLOCK], start_at + start / SAMPLE_RATE)


def words(text: str) -> set[str]:
    return set(text.lower().replace(",", " ").replace(".", " ").split())


def listening() -> tuple[Pipeline, TurnDetector]:
    transcriber = Transcriber(PocketSphinxRecognizer())
    turns = TurnDetector(transcriber, SilencePolicy(0.6))
    return Pipeline([SpeechDetector(SileroVAD()), transcriber, turns]), turns


def test_listening_pipeline_emits_speech_partials_and_one_final(piper: PiperSynthesizer) -> None:
    audio = spoken(piper, "Please remind me to call my sister tomorrow morning.", pad_s=1.0)
    pipeline, _ = listening()
    out = [f for f in pipeline.run(blocks(audio)) if not isinstance(f, AudioIn)]
    kinds = [type(f) for f in out]
    assert kinds[0] is SpeechStarted
    assert SpeechStopped in kinds
    assert kinds.count(FinalTranscript) == 1
    assert (
        kinds.index(SpeechStarted) < kinds.index(PartialTranscript) < kinds.index(FinalTranscript)
    )
    final = next(f for f in out if isinstance(f, FinalTranscript))
    assert len(words(final.text) & {"remind", "me", "call", "my", "sister", "tomorrow"}) >= 4
    # The turn ended one silence window after the speech did.
    assert final.at - final.speech_end_at == pytest.approx(0.6, abs=0.07)
    started = next(f for f in out if isinstance(f, SpeechStarted))
    assert 0.7 < started.at < 1.3  # the speech began after the second of padding


def test_a_pause_shorter_than_the_window_keeps_one_turn(piper: PiperSynthesizer) -> None:
    # The early final pass starts at the pause; speech resuming must void it.
    first = spoken(piper, "I went to the market", pad_s=0.3)
    second = spoken(piper, "and bought fresh bread and cheese.", pad_s=1.0)
    # About 0.3 s of pause (plus the voice's own), then the rest without its lead-in.
    audio = Audio(np.concatenate([first.samples, second.samples[SAMPLE_RATE:]]), SAMPLE_RATE)
    pipeline, _ = listening()
    out = pipeline.run(blocks(audio))
    finals = [f for f in out if isinstance(f, FinalTranscript)]
    assert [type(f) for f in out if isinstance(f, SpeechStopped)]  # it did pause
    assert len(finals) == 1
    assert len(words(finals[0].text) & {"went", "market", "bought", "bread", "cheese"}) >= 3


def test_silence_and_noise_end_no_turn() -> None:
    pipeline, turns = listening()
    rng = np.random.default_rng(0)
    quiet = Audio((rng.normal(0, 0.002, SAMPLE_RATE * 3)).astype(np.float32), SAMPLE_RATE)
    out = pipeline.run(blocks(quiet))
    assert not [f for f in out if isinstance(f, SpeechStarted | FinalTranscript)]
    assert turns.end_turn(3.0) == []


class FakeRecognizer:
    """A fake recognizer (named so): returns a fixed transcript, to test turn timing alone."""

    name = "fake"
    sample_rate = SAMPLE_RATE

    def __init__(self, text: str) -> None:
        self.text = text

    def start(self) -> None:
        pass

    def feed(self, samples: np.ndarray) -> str | None:
        return self.text

    def finish(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("said", "window"),
    [
        ("i went to the park and", 1.4),
        ("yes", 0.4),
        ("i went to the park", 0.6),
        # Whisper punctuates; the words decide.
        ("But I...", 1.4),
        ("I went to the park, and,", 1.4),
        ("Yes.", 0.4),
    ],
)
def test_hesitation_policy_waits_longer_after_an_unfinished_phrase(
    said: str, window: float
) -> None:
    transcriber = Transcriber(FakeRecognizer(said))
    detector = TurnDetector(transcriber, HesitationPolicy())
    quiet = np.zeros(BLOCK, np.float32)
    frames: list[Frame] = [SpeechStarted(0.0), AudioIn(quiet, 0.0), SpeechStopped(1.0)]
    frames += [AudioIn(quiet, 1.0 + i * BLOCK / SAMPLE_RATE) for i in range(100)]
    out = Pipeline([transcriber, detector]).run(frames)
    final = next(f for f in out if isinstance(f, FinalTranscript))
    assert final.text == said
    assert final.at - final.speech_end_at == pytest.approx(window, abs=BLOCK / SAMPLE_RATE + 1e-6)


def test_phrase_chunker_cuts_the_first_phrase_early_then_whole_sentences() -> None:
    chunker = PhraseChunker()
    text = "Oh, that sounds lovely. Tell me more about the park, and who was there! Really"
    phrases = [p for piece in text.split(" ") for p in chunker.feed(piece + " ")]
    phrases += chunker.flush()
    assert phrases == [
        "Oh, that sounds lovely.",
        "Tell me more about the park, and who was there!",
        "Really",
    ]
    long = PhraseChunker()
    cut = [p for w in "so I was thinking we could go out there".split() for p in long.feed(w + " ")]
    assert cut[0] == "so I was thinking we could"


def test_playback_stops_mid_phrase_and_knows_what_was_heard() -> None:
    playback = Playback(FileSink(16_000))
    from os1.voice.frames import ReplyAudio

    one = ReplyAudio(np.zeros(16_000, np.float32), 16_000, "one two three four")
    assert playback.play(one)
    sink_writes: list[int] = []

    class StoppingSink(FileSink):
        def write(self, samples: np.ndarray) -> None:
            sink_writes.append(len(samples))
            if sum(sink_writes) >= 8_000:
                playback.stop()

    playback.sink = StoppingSink(16_000)
    two = ReplyAudio(np.zeros(16_000, np.float32), 16_000, "five six seven eight")
    assert not playback.play(two)
    assert playback.spoken() == "one two three four five six"
    assert sum(sink_writes) == 8_000  # not one block after the stop


# The built-in skills that never serve a turn themselves: these tests are about the
# model's reply on its way to the speaker ("remind me to …" would be the reminders skill's).
VOICE_SKILLS = ("os1.skills.presence", "os1.skills.reflection")


def make_turns(
    store: SQLiteStore, backend: ScriptedBackend, skills: plugins.Skills | None = None
) -> TurnRunner:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    builder = PromptBuilder(Budget(2048, 96), estimate_tokens)
    companion = Companion(
        store, backend, KeywordRetriever(store), builder, ChatOptions(), Memorizer(store, [])
    )
    return TurnRunner(companion, skills or plugins.manager(VOICE_SKILLS, entry_points=False))


LONG_REPLY = (
    "I remember that. You told me about the park last week, and how the light fell "
    "through the trees. Then you said you wanted to go back with your sister. We could "
    "plan it together if you like. I would love to hear what she thinks about it."
)


def test_spoken_turn_end_to_end_stores_the_reply_and_its_timings(
    store: SQLiteStore, piper: PiperSynthesizer
) -> None:
    turns = make_turns(store, ScriptedBackend(["Of course. I will remind you."]))
    voice = EspeakSynthesizer()
    sink = FileSink(voice.sample_rate)
    shown: list[Frame] = []
    conversation = VoiceConversation(
        turns, PocketSphinxRecognizer(), SileroVAD(), voice, sink, on_frame=shown.append
    )
    for frame in blocks(spoken(piper, "Please remind me to call my sister.", pad_s=1.0)):
        conversation.hear(frame)
    turn = conversation.wait(timeout=60)
    assert turn is not None and turn.error is None
    assert not turn.interrupted
    assert turn.spoken == "Of course. I will remind you."
    assert len(sink.audio()) > voice.sample_rate  # a second or more of reply audio
    assert [f.text for f in shown if isinstance(f, ReplyText)] == [
        "Of course.",
        "I will remind you.",
    ]
    user, reply = store.turns()
    assert user.role is Role.USER and "sister" in user.text.lower()
    assert reply.text == "Of course. I will remind you." and reply.status is TurnStatus.COMPLETE
    stages = store.timings(reply.id)
    assert set(stages) >= {"end_silence_s", "first_token_s", "first_audio_s"}
    assert stages["first_token_s"] <= stages["first_audio_s"]


def test_barge_in_stops_playback_cancels_the_rest_and_stores_what_was_heard(
    store: SQLiteStore, piper: PiperSynthesizer
) -> None:
    # Tokens at a speaking pace, so most of the reply is not yet generated when it is cut.
    backend = ScriptedBackend([LONG_REPLY], token_delay_s=0.15)
    turns = make_turns(store, backend)
    voice = EspeakSynthesizer()
    sink = RealTimeSink(voice.sample_rate)
    conversation = VoiceConversation(turns, PocketSphinxRecognizer(), SileroVAD(), voice, sink)
    at = 0.0
    for frame in blocks(spoken(piper, "What did I tell you about the park?", pad_s=1.0)):
        conversation.hear(frame)
        at = frame.at + len(frame.samples) / SAMPLE_RATE
    # Talk over the reply once it is audible.
    import time

    deadline = time.monotonic() + 30
    while sink.played < voice.sample_rate and time.monotonic() < deadline:
        time.sleep(0.02)
    assert conversation.speaking
    for frame in blocks(spoken(piper, "Wait, stop, I have to go.", pad_s=0.1), start_at=at):
        conversation.hear(frame)
        if not conversation.speaking:
            break
    turn = conversation.wait(timeout=30)
    assert turn is not None and turn.interrupted
    assert turn.bargein_stop_s is not None
    # Generation was cancelled: the scripted reply never finished.
    assert len(turn.generated) < len(LONG_REPLY)
    # What is stored is what was heard, not what was generated.
    assert turn.spoken and LONG_REPLY.startswith(turn.spoken)
    assert len(turn.spoken) <= len(turn.generated) < len(LONG_REPLY)
    reply = [t for t in store.turns() if t.role is Role.COMPANION][-1]
    assert reply.text == turn.spoken
    assert reply.status is TurnStatus.INTERRUPTED
    heard_seconds = sink.played / voice.sample_rate
    # Roughly as many words as fit in the audio that played (espeak at ~165 wpm).
    assert len(turn.spoken.split()) <= heard_seconds * 165 / 60 * 1.5 + 3


def test_real_speech_clip_from_the_shared_set(piper: PiperSynthesizer) -> None:
    folder = Path("../shared/benchdata/speech")
    if not (folder / "manifest.jsonl").exists():
        pytest.skip("the shared speech set is not beside the repository")
    from os1.voice.audio import load_audio

    audio = load_audio(folder / "cmu-arctic-axb-a0004.wav")
    pipeline, _ = listening()
    padded = Audio(np.concatenate([audio.samples, np.zeros(SAMPLE_RATE, np.float32)]), SAMPLE_RATE)
    out = pipeline.run(blocks(padded))
    finals = [f for f in out if isinstance(f, FinalTranscript)]
    assert len(finals) == 1 and finals[0].text
