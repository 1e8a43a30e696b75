"""Consolidation, on ``os1 sleep`` or when a session ends: what the session was about,
who the user is now, and what keeps coming up.

Summaries are extractive (the most important things actually said, and the facts
drawn from them), so even the smallest model leaves faithful ones; every summary keeps
links to the turns it came from, so forgetting a turn removes its summaries too.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace

from os1.domain import Fact, Role, Summary, UserProfile
from os1.memory.stores import Store
from os1.mind.templates import one_line, word_list
from os1.skills.reflection.journal import PACKAGE, WORD

MAX_SUMMARY_TURNS = 3
MAX_PROFILE_VALUES = 3


def first_sentence(text: str, limit: int = 160) -> str:
    sentence = re.split(r"(?<=[.!?])\s", one_line(text), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def summarize_session(store: Store, session_id: int) -> Summary | None:
    turns = store.turns(session_id)
    if not turns:
        return None
    store.summaries.clear("session", session_id)
    picked = sorted(turns, key=lambda t: (-t.importance, t.id))[:MAX_SUMMARY_TURNS]
    picked.sort(key=lambda t: t.id)
    facts = store.facts.from_turns(t.id for t in turns)
    said = "; ".join(f"{t.speaker}: {first_sentence(t.text)}" for t in picked)
    text = f"{turns[0].created_at:%d %B %Y}: {said}"
    if facts:
        text += " Learned: " + "; ".join(f.text for f in facts[:5]) + "."
    sources = {t.id for t in picked} | {s for f in facts[:5] for s in f.source_turn_ids}
    return store.summaries.add("session", text, sorted(sources), session_id=session_id)


def update_profile(store: Store) -> UserProfile | None:
    """Fold the current facts about the user into the profile the prompt uses."""
    profile = store.profile()
    if profile is None:
        return None
    about: dict[str, list[Fact]] = defaultdict(list)
    for fact in store.facts.list():
        if fact.subject == profile.name:
            about[fact.predicate].append(fact)
    facts = {
        predicate: ", ".join(
            f.value for f in sorted(found, key=lambda f: -f.importance)[:MAX_PROFILE_VALUES]
        )
        for predicate, found in about.items()
    }
    updated = replace(profile, facts=facts)
    store.save_profile(updated)
    store.summaries.clear("profile")
    if facts:
        sources = sorted({s for found in about.values() for f in found for s in f.source_turn_ids})
        lines = "; ".join(f"{k}: {v}" for k, v in facts.items())
        store.summaries.add("profile", f"{profile.name}: {lines}", sources)
    return updated


def insights(store: Store, min_sessions: int = 2) -> list[Summary]:
    """Topics the user returns to across sessions, for the persona to grow from."""
    profile = store.profile()
    if profile is None:
        return []
    stop = word_list("stopwords", PACKAGE) | {profile.name.lower()}
    sessions_of: dict[str, set[int]] = defaultdict(set)
    turns_of: dict[str, list[int]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for turn in store.turns():
        if turn.role is not Role.USER:
            continue
        for word in {w.strip("'-") for w in WORD.findall(turn.text.lower())}:
            if word not in stop and len(word) > 3:
                sessions_of[word].add(turn.session_id)
                turns_of[word].append(turn.id)
                counts[word] += 1
    recurring = [w for w, _ in counts.most_common() if len(sessions_of[w]) >= min_sessions][:5]
    store.summaries.clear("insight")
    return [
        store.summaries.add(
            "insight",
            f"{profile.name} keeps coming back to {word} ({len(sessions_of[word])} sessions).",
            turns_of[word][-20:],
        )
        for word in recurring
    ]


def consolidate(store: Store, session_id: int) -> None:
    summarize_session(store, session_id)
    update_profile(store)
    insights(store)
