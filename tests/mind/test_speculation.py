"""Replies begun in the user's pause: adopted when the pause ends the turn with the same
words, dropped unseen when the user goes on or the final words differ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from os1.domain import Prompt, Role
from os1.llm.base import CancelToken
from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind.events import Done, Event, Token
from os1.mind.speculation import same_words
from os1.mind.voice_conversation import VoiceConversation
from os1.voice.audio import SAMPLE_RATE, Audio
from os1.voice.frames import AudioIn, FinalTranscript, SpeechStarted, SpeechStopped
from os1.voice.listening import Transcriber
from os1.voice.speaking import FileSink
from os1.voice.stt import PocketSphinxRecognizer
from os1.voice.tts import EspeakSynthesizer, PiperSynthesizer
from os1.voice.vad import SileroVAD
from tests.mind.test_voice_conversation import blocks, make_turns, spoken, words

REPLY = "Of course. I will remind you."


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


def test_same_words_ignores_case_and_punctuation() -> None:
    assert same_words("Call my sister, please.", "call my sister please")
    assert not same_words("call my sister", "call my brother")


def test_follow_gives_what_was_generated_then_the_rest_live(store: SQLiteStore) -> None:
    backend = ScriptedBackend([REPLY], token_delay_s=0.02)
    turns = make_turns(store, backend)
    ahead = turns.speculate("Remind me to call my sister.")
    ahead.store_free.wait(10)
    first = next(iter(ahead.follow()))
    assert "".join(ahead.follow()) == REPLY  # a second reader gets every piece, from the first
    assert REPLY.startswith(first)
    assert store.turns() == []  # nothing is stored by speculating


def reply_text(events: list[Event]) -> str:
    """What a turn said, from its tokens; its Done says the same."""
    said = "".join(e.text for e in events if isinstance(e, Token))
    done = events[-1] if events and isinstance(events[-1], Done) else None
    assert done is not None and done.reply == said.strip()
    return said


def test_run_adopts_a_reply_begun_on_the_same_words(tmp_path: Path) -> None:
    # Two identical OS1s: one begins early, one replies the usual way. The prompts match,
    # and the early one never asks the model twice.
    early_store, usual_store = SQLiteStore(tmp_path / "a.db"), SQLiteStore(tmp_path / "b.db")
    early_backend, usual_backend = ScriptedBackend([REPLY]), ScriptedBackend([REPLY])
    early, usual = (
        make_turns(early_store, early_backend),
        make_turns(usual_store, usual_backend),
    )
    ahead = early.speculate("remind me to call my sister")
    cancel = CancelToken()
    events = list(early.run("Remind me to call my sister.", cancel, ahead=ahead))
    assert reply_text(events) == REPLY and not ahead.cancel.cancelled
    assert "".join(ahead.follow()) == REPLY  # the reply given is the one begun early
    assert reply_text(list(usual.run("Remind me to call my sister."))) == REPLY
    assert len(early_backend.prompts) == 1
    # The recalled memories and the recent turns are the same; only the words of the
    # user's line differ in case and punctuation.
    assert same_words(early_backend.prompts[0].completion, usual_backend.prompts[0].completion)
    user, said = early_store.turns()
    assert user.role is Role.USER and user.text == "Remind me to call my sister."
    assert said.role is Role.COMPANION and said.text == REPLY
    early_store.close()
    usual_store.close()


def test_run_drops_a_reply_begun_on_other_words(store: SQLiteStore) -> None:
    backend = ScriptedBackend(["Bread is lovely.", "Cheese too."], token_delay_s=0.01)
    turns = make_turns(store, backend)
    ahead = turns.speculate("I went to the market")
    events = list(turns.run("I went to the market and bought cheese", ahead=ahead))
    assert ahead.cancel.cancelled
    assert reply_text(events) == "Cheese too."
    assert len(backend.prompts) == 2
    assert "bought cheese" in backend.prompts[1].completion
    assert [t.text for t in store.turns()] == [
        "I went to the market and bought cheese",
        "Cheese too.",
    ]


def test_an_error_while_generating_early_reaches_the_reader(store: SQLiteStore) -> None:
    class FailingBackend(ScriptedBackend):
        def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
            raise RuntimeError("the model server went away")

    ahead = make_turns(store, FailingBackend()).speculate("hello")
    with pytest.raises(RuntimeError, match="went away"):
        list(ahead.follow())
    assert ahead.store_free.is_set()


class EarlyRecognizer:
    """A fake recognizer (named so) that finishes early, recording what it is fed."""

    name = "fake-early"
    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        self.fed: list[float] = []
        self.prefinished = 0
        self.resumed = 0

    def start(self) -> None:
        self.fed = []

    def feed(self, samples: np.ndarray) -> str | None:
        self.fed.append(float(samples[0]))
        return "words"

    def finish(self) -> str:
        return "words"

    def prefinish(self) -> None:
        self.prefinished += 1

    def resume(self) -> None:
        self.resumed += 1

    def early_result(self, wait: bool = True) -> str | None:
        return "words"


def test_the_live_pass_is_held_in_a_pause_and_catches_up_if_speech_resumes() -> None:
    recognizer = EarlyRecognizer()
    transcriber = Transcriber(recognizer, pre_roll_ms=0)

    def audio(marker: float) -> AudioIn:
        return AudioIn(np.full(512, marker, np.float32), marker)

    transcriber.process(SpeechStarted(0.0))
    transcriber.process(audio(1.0))
    transcriber.process(SpeechStopped(1.0))
    transcriber.process(audio(2.0))
    transcriber.process(audio(3.0))
    assert recognizer.fed == [1.0] and recognizer.prefinished == 1  # the pause is held
    assert transcriber.early_result() == "words"
    transcriber.process(SpeechStarted(3.0))
    transcriber.process(audio(4.0))
    # Speech resumed: the early pass is voided and the held audio decoded, in order.
    assert recognizer.resumed == 1
    assert recognizer.fed == [1.0, 2.0, 3.0, 4.0]


class CountingVoice(EspeakSynthesizer):
    """The real espeak-ng voice, counting what it is asked to say."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        self.said.append(text)
        return super().synthesize(text)


