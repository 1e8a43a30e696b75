"""What makes a reply too thin to stand: two words or fewer, or a bare question ("Why?",
"Really?", "Are you sure?"). The turn owner lets a base model go on with such a reply
once, and ``os1 eval companion`` counts them (``generic_reply_rate``)."""

from __future__ import annotations

import re
from zlib import crc32

from os1.mind.templates import fill, load

GOODBYE = re.compile(
    r"^\W*(?:good ?night|night|bye|goodbye|see you|talk (?:later|soon)|gotta go|off to bed)\b",
    re.IGNORECASE,
)
GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|morning|good morning|evening|good evening|afternoon)\W*$",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))


def generic(reply: str) -> bool:
    words = _words(reply)
    bare_question = reply.strip().endswith("?") and len(words) <= 3 and reply.count("?") == 1
    return len(words) <= 2 or bare_question


def follow_up(user_text: str, user_name: str) -> str:
    """A warm line to follow a thin reply, fitting what the user said (a goodbye, a
    greeting, anything else), the same for the same words."""
    kind = (
        "goodbye"
        if GOODBYE.search(user_text)
        else "greeting"
        if GREETING.search(user_text)
        else "other"
    )
    choices = load("conversation")["follow_up"][kind]
    return fill(choices[crc32(user_text.encode()) % len(choices)], user=user_name)
