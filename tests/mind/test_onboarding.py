from __future__ import annotations

import pytest

from os1.llm.base import estimate_tokens
from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import onboarding
from os1.mind.onboarding import Answers, OnboardingError
from os1.mind.prompting import Budget, PromptBuilder


@pytest.mark.parametrize("name", ["Samantha", "Iris", "Ainsley", "Mary-Jane"])
def test_plausible_names(name: str) -> None:
    assert onboarding.is_plausible_name(name, "Theodore", "feminine")


@pytest.mark.parametrize(
    "name", ["", "Theodore", "the", "Baby", "A", "samantha", "Assistant", "R2D2", "Strong", "Xy!"]
)
def test_implausible_names(name: str) -> None:
    assert not onboarding.is_plausible_name(name, "Theodore", "feminine")


def test_name_must_suit_the_chosen_voice() -> None:
    assert not onboarding.is_plausible_name("John", "Amy", "feminine")
    assert not onboarding.is_plausible_name("Emily", "Amy", "masculine")
    assert onboarding.is_plausible_name("John", "Amy", "neutral")


def test_model_choice_is_used_when_plausible() -> None:
    backend = ScriptedBackend([" the doggie", " Baby Jane", ' Aurora."'])
    name, chosen = onboarding.choose_name(backend, Answers(name="Theodore"))
    assert (name, chosen) == ("Aurora", True)
    assert "baby names" in backend.prompts[0].completion


def test_fallback_name_when_the_model_gives_nothing_usable() -> None:
    backend = ScriptedBackend([" Theodore", " ..."])
    name, chosen = onboarding.choose_name(backend, Answers(name="Theodore", voice="masculine"))
    assert not chosen
    assert name in onboarding.FALLBACK_NAMES["masculine"]


@pytest.mark.parametrize(
    ("raw", "voice"),
    [
        ("Feminine", "feminine"),
        ("male", "masculine"),
        ("a neutral one", "neutral"),
        ("f", "feminine"),
    ],
)
def test_voice_answers(raw: str, voice: str) -> None:
    assert onboarding.parse_voice(raw) == voice


def test_bad_answers_explain_themselves() -> None:
    with pytest.raises(OnboardingError, match="feminine, masculine or neutral"):
        onboarding.parse_voice("loud")
    with pytest.raises(OnboardingError, match="name"):
        onboarding.clean_user_name("   ")
    assert onboarding.parse_social("I'm pretty anti-social") == "anti-social"
    assert onboarding.parse_social("Social, I guess") == "social"


def test_questions_are_the_films() -> None:
    keys = [q.key for q in onboarding.questions()]
    assert keys == ["name", "social", "mother", "voice"]


def test_complete_stores_every_answer_and_greets_by_name(store: SQLiteStore) -> None:
    backend = ScriptedBackend([" Iris.", " I can't wait to hear about your day."])
    builder = PromptBuilder(Budget(2048, 96), estimate_tokens)
    answers = Answers(name="Theodore", social="anti-social", mother="distant", voice="feminine")
    persona, greeting = onboarding.complete(store, backend, builder, answers)
    assert persona.name == "Iris"
    assert greeting.startswith("Hi Theodore. My name is Iris.")
    assert "I can't wait" in greeting
    profile = store.profile()
    assert profile is not None
    assert (profile.name, profile.social, profile.mother, profile.voice) == (
        "Theodore",
        "anti-social",
        "distant",
        "feminine",
    )
    assert "gentle" in persona.traits  # the social answer shapes the persona
    assert store.recent_turns(1)[0].text == greeting
