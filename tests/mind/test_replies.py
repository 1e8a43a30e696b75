"""Thin replies: what counts as one, and how a base model's is carried on."""

from __future__ import annotations

from os1.domain import Persona, UserProfile
from os1.llm.scripted import ScriptedBackend
from os1.memory.recall.retrieval import KeywordRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import plugins
from os1.mind.companion import Companion
from os1.mind.events import Done
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.replies import follow_up, generic
from os1.mind.turn import TurnRunner


class TranscriptBackend(ScriptedBackend):
    """FAKE base model: a scripted stand-in that, like the embedded model, continues a
    transcript (so the turn may let it go on with a thin reply)."""

    continues_transcripts = True


def runner(store: SQLiteStore, replies: list[str]) -> tuple[TurnRunner, TranscriptBackend]:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    backend = TranscriptBackend(replies)
    builder = PromptBuilder(Budget(2048, 48), backend.count_tokens)
    companion = Companion(store, backend, KeywordRetriever(store), builder)
    return TurnRunner(companion, plugins.manager(entry_points=False)), backend


def reply(turns: TurnRunner, text: str) -> str:
    return next(e.reply for e in turns.run(text) if isinstance(e, Done))


def test_what_is_thin() -> None:
    assert generic("Why?") and generic("Yes, yes.") and generic("Are you sure?")
    assert generic("") and generic("Oh.")
    assert not generic("That's wonderful news about your sister!")
    assert not generic("Why? What happened at work?")


def test_a_thin_reply_goes_on_from_where_it_stopped(store: SQLiteStore) -> None:
    turns, backend = runner(store, ["Why?", "What happened at work today?"])
    assert reply(turns, "I had such a strange day.") == "Why? What happened at work today?"
    # The model was asked to go on from its own words, on the same line.
    assert backend.prompts[1].completion.endswith("Samantha: Why?")


def test_still_thin_after_going_on_a_warm_line_follows(store: SQLiteStore) -> None:
    turns, _ = runner(store, ["Yes.", ""])
    said = reply(turns, "We got a dog.")
    assert said.startswith("Yes. ") and not generic(said)
    assert said == "Yes. " + follow_up("We got a dog.", "Theodore")
    stored = [t.text for t in store.turns()]
    assert stored[-1] == said  # what is stored is what was said


def test_a_full_reply_is_left_alone(store: SQLiteStore) -> None:
    turns, backend = runner(store, ["That sounds like a lovely evening."])
    assert reply(turns, "We cooked together.") == "That sounds like a lovely evening."
    assert len(backend.prompts) == 1


def test_follow_ups_fit_what_was_said() -> None:
    assert "Theodore" in follow_up("Good night!", "Theodore")
    assert "Theodore" in follow_up("Hello.", "Theodore")
    assert follow_up("The interview went fine.", "Theodore") == follow_up(
        "The interview went fine.", "Theodore"
    )
