"""After a session ends, the companion reflects: a journal entry, and a persona that grows.

The journal entry says what happened in the session, in the companion's voice and in
complete sentences. On the embedded Gemma 3 270M base model, entries the model wrote
were invented and stopped mid-sentence ("…and she said:"), so the entry is built from
the user's own statements (``retelling``): "Today Sam told me they finished their
first pottery bowl." The base model may add one sentence on how the companion felt,
kept only if it is complete and mentions nothing the user did not say. A capable model (one that
calls tools) writes the entry from the same statements, cut to complete sentences.
The persona (interests, feelings, traits) is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from os1.domain import ChatMessage, JournalEntry, Persona, Prompt, Role, Turn, UserProfile
from os1.llm.base import BackendError, LLMBackend, ToolBackend
from os1.memory.storage.codec import now
from os1.memory.stores import Store
from os1.mind.templates import fill, load, word_list
from os1.skills.reflection.retelling import (
    PACKAGE,
    WORD,
    Statement,
    and_that,
    complete_sentences,
    is_question,
    salient,
    sentences,
    statement_sentences,
    statements,
)
from os1.skills.reflection.words import is_content, topics

MAX_INTERESTS = 8
ENTRY_STATEMENTS = 3
ENTRY_CHARS = 360
MAX_FELT_WORDS = 14  # a feeling is short; longer sentences went on to make claims
LOW_WORDS = frozenset(
    "sad lonely tired alone anxious afraid scared depressed hurt upset angry lost worried "
    "miss divorce cry crying grief stressed".split()
)
LAUGH_WORDS = frozenset("haha hahaha lol funny joke laugh laughing hilarious".split())


def closeness(sessions_together: int) -> str:
    if sessions_together <= 1:
        return "is curious about"
    if sessions_together <= 4:
        return "is growing fond of"
    return "feels close to"


def retold(user: str, told: Sequence[Statement], asked: bool) -> str:
    """The entry from what the user stated: "Today Sam told me A. Sam also said B,
    and that C." With nothing stated, it says so plainly."""
    if not told:
        if asked:
            return f"Today {user} mostly asked me questions."
        return f"Today {user} and I talked for a little while."
    entry = f"Today {user} told me {told[0].text}."
    if len(told) > 1:
        entry += f" {user} also said {and_that([s.text for s in told[1:]])}."
    return entry


