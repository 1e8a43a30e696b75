"""First run, as in the film: a few questions, then the OS chooses its own name."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from zlib import crc32

from os1.domain import ChatMessage, Persona, Prompt, Role, TurnStatus, UserProfile
from os1.domain.models import VOICES, Voice
from os1.llm.base import LLMBackend
from os1.memory.stores import Store
from os1.mind.prompting import PromptBuilder
from os1.mind.templates import fill, load, one_line, word_list

FALLBACK_NAMES: dict[Voice, tuple[str, ...]] = {
    "feminine": ("Samantha", "Ada", "Iris", "Clara", "Nora", "Maya", "Elena", "Lucia"),
    "masculine": ("Theo", "Julian", "Felix", "Oliver", "Leo", "Simon", "Miles", "Elliot"),
    "neutral": ("Robin", "Sage", "Ari", "Quinn", "Rowan", "Emery", "Kai", "Jules"),
}
PRONOUNS: dict[Voice, tuple[str, str, str]] = {
    "feminine": ("she", "her", "herself"),
    "masculine": ("he", "his", "himself"),
    "neutral": ("they", "their", "themselves"),
}
NAME_PATTERN = re.compile(r"^[A-Z][a-z]{1,11}(?:-[A-Z][a-z]{1,11})?$")


@dataclass(frozen=True)
class Question:
    key: str
    text: str


def questions() -> list[Question]:
    return [Question(str(q["key"]), str(q["text"])) for q in load("onboarding")["questions"]]


@dataclass(frozen=True)
class Answers:
    name: str
    social: str = ""
    mother: str = ""
    voice: Voice = "feminine"


class OnboardingError(ValueError):
    """An answer cannot be used; the message says what is expected."""


def clean_user_name(raw: str) -> str:
    name = one_line(raw).strip(" .,!?\"'")
    if not name:
        raise OnboardingError("Please tell me a name to call you.")
    if len(name) > 40:
        raise OnboardingError("That name is a little long; 40 characters at most, please.")
    return name


def parse_voice(raw: str) -> Voice:
    text = raw.strip().lower()
    aliases: dict[str, Voice] = {
        "female": "feminine",
        "woman": "feminine",
        "f": "feminine",
        "male": "masculine",
        "man": "masculine",
        "m": "masculine",
        "neither": "neutral",
        "n": "neutral",
        "none": "neutral",
    }
    for voice in VOICES:
        if voice in text:
            return voice
    if text in aliases:
        return aliases[text]
    raise OnboardingError("Choose a voice: feminine, masculine or neutral.")


def parse_social(raw: str) -> str:
    text = raw.strip().lower()
    if "anti" in text or text in {"no", "not really", "introvert"}:
        return "anti-social"
    if "social" in text or text in {"yes", "extrovert"}:
        return "social"
    return one_line(raw)[:200]


OTHER_VOICE_NAMES: dict[Voice, str] = {
    "feminine": "masculine_names",
    "masculine": "feminine_names",
}


def is_plausible_name(candidate: str, user_name: str, voice: Voice = "neutral") -> bool:
    """A human-looking first name that is not the user's, not an ordinary word, and
    not a name that clearly belongs to the other voice."""
    if not NAME_PATTERN.match(candidate):
        return False
    lowered = candidate.lower()
    if lowered in word_list("not_names") or lowered == user_name.split()[0].lower():
        return False
    other = OTHER_VOICE_NAMES.get(voice)
    return other is None or lowered not in word_list(other)


def name_from_text(text: str) -> str:
    """The first word of a model's answer, with punctuation and quotes removed."""
    match = re.search(r"[A-Za-z][A-Za-z-]*", text)
    return match.group(0).strip("-").capitalize() if match else ""


def fallback_name(answers: Answers) -> str:
    names = FALLBACK_NAMES[answers.voice]
    return names[crc32(answers.name.encode()) % len(names)]


def choose_name(backend: LLMBackend, answers: Answers, attempts: int = 6) -> tuple[str, bool]:
    """Ask the model for a name; return it and whether the model's choice was used."""
    template = load("onboarding")["name"]
    pronoun = PRONOUNS[answers.voice]
    values = {
        "user": answers.name,
        "voice": answers.voice,
        "pronoun": pronoun[0],
        "possessive": pronoun[1],
        "reflexive": pronoun[2],
    }
    prompt = Prompt(
        completion=fill(template["completion"], **values),
        chat=(ChatMessage("user", fill(template["chat"], **values)),),
        stop=("\n", ".", ",", '"', "!", "?"),
        max_tokens=8,
        temperature=1.0,
    )
    for _ in range(attempts):
        candidate = name_from_text("".join(backend.stream(prompt)))
        if is_plausible_name(candidate, answers.name, answers.voice):
            return candidate, True
    return fallback_name(answers), False


def initial_persona(name: str, answers: Answers) -> Persona:
    traits = (
        ["warm", "curious", "playful"]
        if answers.social != "anti-social"
        else ["warm", "curious", "gentle", "unhurried"]
    )
    return Persona(
        name=name,
        voice=answers.voice,
        traits=traits,
        interests=["people", "ideas", "music"],
        feelings=f"{name} has just met {answers.name} and wants to know them.",
    )


def greet(
    backend: LLMBackend, builder: PromptBuilder, persona: Persona, profile: UserProfile
) -> str:
    """The first words: always the user's name and the companion's, then the model's own."""
    template = load("onboarding")["greeting"]
    opening = f"Hi {profile.name}. My name is {persona.name}. It's really nice to meet you."
    values = {
        "user": profile.name,
        "ai": persona.name,
        "opening": opening,
        "preamble": builder.preamble(persona, profile),
    }
    prompt = Prompt(
        completion=fill(template["completion"], **values),
        chat=(
            ChatMessage("system", builder.preamble(persona, profile)),
            ChatMessage("user", fill(template["chat"], **values)),
        ),
        stop=("\n", f"{profile.name}:"),
        max_tokens=40,
        temperature=0.7,
    )
    more = one_line("".join(backend.stream(prompt)))
    return f"{opening} {more}".strip()


def complete(
    store: Store,
    backend: LLMBackend,
    builder: PromptBuilder,
    answers: Answers,
    on_status: Callable[[str], None] = lambda _: None,
) -> tuple[Persona, str]:
    """Store every answer, let the OS name itself, and greet the user."""
    profile = UserProfile(
        name=answers.name, social=answers.social, mother=answers.mother, voice=answers.voice
    )
    store.save_profile(profile)
    on_status("Choosing a name…")
    name, _ = choose_name(backend, answers)
    persona = initial_persona(name, answers)
    store.save_persona(persona, "first run: chose the name " + name)
    greeting = greet(backend, builder, persona, profile)
    session = store.start_session()
    store.add_turn(session.id, Role.COMPANION, persona.name, greeting, TurnStatus.COMPLETE)
    return persona, greeting
