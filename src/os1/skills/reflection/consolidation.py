"""Consolidation, on ``os1 sleep`` or when a session ends: what the session was about,
who the user is now, and what keeps coming up.

Summaries are extractive: the user's own statements (never their questions, never the
companion's replies), retold in the third person and cut to their most telling clauses
("01 May 2023: Theodore said they live in Los Angeles, and that their sister Ann moved
to Paris last year."), so even the smallest model leaves faithful ones. Every summary
keeps links to the turns it came from, so forgetting a turn removes its summaries too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from os1.domain import Fact, Role, Summary, UserProfile
from os1.memory.stores import Store
from os1.mind.templates import counted
from os1.skills.reflection.retelling import and_that, is_question, salient, sentences, statements
from os1.skills.reflection.words import recurring, topics

MAX_SUMMARY_STATEMENTS = 3
MAX_SUMMARY_CHARS = 320
MAX_PROFILE_VALUES = 3


def summarize_session(store: Store, session_id: int) -> Summary | None:
    turns = store.turns(session_id)
    if not turns:
        return None
    store.summaries.clear("session", session_id)
    persona = store.persona()
    user_turns = [t for t in turns if t.role is Role.USER]
    companion = persona.name if persona is not None else ""
    if not companion:
        companion = next((t.speaker for t in turns if t.role is Role.COMPANION), "")
    user = user_turns[0].speaker if user_turns else ""
    facts = store.facts.from_turns(t.id for t in user_turns)
    about = topics(turns, [companion, user])
    fact_turns = (s for f in facts for s in f.source_turn_ids)
    told = salient(
        statements(turns, companion, user, fact_turns, about),
        MAX_SUMMARY_STATEMENTS,
        max_chars=MAX_SUMMARY_CHARS,
    )
    day = f"{turns[0].created_at:%d %B %Y}"
    if told:
        said = f"{user} said {and_that([s.text for s in told])}."
        sources = sorted({s.turn_id for s in told})
    else:
        questions = sum(1 for t in user_turns for s in sentences(t.text) if is_question(s))
        who = " and ".join(n for n in (user, companion) if n) or "They"
        said = f"{user} asked {counted(questions, 'question')}." if questions else f"{who} talked."
        sources = [t.id for t in user_turns] or [turns[0].id]
    return store.summaries.add("session", f"{day}: {said}", sources, session_id=session_id)


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
    """Topics and people the user returns to across sessions, for the persona to grow
    from; never the companion itself, never a stop or question word."""
    profile = store.profile()
    if profile is None:
        return []
    persona = store.persona()
    exclude = [profile.name, *([persona.name] if persona is not None else [])]
    found = recurring(store.turns(), exclude, min_sessions)
    store.summaries.clear("insight")
    return [
        store.summaries.add(
            "insight",
            f"{profile.name} keeps coming back to {r.word} ({counted(r.sessions, 'session')}).",
            r.turn_ids,
        )
        for r in found
    ]


def consolidate(store: Store, session_id: int) -> None:
    summarize_session(store, session_id)
    update_profile(store)
    insights(store)
