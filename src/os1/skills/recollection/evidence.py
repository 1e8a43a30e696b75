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

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from os1.domain import Role, Turn
from os1.memory.extraction import is_question
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.stemmer import stem
from os1.mind.templates import word_list
from os1.skills.recollection.dates import has_time
from os1.skills.recollection.kinds import is_kind_of
from os1.skills.recollection.questions import CALENDAR, LIKING, VERBS, Asked, words

# How many recalled turns are read for evidence.
CANDIDATES = 40
# The share of the question's (idf-weighted) content a clause and its turn must hold.
FLOOR = 0.5
RELATED_CREDIT = 0.6
TURN_CREDIT = 0.4
# The subject ("my mum", Gareth) weighs twice what the rest of the question does.
SUBJECT_WEIGHT = 2.0
# A clause holding the kind of answer asked for (a name, a date, a place) gains this; one
# lacking it keeps this share of its score.
ANSWER_BONUS = 0.25
LACKING = 0.6
LACKING_DATE = 0.4
# For "these days", what scores this share of the best may be told instead, if newer.
NOW_SHARE = 0.8
LATEST_BONUS = 0.35
SECOND_SHARE = 0.9
# Recall's order of the turns (BM25 and both models' meaning), as a share of this:
# 0, 0.2, 0.4, 0.8, 1.5, 3 and 10 gave 0.735, 0.735, 0.735, 0.75, 0.75, 0.765 and 0.75 on
# the tuning half of the companion set.
RECALLED = 3.0
# Meaning as well as words (MiniLM cosine): paraphrases score 0.4-0.7, unrelated
# sentences under 0.2.
DENSE = 0.0
DENSE_FROM = 0.2
ABSENT_WEIGHT = 0.5
NAMING = re.compile(r"(?i)\b(?:called|named|name is|name's|calls? (?:him|her|it|them))\b")
# A name given in words ("she named it nugget", "it's called the drowned crown"): how a
# name shows when the user writes all in lower case.
NAMED_AS = re.compile(
    r"(?i)\b(?:called|named|name is|name's)\s+(?:(?:it|him|her|them)\s+)?['\"]?([a-z][\w'-]*)"
)
NOT_A_NAME = frozenset("me you him her it us them my your his our their a an".split())
POINTING = re.compile(
    r"(?i)(?:it|is|it's|its|that|that's|thats|this|she|she's|shes|he|he's|hes|they|was)\b"
)
# "Mr. Pickles", "Dr. Nguyen": a full stop that ends no sentence.
TITLE = re.compile(r"(?i)\b(?:mr|mrs|ms|dr|st|prof|mt|jr|sr|no)\.$")
# Words that say something changed: for "these days", the clause that holds one is told.
CHANGE = re.compile(
    r"(?i)\b(?:now|instead|any ?more|no longer|switched|changed|started|new|moved|these days)\b"
)
# At most this many clauses of one turn are told back.
MAX_TOLD = 3
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
def related(name: str = "related") -> dict[str, frozenset[str]]:
    """Each word's stem to the stems of its related words (data/related.txt), or of the
    words that mean the same (``name="synonyms"``)."""
    from importlib.resources import files

    text = files(PACKAGE).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
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
    sentences: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+|\n+", turn.text):
        if sentences and TITLE.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence or is_question(sentence):
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


def statements(turns: Sequence[Turn], asking: str = "") -> list[Turn]:
    """The user's turns that state something: not the companion's, not a question (with
    or without its question mark), not the question being answered."""
    return [
        t
        for t in turns
        if t.role is Role.USER
        and t.text.strip() != asking.strip()
        # A turn that only asks; one that tells and then asks still tells.
        and not all(is_question(p) for p in re.split(r"(?<=[.!?])\s+", t.text.strip()) if p)
    ]


