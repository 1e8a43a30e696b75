"""How turns and questions are turned into text for the search indexes.

Two lessons from measuring on long conversations shape this:

- A turn often makes sense only with the one before it ("Yes! Last Saturday."), so the
  *context* passage carries the previous turn of the same session.
- Names swamp embedding similarity: the other person's turns say "Wow, Caroline!" all the
  time. So *who* is handled by speaker labels, full-text search and a speaker prior, and
  the dense query is also run with participants' names removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from os1.domain import Turn

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
MIN_UNIT_CHARS = 25
CONTEXT_CHARS = 300
# A pasted megabyte must not take minutes to embed: its opening is indexed densely, and
# the whole of it stays in the full-text index.
MAX_UNITS = 24
MAX_UNIT_CHARS = 600
MAX_PASSAGE_CHARS = 2000


def body(turn: Turn) -> str:
    return f"{turn.text} [shared image: {turn.extra}]" if turn.extra else turn.text


def context_passage(turn: Turn, previous: Turn | None) -> str:
    here = f"{turn.speaker}: {body(turn)}"[:MAX_PASSAGE_CHARS]
    if previous is None or previous.session_id != turn.session_id:
        return here
    return f"({previous.speaker}: {body(previous)[:CONTEXT_CHARS]}) {here}"


def sentence_units(turn: Turn) -> list[str]:
    """The turn's sentences, tiny fragments merged into a neighbour, each with the speaker."""
    merged: list[str] = []
    buffer = ""
    for sentence in _SENTENCE_END.split(turn.text[: MAX_UNITS * MAX_UNIT_CHARS]):
        buffer = f"{buffer} {sentence.strip()}".strip()
        if len(buffer) >= MIN_UNIT_CHARS:
            merged.append(buffer)
            buffer = ""
    if buffer:
        if merged:
            merged[-1] += " " + buffer
        else:
            merged.append(buffer)
    units = [f"{turn.speaker}: {s[:MAX_UNIT_CHARS]}" for s in merged[:MAX_UNITS] if s]
    if turn.extra:
        units.append(f"{turn.speaker} shared an image: {turn.extra}")
    return units or [f"{turn.speaker}: {turn.text}"]


def strip_names(question: str, names: Iterable[str]) -> str:
    """The question without the participants' first names (and a trailing 's)."""
    for name in names:
        first = name.split()[0] if name.split() else ""
        if first:
            question = re.sub(rf"\b{re.escape(first)}('s)?\b", "", question, flags=re.IGNORECASE)
    return " ".join(question.split())


def mentioned(question: str, names: Iterable[str]) -> set[str]:
    """Participants named in the question, by first name."""
    found = set()
    for name in names:
        first = name.split()[0] if name.split() else ""
        if first and re.search(rf"\b{re.escape(first)}\b", question, re.IGNORECASE):
            found.add(name)
    return found
