"""After a session ends, the companion reflects: a journal entry, and a persona that grows.

The journal entry is written by the model (with a plain fallback); the rest is
deterministic, so even the smallest model leaves a sensible persona behind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from os1.domain import ChatMessage, JournalEntry, Persona, Prompt, Role, Turn, UserProfile
from os1.llm.base import BackendError, LLMBackend
from os1.memory.storage.codec import now
from os1.memory.stores import Store
from os1.mind.templates import fill, load, one_line, word_list

PACKAGE = "os1.skills.reflection"
MAX_INTERESTS = 8
WORD = re.compile(r"[a-zA-Z][a-zA-Z'-]{2,}")
LOW_WORDS = frozenset(
    "sad lonely tired alone anxious afraid scared depressed hurt upset angry lost worried "
    "miss divorce cry crying grief stressed".split()
)
LAUGH_WORDS = frozenset("haha hahaha lol funny joke laugh laughing hilarious".split())


def topics(turns: Sequence[Turn], exclude: Sequence[str], n: int = 3) -> list[str]:
    """The user's most repeated content words in the session."""
    stop = word_list("stopwords", PACKAGE) | {e.lower() for e in exclude}
    counts: Counter[str] = Counter()
    for turn in turns:
        if turn.role is Role.USER:
            for word in WORD.findall(turn.text.lower()):
                word = word.strip("'-")
                if word not in stop and len(word) > 2:
                    counts[word] += 1
    return [w for w, _ in counts.most_common(n)]


def closeness(sessions_together: int) -> str:
    if sessions_together <= 1:
        return "is curious about"
    if sessions_together <= 4:
        return "is growing fond of"
    return "feels close to"


def _journal(
    backend: LLMBackend, persona: Persona, profile: UserProfile, turns: Sequence[Turn], about: str
) -> str:
    transcript = "\n".join(f"{t.speaker}: {one_line(t.text)[:300]}" for t in turns[-12:])
    template = load("reflection", PACKAGE)
    values = {
        "ai": persona.name,
        "user": profile.name,
        "date": now().strftime("%d %B %Y"),
        "topics": about,
        "transcript": transcript,
    }
    prompt = Prompt(
        completion=fill(template["completion"], **values),
        chat=(ChatMessage("user", fill(template["chat"], **values)),),
        stop=("\n",),
        max_tokens=40,
        temperature=0.7,
    )
    try:
        written = one_line("".join(backend.stream(prompt)))
    except BackendError:
        written = ""
    if written.lower().startswith("i felt"):
        written = written[6:].strip()
    sentence = f"I felt {written}" if written else "I felt glad we talked."
    return f"Today {profile.name} and I talked about {about}. {sentence}"


def reflect(store: Store, backend: LLMBackend, session_id: int) -> Persona | None:
    """Update the persona from one ended session; keep the old version."""
    persona, profile = store.persona(), store.profile()
    turns = store.turns(session_id)
    if persona is None or profile is None or not any(t.role is Role.USER for t in turns):
        store.mark_reflected(session_id)
        return None
    found = topics(turns, exclude=[persona.name, profile.name])
    about = ", ".join(found) if found else "small things"
    entry = JournalEntry(now(), _journal(backend, persona, profile, turns, about))

    together = persona.sessions_together + 1
    interests = list(dict.fromkeys([*found, *persona.interests]))[:MAX_INTERESTS]
    user_words = {w for t in turns if t.role is Role.USER for w in WORD.findall(t.text.lower())}
    feelings = f"{persona.name} {closeness(together)} {profile.name}."
    if user_words & LOW_WORDS:
        feelings += f" Lately {persona.pronoun} worries about how {profile.name} is doing."
    traits = list(persona.traits)
    if user_words & LAUGH_WORDS and "funny" not in traits:
        traits.append("funny")
    if together >= 3 and "attentive" not in traits:
        traits.append("attentive")

    grown = replace(
        persona,
        traits=traits,
        interests=interests,
        feelings=feelings,
        journal=[*persona.journal, entry],
        sessions_together=together,
    )
    store.save_persona(grown, f"reflection on session {session_id}")
    store.mark_reflected(session_id)
    return grown
