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


# A word as a name is matched: letters, with inner apostrophes or hyphens ("O'Brien",
# "Mary-Jane's"). Names are compared as words, not as a regular expression each: with
# thousands of users, one pattern per name filled Python's cache of 512 compiled patterns
# and every pattern anywhere was compiled again (bench.load at 8,316 sessions: 5.5% of
# the server's CPU in re.compile).
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def _first_names(names: Iterable[str]) -> dict[str, str]:
    """Each participant's first name, lower-cased, to the name."""
    return {name.split()[0].lower(): name for name in names if name.split()}


def _bare(word: str) -> str:
    """The word lower-cased, without a trailing 's: "Caroline's" is "caroline"."""
    lowered = word.lower().replace("’", "'")
    return lowered[:-2] if lowered.endswith("'s") else lowered


def strip_names(question: str, names: Iterable[str]) -> str:
    """The question without the participants' first names (and a trailing 's)."""
    firsts = _first_names(names)
    if not firsts:
        return " ".join(question.split())
    kept = _WORD.sub(lambda m: "" if _bare(m.group(0)) in firsts else m.group(0), question)
    return " ".join(kept.split())


def mentioned(question: str, names: Iterable[str]) -> set[str]:
    """Participants named in the question, by first name."""
    firsts = _first_names(names)
    if not firsts:
        return set()
    said = {_bare(w) for w in _WORD.findall(question)} | {
        w.lower() for w in _WORD.findall(question)
    }
    return {name for first, name in firsts.items() if first in said}
