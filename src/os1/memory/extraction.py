"""Fact extraction from conversation turns.

Two paths share one output type:

- ``extract_rules`` is deterministic language processing that works with no model at all
  (the embedded 270M model is too weak to extract reliably). It reads first-person
  statements: relationships ("my sister Ann"), places ("I moved to Paris"), work,
  likes and dislikes, plans and events, each with the time the turn was said.
- ``extract_with_model`` asks a capable instruction model for JSON, when one is
  configured, and validates what comes back.

Every fact names its subject, a predicate and a value, so a later fact with the same
subject and a single-valued predicate replaces the old one (see ``items.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from os1.domain import ChatMessage, Prompt
from os1.llm.base import BackendError, LLMBackend

RELATIONS = (
    "wife husband partner girlfriend boyfriend fiance fiancee ex-wife ex-husband ex mother mom "
    "mum father dad sister brother son daughter grandmother grandma grandfather grandpa aunt "
    "uncle cousin niece nephew friend best friend boss colleague coworker roommate neighbor "
    "neighbour therapist doctor dog cat pet kids children manager flatmate housemate "
    "stepmother stepfather stepson stepdaughter grandson granddaughter teacher coach"
).split()
# Predicates that hold one value at a time: a new value ends the old one.
SINGLE_VALUED = frozenset(
    {
        "lives in",
        "works as",
        "works at",
        "age",
        "name",
        "wife",
        "husband",
        "partner",
        "girlfriend",
        "boyfriend",
        "boss",
        "mother",
        "father",
        "relationship status",
    }
)
_REL = "|".join(sorted((re.escape(r) for r in RELATIONS), key=len, reverse=True))
_NAME = r"(?P<value>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
# A thing runs to the end of its clause; a full stop inside a word ("letters.com",
# "St. James") does not end it.
_THING = r"(?P<value>(?:[^.!?,;]|\.(?=\S)){2,80})"
_I = r"\b(?i:I)"
_MY = r"\b(?i:my)"


def _p(pattern: str, caseless: bool = True) -> re.Pattern[str]:
    # Names must stay capitalised, so only patterns without a name are caseless.
    return re.compile(pattern, re.IGNORECASE if caseless else 0)


# (pattern, kind, predicate); a predicate may name the pattern's `rel` group as {rel}.
PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        _p(rf"{_MY} (?P<rel>{_REL})(?:'s name is| is called| is named|,)? {_NAME}", False),
        "relationship",
        "{rel}",
    ),
    (_p(rf"{_NAME} is {_MY} (?P<rel>{_REL})\b", False), "relationship", "{rel}"),
    (
        _p(rf"{_NAME}, {_MY} (?:old |former |late )?(?P<rel>{_REL})\b", False),
        "relationship",
        "{rel}",
    ),
    (_p(rf"{_I} (?:live|am living|'m living) in {_THING}"), "place", "lives in"),
    (_p(rf"{_I} (?:just )?(?:moved|relocated) to {_THING}"), "place", "lives in"),
    (_p(rf"{_I}(?: am|'m) from {_THING}"), "place", "from"),
    (_p(rf"{_I} work (?:as an?|as) {_THING}"), "work", "works as"),
    (_p(rf"{_I} work (?:at|for) {_THING}"), "work", "works at"),
    (
        _p(
            rf"{_I}(?: am|'m) an? (?:[\w-]+ ){{1,3}}(?:at|for) "
            r"(?P<value>[A-Z][\w.&'-]*(?: [A-Z][\w.&'-]*)*)",
            False,
        ),
        "work",
        "works at",
    ),
    (
        _p(
            rf"{_I}(?: am|'m) an? (?P<value>(?:[a-z]+ ){{0,2}}(?:writer|teacher|engineer|nurse|"
            r"doctor|artist|student|designer|developer|lawyer|musician|painter|chef|manager|"
            r"counselor|therapist|programmer|photographer|scientist|researcher))\b"
        ),
        "work",
        "works as",
    ),
    (_p(rf"{_I}(?: really)? (?:love|like|enjoy|adore) {_THING}"), "preference", "likes"),
    (_p(rf"{_I}(?: really)? (?:hate|dislike|can't stand) {_THING}"), "preference", "dislikes"),
    (_p(rf"{_MY} favou?rite (?P<rel>[a-z ]{{2,20}}) is {_THING}"), "preference", "favourite {rel}"),
    (_p(rf"{_I}(?:'m| am) (?:going|planning|hoping) to {_THING}"), "plan", "plans to"),
    (_p(rf"{_I} (?:will|'ll|want to|plan to|intend to) {_THING}"), "plan", "plans to"),
    (_p(rf"{_I} (?:went|traveled|travelled|flew|drove) to {_THING}"), "event", "went to"),
    (
        _p(rf"{_I} (?:visited|attended|joined|started|finished|adopted|bought) {_THING}"),
        "event",
        "did",
    ),
    (_p(rf"{_I}(?:'m| am) (?P<value>\d{{1,3}}) years old\b"), "person", "age"),
    (
        _p(rf"{_I}(?:'m| am| got) (?P<value>married|divorced|single|engaged|separated)\b"),
        "person",
        "relationship status",
    ),
)
_CLAUSE_END = re.compile(
    r"\s(?:and|but|because|so|which|who|when|while|though|although|since|if)\s|"
    r"\s(?:now|again|anymore|any more|these days)(?=\s*$)|"
    r"\s(?:yesterday|today|tonight|tomorrow|last|next|this|in (?:the )?(?:morning|evening|"
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|\d{4})|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
IMPORTANT_WORDS = frozenset(
    "love loved died death born married divorce divorced pregnant baby wedding job fired hired "
    "promoted moved diagnosed hospital cancer graduated birthday anniversary papers sign signed "
    "afraid scared proud grateful sorry lonely".split()
)


@dataclass(frozen=True)
class ExtractedFact:
    kind: str
    subject: str
    predicate: str
    value: str
    importance: float

    @property
    def text(self) -> str:
        return f"{self.subject} {self.predicate}: {self.value}"

    @property
    def single_valued(self) -> bool:
        return self.predicate in SINGLE_VALUED


def _clean(value: str) -> str:
    """The fact itself: the clause up to a conjunction or a time phrase, with its quotes
    whole ('a song called "The Moon Song"' keeps its closing quote)."""
    value = _CLAUSE_END.split(" " + value + " ", maxsplit=1)[0].strip(" .,!?;:")
    if value.count('"') % 2:
        value = value.strip('"')
    if value.count("'") % 2 and (value.endswith("'") or value.startswith("'")):
        value = value.strip("'")
    return value.strip()


def importance(text: str) -> float:
    """0..1: how much a turn is worth remembering, from cheap signals only."""
    words = re.findall(r"[A-Za-z']+", text)
    if not words:
        return 0.0
    lowered = {w.lower() for w in words}
    score = 0.15
    score += min(len(words), 40) / 200  # longer turns carry more
    score += 0.25 * bool(lowered & IMPORTANT_WORDS)
    score += 0.15 * bool({"i", "my", "me", "i'm"} & lowered)
    score += 0.1 * min(sum(1 for w in words[1:] if w[0].isupper()), 3) / 3  # named things
    score += 0.1 * bool(re.search(r"\d", text))
    return round(min(score, 1.0), 3)


QUESTION_START = re.compile(
    r"^\W*(?:who|what|whats|what's|which|where|when|why|how|do|does|did|is|are|was|were|"
    r"can|could|would|should|will|shall|have|has)\b",
    re.IGNORECASE,
)


def is_question(sentence: str) -> bool:
    """A question, with its question mark or (typed quickly) without one: "whats my dogs
    name again". "Is my favourite thing to cook." ends like a statement and is one."""
    sentence = sentence.strip()
    if sentence.endswith("?"):
        return True
    return bool(QUESTION_START.match(sentence)) and not sentence.endswith((".", "!"))


