"""Saying a memory back to the person it is about: "I", "my" and "we" become "you",
"your" and "you", verbs agree ("I was" → "you were"), and relative dates get their day."""

from __future__ import annotations

import re
from datetime import datetime

from os1.skills.recollection.dates import dated

_SWAPS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "we": "you",
    "us": "you",
    "our": "your",
    "ours": "yours",
    "ourselves": "yourselves",
    "we're": "you're",
    "we've": "you've",
    "we'd": "you'd",
    "we'll": "you'll",
    "am": "are",
}
# "I was" first: at one place the first alternative that matches wins.
_WORD = re.compile(
    r"\b(?:I|we) (?:was|am)\b|\b(?:i'm|i've|i'd|i'll|we're|we've|we'd|we'll|i|me|my|mine|"
    r"myself|we|us|our|ours|ourselves)\b",
    re.IGNORECASE,
)


def _swap(found: re.Match[str]) -> str:
    word = found.group(0)
    lowered = word.lower().replace("’", "'")
    if lowered.endswith((" was", " am")):
        return "you were" if lowered.endswith("was") else "you are"
    # Lower case: "I" is capitalised anywhere, "you" only where a sentence begins.
    return _SWAPS.get(lowered, lowered)


def second_person(text: str) -> str:
    """The user's words addressed back to them."""
    text = text.replace("’", "'")
    out = _WORD.sub(_swap, text)
    out = re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)
    return out[:1].upper() + out[1:] if out else out


def when_said(moment: datetime, today: datetime) -> str:
    """ "on Tuesday 28 October" (with the year if it is not this one)."""
    text = f"on {moment:%A} {moment.day} {moment:%B}"
    return text if moment.year == today.year else f"{text} {moment.year}"


# "Small confession:", "Big change:", "Other news, less nice:" open a clause, and say
# nothing of what happened.
_PREAMBLE = re.compile(r"^(?:[\w' ,-]{2,30}):\s+(?=\S)")
# ", not Thursdays" after what holds now: the old value, said only to be left behind.
_NOT_OLD = re.compile(r",?\s+(?:not|no longer|instead of)\s+[^,.;!?]+(?=[,.;!?]|$)", re.I)


def told_back(text: str, said_at: datetime, latest_only: bool = False) -> str:
    """A clause of the user's, dated and turned round: "you started at Harbourside two
    weeks ago today (14 October)". ``latest_only``: what holds now, without the value it
    replaced ("chess club is on Wednesdays now")."""
    text = _PREAMBLE.sub("", text.strip())
    if latest_only:
        text = _NOT_OLD.sub("", text)
    # "on Wednesdays" is a habit: "every Wednesday".
    text = re.sub(
        r"\bon (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days\b",
        lambda m: f"every {m.group(1)}day",
        text,
        flags=re.IGNORECASE,
    )
    said = second_person(dated(text.strip(), said_at))
    return said if said.endswith((".", "!", "?")) else said + "."
