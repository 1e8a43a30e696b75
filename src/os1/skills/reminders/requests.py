"""What a request asks for: "remind me to call Amy at five" is the text "call Amy" and a
time; "set a timer for 10 minutes" is a timer; "cancel the one about Amy" names a
reminder by its words. The text keeps the user's words (``speech.spoken`` turns them
when the companion speaks)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from os1.mind.templates import load
from os1.skills.reminders.speech import timer_name
from os1.skills.reminders.when import SPAN, When, duration, find_when

PACKAGE = "os1.skills.reminders"
# Words that join the trigger to what to be reminded of: "remind me *to* …". The first
# one is kept, to say it back ("remind you *about* the dentist").
LINKS = ("to", "about", "that")
_LEADING = {"to", "about", "that", "of", "for", "please", "and", "then", "me", "just", "also"}
_TRAILING = {"please", "thanks", "thank you", "ok", "okay", "for me", "and"}
# Times too vague to keep ("later"): not part of what to be reminded of either.
_TRAILING |= {"later", "later on", "soon", "sometime", "some time", "at some point"}
_TRAILING_WORDS = sorted(_TRAILING, key=len, reverse=True)


@cache
def prompts() -> dict[str, Any]:
    return load("reminders", PACKAGE)


@cache
def patterns(intent: str, key: str = "patterns") -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in prompts()[intent][key])


@dataclass(frozen=True)
class Request:
    """A reminder asked for: ``text`` in the user's words ("" when none was said),
    ``link`` ("to", "about", "that") and ``when`` (None when no time was understood)."""

    text: str
    when: When | None
    link: str = "to"
    timer: bool = False


def rest_of(message: str, intent: str) -> str | None:
    """What follows the trigger words of ``intent`` ("remind me", "set a timer")."""
    for pattern in patterns(intent):
        match = pattern.search(message)
        if match:
            return match.groupdict().get("rest") or ""
    return None


def split_request(message: str, now: datetime) -> Request:
    """A set request, taken apart; a message without trigger words is read whole."""
    rest = rest_of(message, "set")
    words = message if rest is None else rest
    if re.search(r"\btimer\b", words, re.IGNORECASE) and not re.search(
        r"\bremind\b", message, re.IGNORECASE
    ):
        return _timer(words, now)
    when = find_when(words, now)
    if when is not None:
        words = _without(words, when.spans)
    text, link = tidy(words)
    return Request(text, when, link)


def _timer(words: str, now: datetime) -> Request:
    """ "set a timer for 10 minutes", "a 10-minute pasta timer": it goes off after that."""
    span = SPAN.search(words)
    delta = duration(span.group()) if span else None
    if span is None or delta is None:
        return Request("timer", None, timer=True)
    when = find_when(f"in {span.group()}", now)
    label = _without(words, [span.span()])
    label = re.sub(r"\b(?:timer|for|of|a|an|the|me|please)\b", " ", label, flags=re.IGNORECASE)
    return Request(timer_name(delta, " ".join(label.split()).strip(" ,.!?")), when, timer=True)


def _without(words: str, spans: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    for start, end in sorted(spans, reverse=True):
        words = words[:start] + " " + words[end:]
    return words


def tidy(words: str) -> tuple[str, str]:
    """The words left once the time is taken out, without the joining words at either
    end: " to call Amy , please?" → ("call Amy", "to")."""
    text = " ".join(words.split())
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    link = "to"
    found_link = False
    while True:
        text = text.strip(" ,.!?;:")
        first, _, after = text.partition(" ")
        lowered = first.lower()
        if lowered in _LEADING:
            if lowered in LINKS and not found_link:
                link, found_link = lowered, True
            text = after
            continue
        lowered = text.lower()
        cut = next((w for w in _TRAILING_WORDS if lowered == w or lowered.endswith(" " + w)), None)
        if cut is None:
            return text, link
        text = text[: len(text) - len(cut)]


def cancel_about(message: str) -> str:
    """What a cancel names: "cancel my reminder to call Amy" → "call Amy", "delete the
    stretching reminder" → "stretching", "cancel the timer" → ""."""
    for pattern in patterns("cancel", "about"):
        match = pattern.search(message)
        if match:
            about, _ = tidy(match.group("about"))
            return about if content_words(about) else ""  # "the", "my": none in particular
    return ""


_STOP = frozenset(
    "a an the my me your you to about for of at on in one reminder reminders timer timers "
    "please that this it and remind i all every any those these".split()
)


def stem(word: str) -> str:
    """A word's plain form, for matching a cancel to a reminder: "stretching" →
    "stretch", "plants" → "plant" (not a real stemmer: enough for a few words)."""
    word = word.lower().removesuffix("'s")
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[\w']+", text.lower()) if w not in _STOP}