def extract_rules(text: str, speaker: str) -> list[ExtractedFact]:
    """Facts stated in ``text`` by ``speaker`` (call it with the user's own turns only);
    questions state nothing ("What is my sister's name?" is not a sister called What)."""
    found: dict[tuple[str, str], ExtractedFact] = {}
    base = importance(text)
    for sentence in _sentences(text):
        if is_question(sentence):
            continue
        for pattern, kind, predicate in PATTERNS:
            for match in pattern.finditer(sentence):
                value = _clean(match.group("value"))
                if len(value) < 2:
                    continue
                groups = match.groupdict()
                pred = predicate.format(rel=(groups.get("rel") or "").strip().lower())
                weight = 0.3 if kind in ("relationship", "person", "place", "work") else 0.15
                fact = ExtractedFact(kind, speaker, pred, value, round(min(base + weight, 1.0), 3))
                found.setdefault((pred, value.lower()), fact)
    return list(found.values())


def _sentences(text: str) -> Iterator[str]:
    for part in re.split(r"(?<=[.!?])\s+|\n+", text):
        if part.strip():
            yield part.strip()


EXTRACTION_INSTRUCTIONS = (
    "Extract lasting facts about people from this message by {speaker}: relationships, "
    "places, work, preferences, plans and events. Answer with JSON only: "
    '{{"facts": [{{"kind": "relationship|place|work|preference|plan|event|person", '
    '"subject": "who it is about", "predicate": "short verb phrase", "value": "the fact", '
    '"importance": 0.0-1.0}}]}}. Use [] when there is nothing worth remembering.\n\n'
    "Message: {text}"
)


def extract_with_model(backend: LLMBackend, text: str, speaker: str) -> list[ExtractedFact]:
    """Ask an instruction model for facts as JSON; anything malformed is dropped."""
    prompt = Prompt(
        completion="",
        chat=(ChatMessage("user", EXTRACTION_INSTRUCTIONS.format(speaker=speaker, text=text)),),
        max_tokens=400,
        temperature=0.0,
    )
    try:
        raw = "".join(backend.stream(prompt))
    except BackendError:
        return []
    return parse_model_facts(raw, speaker)


def parse_model_facts(raw: str, speaker: str) -> list[ExtractedFact]:
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        return []
    try:
        data = json.loads(raw[start : end + 1])
    except json.JSONDecodeError:
        return []
    facts = []
    for item in data.get("facts", []) if isinstance(data, dict) else []:
        if not isinstance(item, dict):
            continue
        value = str(item.get("value", "")).strip()
        predicate = str(item.get("predicate", "")).strip().lower()
        if not value or not predicate:
            continue
        try:
            weight = float(item.get("importance", 0.5))
        except (TypeError, ValueError):
            weight = 0.5
        facts.append(
            ExtractedFact(
                kind=str(item.get("kind", "event"))[:20],
                subject=str(item.get("subject") or speaker)[:60],
                predicate=predicate[:60],
                value=value[:300],
                importance=min(max(weight, 0.0), 1.0),
            )
        )
    return facts