def test_a_turn_ending_in_its_pause_adopts_the_reply_begun_there(
    store: SQLiteStore, piper: PiperSynthesizer
) -> None:
    backend = ScriptedBackend([REPLY], token_delay_s=0.01)
    turns = make_turns(store, backend)
    voice = CountingVoice()
    sink = FileSink(voice.sample_rate)
    # Settled on the speaker from the start: the pause's words are final at once, so the
    # reply is begun once, on them.
    recognizer = PocketSphinxRecognizer(settle_s=0)
    conversation = VoiceConversation(turns, recognizer, SileroVAD(), voice, sink)
    for frame in blocks(spoken(piper, "Please remind me to call my sister.", pad_s=1.0)):
        conversation.hear(frame)
    turn = conversation.wait(timeout=60)
    assert turn is not None and turn.error is None
    assert turn.begun_early
    assert turn.spoken == REPLY
    assert len(backend.prompts) == 1  # the adopted reply was not asked for again
    user, reply = store.turns()
    assert "sister" in user.text.lower() and reply.text == REPLY
    # The first phrase was voiced in the pause, once, and its audio is what was played.
    assert voice.said.count("Of course.") == voice.said.count("I will remind you.") == 1
    assert len(sink.audio()) > voice.sample_rate
    conversation.close()


def test_a_reply_begun_in_a_pause_is_dropped_when_the_user_goes_on(
    store: SQLiteStore, piper: PiperSynthesizer
) -> None:
    backend = ScriptedBackend([REPLY], token_delay_s=0.01)
    turns = make_turns(store, backend)
    voice = EspeakSynthesizer()
    conversation = VoiceConversation(
        turns, PocketSphinxRecognizer(), SileroVAD(), voice, FileSink(voice.sample_rate)
    )
    first = spoken(piper, "I went to the market", pad_s=0.3)
    second = spoken(piper, "and bought fresh bread and cheese.", pad_s=1.0)
    audio = Audio(np.concatenate([first.samples, second.samples[SAMPLE_RATE:]]), SAMPLE_RATE)
    finals = []
    for frame in blocks(audio):
        finals += [f for f in conversation.hear(frame) if isinstance(f, FinalTranscript)]
    turn = conversation.wait(timeout=60)
    assert turn is not None and turn.error is None and len(finals) == 1
    assert len(words(turn.heard) & {"bought", "bread", "cheese"}) >= 1
    # The mid-sentence pause began a reply on the first half; it was dropped, and the
    # reply that was spoken answers the whole sentence.
    assert len(backend.prompts) >= 2
    assert not ({"bought", "bread", "cheese"} & words(backend.prompts[0].completion[-80:]))
    assert words(turn.heard) & words(backend.prompts[-1].completion[-120:]) >= {"market"}
    assert [t.role for t in store.turns()] == [Role.USER, Role.COMPANION]
    conversation.close()


def test_with_whisper_the_reply_is_begun_once_on_its_words_from_the_pause(
    store: SQLiteStore, piper: PiperSynthesizer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from os1.voice.stt import create_recognizer

    backend = ScriptedBackend([REPLY], token_delay_s=0.01)
    turns = make_turns(store, backend)
    voice = EspeakSynthesizer()
    recognizer = create_recognizer("whisper", models_dir=tmp_path_factory.mktemp("models"))
    conversation = VoiceConversation(
        turns, recognizer, SileroVAD(), voice, FileSink(voice.sample_rate)
    )
    for frame in blocks(spoken(piper, "Please remind me to call my sister.", pad_s=1.0)):
        conversation.hear(frame)
    turn = conversation.wait(timeout=60)
    assert turn is not None and turn.error is None
    assert "sister" in words(turn.heard)
    # Nothing was begun on PocketSphinx's live words: one reply, on Whisper's, adopted.
    assert turn.begun_early and len(backend.prompts) == 1
    assert turn.spoken == REPLY
    conversation.close()
