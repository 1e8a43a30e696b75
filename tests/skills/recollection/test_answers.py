"""Memory questions answered from what the user said, on the real turn path: the new-user
conversation from issue 13, replayed (with a scripted stand-in for the model, and with the
embedded model itself)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from os1.domain import Persona, UserProfile
from os1.llm.base import LLMBackend
from os1.llm.embedded import EmbeddedBackend
from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.codec import replayed_time
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import assembly, plugins
from os1.mind.companion import Companion
from os1.mind.events import ActionTaken, Done
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.turn import TurnRunner
from os1.options import ChatOptions

FIRST = [
    "Hi. Long day at work.",
    "My ex-wife Catherine wants me to sign the divorce papers.",
    "I work at BeautifulHandwrittenLetters.com, I write letters for other people.",
    "My friend Amy makes documentaries.",
    "She lives downstairs with her husband Charles.",
]
SECOND = [
    "I went on a date on Saturday.",
    "Where do you think I should take her next time?",
]


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2031, 3, 4, 19, 0, tzinfo=UTC)  # a Tuesday

    def __call__(self) -> datetime:
        return self.at


def runner(store: SQLiteStore, backend: LLMBackend, clock: Clock) -> TurnRunner:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    builder = PromptBuilder(Budget(2048, 48), backend.count_tokens)
    companion = Companion(
        store, backend, assembly.retriever(store, []), builder, ChatOptions(), None
    )
    return TurnRunner(companion, plugins.skills(), clock=clock)


def say(turns: TurnRunner, text: str) -> tuple[str, list[str]]:
    reply, acted = "", []
    for event in turns.run(text):
        if isinstance(event, ActionTaken):
            acted.append(f"{event.skill}.{event.name}")
        if isinstance(event, Done):
            reply = event.reply
    return reply, acted


def tell(turns: TurnRunner, clock: Clock) -> None:
    for text in FIRST:
        say(turns, text)
        clock.at += timedelta(minutes=1)
    clock.at += timedelta(days=2)
    for text in SECOND:
        say(turns, text)
        clock.at += timedelta(minutes=1)
    clock.at += timedelta(days=1)


def check_answers(turns: TurnRunner) -> None:
    reply, acted = say(turns, "Who is Catherine?")
    assert "ex-wife" in reply and acted == ["recollection.memory"]
    assert "your ex-wife" in reply.lower()  # the user's "my" is turned round
    reply, _ = say(turns, "What does Amy do?")
    assert "documentaries" in reply
    reply, _ = say(turns, "Where do I work?")
    assert "BeautifulHandwrittenLetters.com" in reply
    reply, _ = say(turns, "What's my name?")
    assert "Theodore" in reply
    reply, _ = say(turns, "What's your name?")
    assert "Samantha" in reply
    # Never said: it says so, and invents nothing.
    reply, _ = say(turns, "What is my brother's name?")
    assert "haven't told me" in reply
    reply, _ = say(turns, "What does Charles do for a living?")
    assert "haven't told me" in reply
    # A relative date is told back with its day: Saturday before Thursday 6 March.
    reply, _ = say(turns, "When did I go on a date?")
    assert "1 March" in reply


def test_the_new_user_conversation_with_a_scripted_model(store: SQLiteStore) -> None:
    # The scripted model's replies are wrong on purpose: a reply is never evidence.
    backend = ScriptedBackend(["You work at the post office, I think.", "Oh, lovely."])
    clock = Clock()
    with replayed_time(clock):
        turns = runner(store, backend, clock)
        tell(turns, clock)
        check_answers(turns)
        reply, _ = say(turns, "Where do I work these days?")
        assert "post office" not in reply


@pytest.fixture
def embedded_turns(
    store: SQLiteStore, embedded: EmbeddedBackend
) -> Iterator[tuple[TurnRunner, Clock]]:
    clock = Clock()
    with replayed_time(clock):
        yield runner(store, embedded, clock), clock


def test_the_new_user_conversation_on_the_embedded_model(
    embedded_turns: tuple[TurnRunner, Clock],
) -> None:
    turns, clock = embedded_turns
    tell(turns, clock)
    check_answers(turns)


def test_the_companions_words_are_never_evidence(store: SQLiteStore) -> None:
    backend = ScriptedBackend(["Your sister is called Beatrix."])
    clock = Clock()
    with replayed_time(clock):
        turns = runner(store, backend, clock)
        say(turns, "I had a lovely walk by the river.")
        clock.at += timedelta(days=1)
        reply, _ = say(turns, "What's my sister called?")
    assert "Beatrix" not in reply and "haven't told me" in reply