def find(
    asked: Asked,
    turns: Sequence[Turn],
    ignore_names: Sequence[str],
    aliases: Mapping[str, frozenset[str]] | None = None,
    embedder: Embedder | None = None,
) -> Evidence | None:
    """The best evidence among ``turns`` for ``asked``, or None when nothing covers it.
    ``aliases``: what else a word of the question may be called (from facts: "sister"
    is also "kavya"), so "my sister's baby" finds what was said of Kavya's."""
    pool = [c for t in statements(turns, asked.text) for c in clauses(t)]
    rank = {t.id: i for i, t in enumerate(turns)}
    if not pool or not asked.terms:
        return None
    df: dict[str, int] = {}
    for c in pool:
        for s in c.stems:
            df[s] = df.get(s, 0) + 1
    subject = set(asked.subject)
    groups = related()

    def weight(t: str) -> float:
        found = df.get(t, 0)
        w = math.log(1 + len(pool) / (1 + found)) * (SUBJECT_WEIGHT if t in subject else 1)
        # A word never said, nor any word related to it, weighs half: a person rarely
        # says a thing the way the question puts it ("film stock" for "Portra").
        if not found and not any(df.get(r) for r in groups.get(t, ())):
            w *= ABSENT_WEIGHT
        return w

    kinds = _kinds(asked, pool)
    idf = {t: weight(t) for t in asked.terms}
    total = sum(idf.values()) or 1.0
    same = related("synonyms")
    also = {
        t: (aliases or {}).get(t, frozenset())
        | same.get(t, frozenset())
        | kinds.get(t, frozenset())
        for t in asked.terms
    }

    def credit(term: str, stems: frozenset[str]) -> float:
        if term in stems or also[term] & stems:
            return 1.0
        return RELATED_CREDIT if groups.get(term, frozenset()) & stems else 0.0

    def cover(stems: frozenset[str], terms: Sequence[str] = asked.terms) -> float:
        return sum(idf[t] * credit(t, stems) for t in terms) / total

    by_turn: dict[int, list[Clause]] = {}
    for c in pool:
        by_turn.setdefault(c.turn.id, []).append(c)
    said_in = {tid: frozenset().union(*(c.stems for c in cs)) for tid, cs in by_turn.items()}
    times = sorted({c.turn.created_at for c in pool})
    # Names that stand for the subject ("Kavya" for "my sister") are not the answer.
    skip = {n.lower() for n in ignore_names} | {a for t in subject for a in also.get(t, ())}
    # Someone who writes all in lower case names no one in capitals: a name cannot be seen.
    capitals = sum(bool(re.search(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]", c.text)) for c in pool)
    lower = capitals * 10 < len(pool)
    # There a name is seen only where it is given in words ("she named it nugget").
    wants = "thing" if lower and asked.wants == "place" else asked.wants
    # What the question is about, when it was never spoken of at all: nothing answers it.
    unheard = [
        t
        for t in asked.required
        if not df.get(t) and not any(df.get(r) for r in same.get(t, frozenset()) | also[t])
    ]
    proper = proper_nouns(pool)
    meaning = _similarities(embedder, asked.text, pool)
    ranked: list[tuple[float, Clause]] = []
    owns: dict[int, float] = {}  # each clause's own share of the question
    for i, c in enumerate(pool):
        whole = said_in[c.turn.id]
        if subject and not any(credit(t, whole) == 1.0 for t in subject):
            continue  # a question about Tom is answered only by what was said of Tom
        if asked.in_law and not any(
            _said_of_another(asked.in_law, x.text) for x in by_turn[c.turn.id]
        ):
            continue  # "my mother-in-law" is someone's mother ("Jonas's mother"), not "my mum"
        if unheard:
            return None  # "my chess rating", and no rating was ever spoken of
        if asked.head and credit(asked.head, whole) < 1.0:
            continue  # "the surgeon's name" is not the name of someone else in the turn
        own = cover(c.stems)
        score = own + TURN_CREDIT * max(cover(whole) - own, 0.0)
        # Recall's own order (words and meaning, both models, over whole turns).
        score += RECALLED * (1.0 - rank[c.turn.id] / len(rank))
        score += DENSE * max(float(meaning[i]) - DENSE_FROM, 0.0)
        if _holds(wants, c.text, skip, proper, lower):
            score += ANSWER_BONUS if own > 0 else 0.0
            if wants == "name" and NAMING.search(c.text):
                score += ANSWER_BONUS  # "we called her Miso"
        elif wants != "thing":
            score *= LACKING_DATE if wants == "date" else LACKING
        if asked.now and len(times) > 1:
            score += LATEST_BONUS * own * times.index(c.turn.created_at) / (len(times) - 1)
        ranked.append((score, c))
        owns[id(c)] = own
    if not ranked:
        return None
    ranked.sort(key=lambda sc: -sc[0])
    # Liking is how a question asks, and is rarely said ("pecan is the only pie worth
    # eating" for "what kind of pie do I like best?"): it need not be covered.
    others = [t for t in asked.terms if t not in subject and t not in LIKING] or [
        t for t in asked.terms if t not in subject
    ]
    content = [t for t in asked.terms if t not in LIKING] or list(asked.terms)
    share = sum(idf[t] for t in others) / total

    def answers(chosen: Clause) -> bool:
        """Whether the turn of ``chosen`` covers enough of the question."""
        said = said_in[chosen.turn.id]
        # What holds the answer asked for ("from Alicante" for "where does my mother
        # live?") need say less of the rest.
        holds = wants != "thing" and _holds(wants, chosen.text, skip, proper, lower)
        floor = (0.0 if wants == "place" else FLOOR / 2) if holds else FLOOR
        if others and cover(said, others) / share < floor:
            return False  # it speaks of the subject, but says nothing of what is asked
        return cover(said, content) * total / sum(idf[t] for t in content) >= FLOOR

    candidates = [ranked[0][1]]
    if asked.now:
        # "These days": of what answers nearly as well, the latest that answers holds;
        # of its turn, the best clause ("I am still off coffee. Mint tea every morning."
        # for what is drunk in the mornings). A clause that says nothing of the question
        # is none, however high recall ranked its turn ("Realistically.").
        close = [
            (score, c)
            for score, c in ranked
            if score >= NOW_SHARE * ranked[0][0] and owns[id(c)] > 0
        ] or ranked[:1]
        close.sort(key=lambda sc: (sc[1].turn.created_at, sc[0]), reverse=True)
        candidates = [c for _, c in close]
    chosen = next((c for c in candidates if answers(c)), None)
    if chosen is None:
        return None
    whole_cover = cover(said_in[chosen.turn.id])
    told = _told(asked, wants, chosen, by_turn[chosen.turn.id], skip, credit, proper, lower)
    # "What's my niece called?" is not answered by what she did. (The name asked for may
    # be one the subject goes by: "my husband Karim".) Where names cannot be seen, it
    # cannot be told that none is there.
    named = skip - also.get(asked.head, frozenset())
    if (
        wants == "name"
        and asked.head
        and not lower
        and not any(_holds(wants, c.text, named, proper) for c in told)
    ):
        return None
    # An open question ("what should you know about what I eat?") may be answered by two
    # statements that score alike: both are told, the best first.
    if asked.wants == "thing" and not asked.now:
        for score, other in ranked[1:4]:
            if other.turn.id != chosen.turn.id and score >= SECOND_SHARE * ranked[0][0]:
                told = (*told, other)
                break
    return Evidence(chosen.turn, told, whole_cover)


# Whose a relation is, when it is not the user's: "Jonas's", "beckys", "my husband's".
_POSSESSOR = re.compile(r"(?i)^[a-z]+(?:'s|’s|s')$|^[a-z]+s$")
_NOT_POSSESSORS = frozenset("his its hers yours ours theirs this is was as us has does".split())


def _said_of_another(relation: str, text: str) -> bool:
    """Whether ``text`` names ``relation`` (or a word for it: "mum") as someone else's."""
    wanted = {stem(relation)} | related("synonyms").get(stem(relation), frozenset())
    said = re.findall(r"[\w'’]+", text)
    return any(
        stem(after.lower()) in wanted
        and _POSSESSOR.match(before)
        and before.lower() not in _NOT_POSSESSORS
        for before, after in itertools.pairwise(said)
    )


def _kinds(asked: Asked, pool: Sequence[Clause]) -> dict[str, frozenset[str]]:
    """Each term of the question to the stems of the pool's words that name a kind of it
    (WordNet: "tabby" for "cat", "boleros" for "music")."""
    surface = {stem(w.split("'")[0]): w.split("'")[0] for w in words(asked.text)}
    vocabulary = {stem(w.split("'")[0]): w.split("'")[0] for c in pool for w in words(c.text)}
    out: dict[str, frozenset[str]] = {}
    for term in asked.terms:
        # Nouns only: "what was I building?" asks what, not which building.
        if term not in surface or surface[term].endswith("ing") or surface[term] in VERBS:
            continue
        found = frozenset(
            s for s, w in vocabulary.items() if w.isalpha() and is_kind_of(w, surface[term])
        )
        if found:
            out[term] = found
    return out


def _holds(
    wants: str,
    text: str,
    skip: set[str],
    proper: frozenset[str] = frozenset(),
    lower: bool = False,
) -> bool:
    if wants == "date":
        return has_time(text)
    if wants == "name" and lower:
        return any(
            m.group(1).lower() not in NOT_A_NAME and m.group(1).lower() not in skip
            for m in NAMED_AS.finditer(text)
        )
    if wants in ("name", "place"):
        # A capitalised word that is not the clause's first (unless the user writes it
        # capitalised everywhere: a name), nor a common word, nor a nationality.
        found = [
            m.group(0)
            for m in re.finditer(r"\b[A-Z][\w'.&-]*\w", text)
            if m.start() > 0 or m.group(0) in proper
        ]
        return any(
            n.lower() not in skip
            and n.lower() not in word_list("not_names")
            and n.lower() not in CALENDAR
            and not n.startswith("I'")
            and not n.endswith(("ish", "ese", "ian"))
            for n in found
        )
    return False


_VECTORS: dict[str, npt.NDArray[np.float32]] = {}
VECTORS_KEPT = 20_000


def _similarities(
    embedder: Embedder | None, question: str, pool: Sequence[Clause]
) -> npt.NDArray[np.float64]:
    """The question's cosine to each clause (zeros without a model). Clause vectors are
    kept by text: a clause is encoded once per process (about 12 ms each on 2 cores)."""
    if embedder is None:
        return np.zeros(len(pool))
    texts = [c.text for c in pool]
    new = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
    if new:
        if len(_VECTORS) + len(new) > VECTORS_KEPT:
            _VECTORS.clear()
        for text, vector in zip(new, embedder.passages(new), strict=True):
            _VECTORS[text] = vector
    asked = embedder.queries([question])[0]
    return np.array([float(_VECTORS[t] @ asked) for t in texts])


def proper_nouns(pool: Sequence[Clause]) -> frozenset[str]:
    """Words the user writes capitalised at the start of a clause at least twice and
    never in lower case: names ("Nuria, my sous chef, …", "Nuria is happy …")."""
    first: dict[str, int] = {}
    lower: set[str] = set()
    for c in pool:
        found = re.findall(r"\b[\w'-]+", c.text)
        if found and found[0][:1].isupper():
            first[found[0]] = first.get(found[0], 0) + 1
        lower.update(w for w in found if w[:1].islower())
    return frozenset(w for w, n in first.items() if n >= 2 and w.lower() not in lower)


def _told(
    asked: Asked,
    wants: str,
    chosen: Clause,
    siblings: list[Clause],
    skip: set[str],
    credit: Callable[[str, frozenset[str]], float],
    proper: frozenset[str],
    lower: bool,
) -> tuple[Clause, ...]:
    """The clauses to tell back: the best; the one with the date or the name when the
    best lacks it; others of its turn that hold words of the question it lacks; the one
    before a short best, which it often continues."""
    picked = [chosen]
    if asked.now:
        # What changed is often said right after what was ("Book club finished X, and now
        # we've started Y"): then the clause after, which says so, is what holds now.
        after = [c for c in siblings if c.position == chosen.position + 1]
        if not CHANGE.search(chosen.text) and after and CHANGE.search(after[0].text):
            return (after[0],)
        return (chosen,)
    if not _holds(wants, chosen.text, skip, proper, lower) and wants != "thing":
        holding = [
            c for c in siblings if c is not chosen and _holds(wants, c.text, skip, proper, lower)
        ]
        if holding:
            picked.append(min(holding, key=lambda c: abs(c.position - chosen.position)))
    missing = [t for t in asked.terms if not credit(t, chosen.stems)]
    for c in sorted(siblings, key=lambda c: abs(c.position - chosen.position)):
        if len(picked) >= MAX_TOLD or not missing:
            break
        if c not in picked and any(credit(t, c.stems) for t in missing):
            picked.append(c)
            missing = [t for t in missing if not credit(t, c.stems)]
    short = len(chosen.text.split())
    # A short clause, or one that begins by pointing back ("Is my favourite thing…",
    # "It's the café…"), is told with the one before it.
    pointing = bool(POINTING.match(chosen.text))
    if chosen.position > 0 and (short < 5 or pointing or (short < 7 and len(picked) == 1)):
        picked.extend(c for c in siblings if c.position == chosen.position - 1)
    return tuple(sorted(dict.fromkeys(picked), key=lambda c: c.position))
