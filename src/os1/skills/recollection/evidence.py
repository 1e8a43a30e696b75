"""Finding what the user said that answers a question about their life.

Only the user's own statements are evidence: never their questions, never the companion's
replies (which echo and may be wrong). Candidates come from recall; each statement is cut
into clauses, and each clause scored by the question's content words it holds (rare words
weigh more, a related word counts at a discount), with credit from the rest of its turn,
a bonus when it holds the kind of answer wanted (a name, a date, a place), and, for "these
days" questions, for being the latest. The best is evidence only when it covers enough
of the question: otherwise the companion says it does not know.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from os1.domain import Role, Turn
from os1.memory.recall.stemmer import stem
from os1.mind.templates import word_list
from os1.skills.recollection.dates import has_time
from os1.skills.recollection.questions import Asked, words

# How many recalled turns are read for evidence.
CANDIDATES = 40
# The share of the question's (idf-weighted) content a clause and its turn must hold.
FLOOR = 0.5
RELATED_CREDIT = 0.6
TURN_CREDIT = 0.4
ANSWER_BONUS = 0.25
LATEST_BONUS = 0.35
PACKAGE = "os1.skills.recollection"


@dataclass(frozen=True)
class Clause:
    turn: Turn
    text: str
    position: int
    stems: frozenset[str]


@dataclass(frozen=True)
class Evidence:
    turn: Turn
    clauses: tuple[Clause, ...]  # in the order said
    coverage: float


@cache
def related() -> dict[str, frozenset[str]]:
    """Each word's stem to the stems of its related words (data/related.txt)."""
    from importlib.resources import files

    text = files(PACKAGE).joinpath("data", "related.txt").read_text(encoding="utf-8")
    groups: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        stems = {stem(w) for w in line.split()}
        for s in stems:
            groups.setdefault(s, set()).update(stems)
    return {k: frozenset(v) for k, v in groups.items()}


def clauses(turn: Turn) -> list[Clause]:
    """A statement's clauses: its sentences, cut again at ", and", ";" and " but " when
    both halves are long enough to stand alone. Questions are dropped."""
    out: list[Clause] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", turn.text):
        sentence = sentence.strip()
        if not sentence or sentence.endswith("?"):
            continue
        parts = re.split(r",\s+and\s+|;\s+|\s+but\s+|\s+-\s+|\s+—\s+", sentence)
        merged: list[str] = []
        for part in parts:
            if merged and (len(part.split()) < 4 or len(merged[-1].split()) < 4):
                merged[-1] = f"{merged[-1]}, {part}"
            else:
                merged.append(part)
        for part in merged:
            stems = frozenset(stem(w.split("'")[0]) for w in words(part))
            out.append(Clause(turn, part.strip(), len(out), stems))
    return out


def statements(turns: Sequence[Turn]) -> list[Turn]:
    return [t for t in turns if t.role is Role.USER and not t.text.strip().endswith("?")]


def find(asked: Asked, turns: Sequence[Turn], ignore_names: Sequence[str]) -> Evidence | None:
    """The best evidence among ``turns`` for ``asked``, or None when nothing covers it."""
    pool = [c for t in statements(turns) for c in clauses(t)]
    if not pool or not asked.terms:
        return None
    df: dict[str, int] = {}
    for c in pool:
        for s in c.stems:
            df[s] = df.get(s, 0) + 1
    idf = {t: math.log(1 + len(pool) / (1 + df.get(t, 0))) for t in asked.terms}
    total = sum(idf.values()) or 1.0
    groups = related()
    named = {stem(n.lower()) for n in asked.names}

    def cover(stems: frozenset[str]) -> float:
        got = 0.0
        for term in asked.terms:
            if term in stems:
                got += idf[term]
            elif groups.get(term, frozenset()) & stems:
                got += RELATED_CREDIT * idf[term]
        return got / total

    by_turn: dict[int, list[Clause]] = {}
    for c in pool:
        by_turn.setdefault(c.turn.id, []).append(c)
    times = sorted({c.turn.created_at for c in pool})
    skip = {n.lower() for n in ignore_names}
    best: tuple[float, Clause] | None = None
    for c in pool:
        own = cover(c.stems)
        whole = cover(frozenset().union(*(o.stems for o in by_turn[c.turn.id])))
        if named and not named <= frozenset().union(*(o.stems for o in by_turn[c.turn.id])):
            continue  # a question about Tom is answered only by what was said of Tom
        score = own + TURN_CREDIT * max(whole - own, 0.0)
        if _holds(asked.wants, c.text, skip):
            score += ANSWER_BONUS * own
        if asked.now and len(times) > 1:
            score += LATEST_BONUS * own * times.index(c.turn.created_at) / (len(times) - 1)
        if best is None or score > best[0] + 1e-9:
            best = (score, c)
    if best is None:
        return None
    chosen = best[1]
    siblings = by_turn[chosen.turn.id]
    whole = cover(frozenset().union(*(o.stems for o in siblings)))
    content = [t for t in asked.terms if t not in named]
    if content and _content_cover(asked, content, siblings, groups) < FLOOR:
        return None  # it names the person, but says nothing of what is asked
    if max(cover(chosen.stems), TURN_CREDIT * whole) < FLOOR * 0.6 or whole < FLOOR:
        return None
    return Evidence(chosen.turn, _told(asked, chosen, siblings, skip), whole)


def _content_cover(
    asked: Asked, content: list[str], siblings: list[Clause], groups: dict[str, frozenset[str]]
) -> float:
    stems = frozenset().union(*(c.stems for c in siblings))
    hit = sum(
        1.0 if t in stems else RELATED_CREDIT if groups.get(t, frozenset()) & stems else 0.0
        for t in content
    )
    return hit / len(content)


def _holds(wants: str, text: str, skip: set[str]) -> bool:
    if wants == "date":
        return has_time(text)
    if wants in ("name", "place"):
        # A capitalised word that is not the clause's first, nor a common word: a name.
        found = [m.group(0) for m in re.finditer(r"\b[A-Z][\w'.&-]*\w", text) if m.start() > 0]
        return any(n.lower() not in skip and n.lower() not in _common() for n in found)
    return False


@cache
def _common() -> frozenset[str]:
    return word_list("not_names")


def _told(
    asked: Asked, chosen: Clause, siblings: list[Clause], skip: set[str]
) -> tuple[Clause, ...]:
    """The clauses to tell back: the best; the one with the date or the name when the
    best lacks it; the one before a short best, which it often continues."""
    picked = [chosen]
    if not asked.now:
        if not _holds(asked.wants, chosen.text, skip) and asked.wants != "thing":
            holding = [c for c in siblings if c is not chosen and _holds(asked.wants, c.text, skip)]
            if holding:
                picked.append(min(holding, key=lambda c: abs(c.position - chosen.position)))
        if len(chosen.text.split()) < 7 and chosen.position > 0 and len(picked) == 1:
            before = [c for c in siblings if c.position == chosen.position - 1]
            picked.extend(before)
    return tuple(sorted(picked, key=lambda c: c.position))
