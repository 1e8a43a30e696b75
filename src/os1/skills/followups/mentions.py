"""Something ahead in what the user says: "I've got a job interview at Harbourside on
Thursday" is ``your job interview at Harbourside``, on Thursday.

Only statements count: a question ("should I go to the interview on Thursday?"), a
request ("remind me…"), the past ("the date on Saturday went well") and what may not
happen ("if I get an interview…", "the party was called off") note nothing. The event
is an event noun with its words ("my sister's wedding in Leeds") or, failing one, what
the user will be doing ("I'm signing the divorce papers next week"), said back in the
second person. Words and patterns live in ``prompts/followups.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from os1.mind.templates import load
from os1.skills.followups.ahead import Ahead, find_ahead

PACKAGE = "os1.skills.followups"
DETERMINERS = {"a", "an", "the", "my", "our", "his", "her", "their", "this", "that", "your"}
# Ours become the user's: "a date" is "your date", "his exam" stays his.
YOURS = {"a", "an", "the", "my", "our", "this", "that", "your"}
# A clause ends at these (and at punctuation) when reading what the user will be doing.
CLAUSE_ENDS = {"and", "but", "so", "because", "cause", "which", "though", "although", "or"}
LEFT_AT_MOST = 4  # words before the event noun: "a big job interview"
TAIL_AT_MOST = 4  # words after its join: "with Sam"
VERB_AT_MOST = 6  # words after the verb: "signing the divorce papers"
TOKEN = re.compile(r"[A-Za-z][\w'-]*|\d[\w:.]*|[,;:()\"]")
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
DOUBLED = {"run": "running", "quit": "quitting", "get": "getting", "sit": "sitting"}
DOUBLED |= {"stop": "stopping", "plan": "planning", "swim": "swimming", "shop": "shopping"}


@dataclass(frozen=True)
class Mention:
    """Something ahead: ``event`` as the companion says it, ``key`` the word that names
    it ("interview"), and when it happens."""

    event: str
    key: str
    ahead: Ahead


@cache
def words() -> dict[str, Any]:
    found: dict[str, Any] = load("followups", PACKAGE)["mention"]
    return found


@cache
def _skips() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in words()["skip"])


@cache
def _person() -> re.Pattern[str]:
    return re.compile(words()["person"], re.IGNORECASE)


@cache
def _verb_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    verbs = "|".join(sorted(map(re.escape, words()["verbs"]), key=len, reverse=True))
    doing = re.compile(
        rf"\b(?:i'?m|i am|we'?re|we are|i'll be|we'll be|i will be|we will be)\s+"
        rf"(?:finally\s+|actually\s+|officially\s+)?(?P<verb>{verbs})\b(?P<rest>.*)",
        re.IGNORECASE,
    )
    going = re.compile(
        r"\b(?:i'?m going to|i am going to|i'?m gonna|we'?re going to|i'll|i will|we'll|"
        r"i have to|i've got to|we have to)\s+(?:finally\s+|actually\s+)?(?P<base>[a-z]+)\b"
        r"(?P<rest>.*)",
        re.IGNORECASE,
    )
    return doing, going


def sentences(text: str) -> Iterator[str]:
    for match in SENTENCE.finditer(text.replace("\u2019", "'")):
        sentence = match.group(0).strip()
        if sentence:
            yield sentence


def is_statement(sentence: str) -> bool:
    """A statement about the user, not a question, a request, the past or a maybe."""
    if sentence.rstrip().endswith("?"):
        return False
    if any(p.search(sentence) for p in _skips()):
        return False
    return _person().search(sentence) is not None


def find_mentions(text: str, now: datetime) -> list[Mention]:
    """What is ahead in ``text`` (one thing a sentence), said relative to ``now``."""
    found = []
    for sentence in sentences(text):
        if not is_statement(sentence):
            continue
        ahead = find_ahead(sentence, now)
        if ahead is None:
            continue
        start, end = ahead.span
        rest = f"{sentence[:start]} , {sentence[end:]}"  # the phrase stops at the time words
        event = _doing(rest) or _event(rest)
        if event is not None:
            found.append(Mention(event[0], event[1], ahead))
    return found


@cache
def _plan_pattern() -> re.Pattern[str]:
    def either(name: str) -> str:
        return "|".join(sorted(map(re.escape, words()[name]), key=len, reverse=True))

    return re.compile(
        rf"\b(?:{either('plan_leads')})\s+(?:finally\s+|really\s+|just\s+)?"
        rf"(?:(?P<people>{either('plan_people')})|(?P<things>{either('plan_things')}))\b"
        r"(?P<rest>.*)",
        re.IGNORECASE,
    )


def find_plans(text: str, now: datetime) -> list[Mention]:
    """Plans with no day ("I should call my sister", "I'd like to take up climbing"),
    as mentions on the day they were said (``key`` is the plan's last word)."""
    found = []
    for sentence in sentences(text):
        if not is_statement(sentence) or find_ahead(sentence, now) is not None:
            continue
        match = _plan_pattern().search(sentence)
        if match is None:
            continue
        verb = match.group("people") or match.group("things")
        tail = _clause(match.group("rest"))
        if not tail or tail[0].lower() in {"you", "yours", "it", "that", "this", "what", "how"}:
            continue
        if match.group("people"):
            tail = _person_words(tail)
            if not tail:
                continue  # a person: "your sister", "Amy"; not "see what happens"
        day = now.date()
        ahead = Ahead(day, day, match.span(), match.group(0))
        found.append(Mention(" ".join([verb.lower(), *tail]), tail[-1].lower(), ahead))
    return found


def _person_words(tail: list[str]) -> list[str]:
    """The person a plan is about, and no more: "your sister" (of "your sister for
    ages"), "your sister's husband", "Amy Reyes"."""
    if tail[0] == "your":
        end = 2
        while end < len(tail) and tail[end - 1].endswith("'s"):
            end += 1
        return tail[:end] if len(tail) > 1 else []
    end = 0
    while end < len(tail) and tail[end][0].isupper() and tail[end] != "I":
        end += 1
    return tail[:end]


def _clause(text: str) -> list[str]:
    """The words of the clause that starts ``text``, said back: "my dad" is "your dad"."""
    taken: list[str] = []
    for token in TOKEN.findall(text)[:VERB_AT_MOST]:
        if token.lower() in CLAUSE_ENDS or not token[0].isalpha():
            break
        taken.append(second_person(token))
    return taken


def past_mention(text: str, key: str) -> bool:
    """Whether ``text`` tells how the thing named ``key`` went ("the interview went
    well"): then there is nothing left to ask."""
    # The key is found as words, not compiled into a pattern per key (see
    # os1.memory.recall.passages on Python's cache of compiled patterns).
    wanted = key.lower().split()
    return any(
        _holds_words(s, wanted)
        and not s.rstrip().endswith("?")
        and re.search(r"\b(?:went|was|were|had|did|got|gave)\b", s, re.IGNORECASE)
        for s in sentences(text)
    )


def _holds_words(text: str, wanted: list[str]) -> bool:
    said = [t.lower().removesuffix("'s") for t in TOKEN.findall(text)]
    n = len(wanted)
    return n > 0 and any(said[i : i + n] == wanted for i in range(len(said) - n + 1))


def second_person(word: str) -> str:
    said: dict[str, str] = words()["second_person"]
    return said.get(word.lower(), word)


def _event(text: str) -> tuple[str, str] | None:
    """An event noun and its words: "my sister's wedding in Leeds"."""
    tokens = TOKEN.findall(text)
    lower = [t.lower() for t in tokens]
    events = set(words()["events"])
    for i, word in enumerate(lower):
        pair = f"{word} {lower[i + 1]}" if i + 1 < len(lower) else ""
        if pair in events:
            noun, end = tokens[i : i + 2], i + 2
        elif word in events:
            noun, end = tokens[i : i + 1], i + 1
        else:
            continue
        head, owned = _before(tokens, i)
        key = " ".join(noun).lower()
        if not owned and key not in words()["bare"]:
            continue  # "test it tomorrow", "move on": no event
        if key in words()["visits"]:
            noun = [*noun, "appointment"]
        phrase = [*head, *noun, *_after(tokens, end)]
        first = head[0].lower() if head else ""
        if first in YOURS:
            phrase[0] = "your"
        elif first not in {"his", "her", "their"} and not first.endswith(("'s", "s'")):
            phrase.insert(0, "your")
        return " ".join(second_person(w) if w.lower() != "your" else w for w in phrase), key
    return None


def _before(tokens: list[str], at: int) -> tuple[list[str], bool]:
    """The words before the noun, back to its determiner: "a big job" (and whether it
    has one, or an owner: "Amy's")."""
    stops = set(words()["stops"])
    taken: list[str] = []
    owned = False
    for token in reversed(tokens[max(0, at - LEFT_AT_MOST) : at]):
        word = token.lower()
        if word in DETERMINERS:
            return [token, *taken], True
        if word in stops or not word[0].isalpha():
            break
        if word.endswith(("'s", "s'")):
            owned = True
        taken.insert(0, token)
    return taken, owned


def _after(tokens: list[str], at: int) -> list[str]:
    """The words after the noun, led by a join: "with Sam", "at Harbourside"."""
    if at >= len(tokens) or tokens[at].lower() not in words()["joins"]:
        return []
    stops = set(words()["stops"])
    taken = [tokens[at]]
    for token in tokens[at + 1 : at + 1 + TAIL_AT_MOST]:
        word = token.lower()
        if word in stops or word in CLAUSE_ENDS or not word[0].isalpha():
            break
        taken.append(token)
    return taken if len(taken) > 1 else []


def _doing(text: str) -> tuple[str, str] | None:
    """What the user will be doing: "signing the divorce papers"."""
    doing, going = _verb_patterns()
    verbs = set(words()["verbs"])
    verb = rest = ""
    if found := doing.search(text):
        verb, rest = found.group("verb").lower(), found.group("rest")
    elif (found := going.search(text)) and gerund(found.group("base").lower()) in verbs:
        verb, rest = gerund(found.group("base").lower()), found.group("rest")
    if not verb:
        return None
    taken = _clause(rest)
    if taken and taken[0].lower() in {"you", "yours", "it", "that", "this"}:
        return None  # "I'm meeting you tomorrow", "I'm seeing it through": no event
    if not taken and " " not in verb:
        return None  # "I'm leaving tomorrow" alone says too little; "getting married" not
    return " ".join([verb, *taken]), verb


def gerund(base: str) -> str:
    """ "sign" is "signing", "move" "moving", "run" "running"."""
    if base.endswith("ing"):
        return base
    if base in DOUBLED:
        return DOUBLED[base]
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        return base[:-1] + "ing"
    return base + "ing"