def _stem(word: str) -> str:
    for suffix in ("'s", "ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Not common enough to allow unsaid: a "she" the user never said invents someone.
_GENDERED = frozenset("he she him her his hers himself herself he's she's".split())


def grounded(sentence: str, turns: Sequence[Turn], names: Sequence[str]) -> bool:
    """Whether a model's sentence is complete, short, says how the companion felt and
    mentions nothing the user did not say: each of its words is a common word, a
    feeling, a word a journal uses ("talked", "hear"), a name of the two of them, or a
    word the user said. On the bundled 270M model, for two made-up sessions, 9 of 30
    sentences passed, each a short feeling ("I felt bad for them."); before the rules on
    length, commas and unsaid "she"/"he", sentences that went on to invent ("I felt
    really nervous, as we're the only ones in this class.") passed too."""
    words = [w.lower().strip("'-") for w in WORD.findall(sentence)]
    if not 3 <= len(words) <= MAX_FELT_WORDS or complete_sentences(sentence, 1) != sentence:
        return False
    if any(mark in sentence for mark in ',:;"()[]') or is_question(sentence):
        return False
    feelings = word_list("feelings", PACKAGE)
    if not feelings & set(words):
        return False
    said = {_stem(w.lower()) for t in turns if t.role is Role.USER for w in WORD.findall(t.text)}
    common = (
        (word_list("stopwords", PACKAGE) - _GENDERED)
        | feelings
        | word_list("journal_words", PACKAGE)
        | {part.lower() for name in names for part in name.split()}
    )
    return all(w in common or _stem(w) in said or _stem(w) in common for w in words)


def _values(persona: Persona, profile: UserProfile, entry: str, said: str) -> dict[str, str]:
    return {
        "ai": persona.name,
        "user": profile.name,
        "date": now().strftime("%d %B %Y"),
        "entry": entry,
        "said": said,
    }


def _felt(
    backend: LLMBackend, persona: Persona, profile: UserProfile, turns: Sequence[Turn], entry: str
) -> str:
    """One sentence from the base model on how the companion felt, or "" if the one it
    wrote is cut short or mentions anything the user did not say."""
    template = load("reflection", PACKAGE)
    prompt = Prompt(
        completion=fill(template["completion"], **_values(persona, profile, entry, "")),
        chat=(ChatMessage("user", fill(template["felt"], **_values(persona, profile, entry, ""))),),
        stop=("\n",),
        max_tokens=40,
        temperature=0.7,
    )
    try:
        written = "".join(backend.stream(prompt)).strip()
    except BackendError:
        return ""
    if written.lower().startswith("i felt"):
        written = written[6:].strip()
    sentence = complete_sentences(f"I felt {written}", limit=1)
    return sentence if grounded(sentence, turns, [persona.name, profile.name]) else ""


def _capable(
    backend: LLMBackend, persona: Persona, profile: UserProfile, turns: Sequence[Turn]
) -> str:
    """The entry written by a capable model from the user's statements, kept to its
    complete sentences; "" if nothing complete came back."""
    said = "\n".join(f"{profile.name}: {s}" for _, s in statement_sentences(turns))
    if not said:
        return ""
    template = load("reflection", PACKAGE)
    values = _values(persona, profile, "", said[-3000:])
    prompt = Prompt(
        completion=fill(template["completion"], **values),
        chat=(ChatMessage("user", fill(template["chat"], **values)),),
        max_tokens=160,
        temperature=0.4,
    )
    try:
        written = "".join(backend.stream(prompt))
    except BackendError:
        return ""
    # A heading ("**Journal, 2 March**") or a label line is not part of the entry.
    lines = [line.strip(" *#_") for line in written.replace("**", "").splitlines()]
    while lines and not complete_sentences(lines[0], 1):
        lines.pop(0)
    return complete_sentences(" ".join(lines), limit=4)


def journal_entry(
    backend: LLMBackend | None, persona: Persona, profile: UserProfile, turns: Sequence[Turn]
) -> str:
    """What the companion writes in its journal about these turns of one session."""
    if backend is not None and isinstance(backend, ToolBackend):
        written = _capable(backend, persona, profile, turns)
        if written:
            return written
    about = topics(turns, exclude=[persona.name, profile.name])
    told = salient(
        statements(turns, persona.name, profile.name, about=about),
        ENTRY_STATEMENTS,
        max_chars=ENTRY_CHARS,
    )
    asked = any(is_question(s) for t in turns if t.role is Role.USER for s in sentences(t.text))
    entry = retold(profile.name, told, asked)
    felt = _felt(backend, persona, profile, turns, entry) if backend is not None and told else ""
    if not felt and told and _user_words(turns) & LOW_WORDS:
        felt = f"I hope {profile.name} is all right."
    return f"{entry} {felt}".strip()


def _user_words(turns: Sequence[Turn]) -> set[str]:
    return {w.lower() for t in turns if t.role is Role.USER for w in WORD.findall(t.text)}


def _kept_interests(old: Sequence[str], names: Sequence[str]) -> list[str]:
    """Earlier interests that are still sensible topics (versions written before the
    rules could hold question words or names)."""
    parts = {part.lower() for name in names for part in name.split()}
    return [i for i in old if is_content(i) and i.lower() not in parts]


def reflect(store: Store, backend: LLMBackend | None, session_id: int) -> Persona | None:
    """Update the persona from one ended session; keep the old version."""
    persona, profile = store.persona(), store.profile()
    turns = store.turns(session_id)
    if persona is None or profile is None or not any(t.role is Role.USER for t in turns):
        store.mark_reflected(session_id)
        return None
    names = [persona.name, profile.name]
    entry = JournalEntry(now(), journal_entry(backend, persona, profile, turns))

    together = persona.sessions_together + 1
    found = topics(turns, exclude=names)
    interests = list(dict.fromkeys([*found, *_kept_interests(persona.interests, names)]))
    user_words = _user_words(turns)
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
        interests=interests[:MAX_INTERESTS],
        feelings=feelings,
        journal=[*persona.journal, entry],
        sessions_together=together,
    )
    store.save_persona(grown, f"reflection on session {session_id}")
    store.mark_reflected(session_id)
    return grown
