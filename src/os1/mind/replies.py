"""What makes a reply too thin to stand: two words or fewer, or a bare question ("Why?",
"Really?", "What do you mean?"). The turn owner lets a base model go on with such a reply
once, and ``os1 eval companion`` counts them (``generic_reply_rate``)."""

from __future__ import annotations

import re


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))


def generic(reply: str) -> bool:
    words = _words(reply)
    bare_question = reply.strip().endswith("?") and len(words) <= 3 and reply.count("?") == 1
    return len(words) <= 2 or bare_question
