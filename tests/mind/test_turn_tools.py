"""A turn with a capable model behind the OpenAI-compatible API (the FAKE server, which
emits streamed tool calls): the reminders skill's tools, read directly, and a reminder the
model sets only after the user's yes. And local intents matched by meaning (MiniLM)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from os1.domain import Persona, UserProfile
from os1.llm.base import estimate_tokens
from os1.llm.openai_compat import OpenAICompatBackend
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import load_embedder
from os1.memory.recall.retrieval import KeywordRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import plugins
from os1.mind.companion import Companion
from os1.mind.events import ActionTaken, ConfirmationAsked, Event, Token
from os1.mind.intents import IntentMatcher
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.turn import TurnRunner
from tests.support.fake_openai_server import FakeOpenAIServer, FakeToolCall, running


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with running() as server:
        yield server


def capable_turns(store: SQLiteStore, fake: FakeOpenAIServer) -> TurnRunner:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    backend = OpenAICompatBackend(f"{fake.url}/v1", "fake-llm", sleep=lambda s: None)
    builder = PromptBuilder(Budget(4096, 128), estimate_tokens)
    companion = Companion(store, backend, KeywordRetriever(store), builder)
    return TurnRunner(companion, plugins.manager(entry_points=False), timezone=ZoneInfo("UTC"))


def said(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, Token))


def test_a_capable_model_sets_a_reminder_through_its_tool_after_yes(
    store: SQLiteStore, fake: FakeOpenAIServer
) -> None:
    turns = capable_turns(store, fake)
    arguments = json.dumps({"text": "call Amy", "when": "in 2 hours"})
    fake.answers = [[FakeToolCall("call_1", "set_reminder", arguments)]]
    found = list(turns.run("Could you remind me to call Amy in a couple of hours?"))
    sent = fake.requests[0]["body"]
    assert {t["function"]["name"] for t in sent["tools"]} >= {
        "set_reminder",
        "list_reminders",
        "cancel_reminder",
    }
    [asked] = [e for e in found if isinstance(e, ConfirmationAsked)]
    assert "call Amy" in asked.question and said(found) == asked.question
    assert store.agenda.scheduled_items() == []  # nothing set before the yes

    answer = list(turns.run("yes"))
    assert [e.via for e in answer if isinstance(e, ActionTaken)] == ["confirmation"]
    [reminder] = store.agenda.scheduled_items()
    assert reminder.text == "call Amy" and reminder.skill == "reminders"
    assert len(fake.requests) == 1  # the yes was answered without the model


def test_a_read_only_tool_runs_at_once_and_its_result_goes_back(
    store: SQLiteStore, fake: FakeOpenAIServer
) -> None:
    turns = capable_turns(store, fake)
    fake.answers = [
        [FakeToolCall("call_1", "list_reminders", "{}")],
        "You have no reminders at the moment.",
    ]
    found = list(turns.run("What are my reminders?"))
    assert said(found) == "You have no reminders at the moment."
    second = fake.requests[1]["body"]["messages"]
    called, result = second[-2:]
    assert called["role"] == "assistant" and called["tool_calls"][0]["id"] == "call_1"
    assert result["role"] == "tool" and result["tool_call_id"] == "call_1"
    assert not [e for e in found if isinstance(e, ConfirmationAsked)]


def test_intents_catch_a_paraphrase_by_meaning_and_leave_small_talk() -> None:
    """Patterns miss some phrasings; MiniLM's similarity to the skills' examples catches
    them, and plain conversation stays with the model."""
    skills = plugins.manager(entry_points=False)
    matcher = IntentMatcher(skills.intents, load_embedder("minilm"))
    no_embedder = IntentMatcher(skills.intents)
    paraphrase = "remember to water the plants on monday for me"
    found = matcher.match(paraphrase)
    assert found is not None and (found[0].skill, found[0].name) == ("reminders", "set")
    assert found[1].score < 1.0  # by similarity, not a pattern
    assert no_embedder.match(paraphrase) is None  # the patterns alone miss it
    # A question about reminders lists them; it is not a request to set one.
    question = matcher.match("what did I ask you to remind me about")
    assert question is not None and question[0].name == "list"
    for talk in ("I had a lovely walk by the sea today", "Do you like Mondays?", "Tell me a joke"):
        assert matcher.match(talk) is None, talk


def test_a_capable_model_recalls_the_users_own_words_through_its_tool(
    store: SQLiteStore, fake: FakeOpenAIServer
) -> None:
    turns = capable_turns(store, fake)
    fake.answers = ["I'm sorry to hear that."]
    list(turns.run("My ex-wife Catherine wants me to sign the divorce papers."))
    Memorizer(store, []).index()  # the facts, extracted from the user's words
    fake.answers = [
        [FakeToolCall("call_1", "recall_memory", json.dumps({"question": "Who is Catherine?"}))],
        "Catherine is your ex-wife.",
    ]
    found = list(turns.run("Who is Catherine?"))
    assert said(found) == "Catherine is your ex-wife."
    result = json.loads(fake.requests[-1]["body"]["messages"][-1]["content"])["result"]
    recalled = json.loads(result)
    assert "your ex-wife" in recalled["told"].lower()
    assert {"fact": "Theodore ex-wife: Catherine", "since": recalled["facts"][0]["since"]} in (
        recalled["facts"]
    )
