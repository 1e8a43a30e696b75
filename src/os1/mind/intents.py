"""Local intents: a person's request matched before any model is asked.

The embedded 270M base model cannot call tools or follow instructions, so requests a
skill can serve ("remind me to…", "what are my reminders?") are matched here first, as
Home Assistant's Assist matches its local intents ahead of its LLM: each skill's
patterns, then, for what the patterns miss, the similarity of the message to the skill's
example phrasings. Only the user's own message is matched, never recalled memory or
other content, so words from mail or earlier turns cannot trigger anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from os1.memory.recall.embedding import Embedder, Vectors
from os1.mind.skill import Intent, IntentMatch

# all-MiniLM-L6-v2 cosine of a message to an intent's nearest example. Paraphrases of a
# request score about 0.75-0.9; small talk that shares a word ("I love Mondays") stays
# under 0.6. A miss only means the model answers instead, so the bar is high.
SIMILARITY_THRESHOLD = 0.78
# A message much longer than any request is a story, not a command.
MAX_WORDS = 40

YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|please( do)?|do it|go ahead|confirm(ed)?|"
    r"of course|absolutely|that'?s right|correct)\b[\s.!,]*(please)?[\s.!]*$",
    re.IGNORECASE,
)
NO = re.compile(
    r"^\s*(no|nope|nah|don'?t|do not|cancel( that)?|stop|never ?mind|not now|leave it)"
    r"\b[\s.!,]*(thanks|thank you)?[\s.!]*$",
    re.IGNORECASE,
)


def answer(text: str) -> bool | None:
    """Whether ``text`` answers a yes/no question: True, False, or None if it does not."""
    if YES.match(text):
        return True
    if NO.match(text):
        return False
    return None


class IntentMatcher:
    def __init__(self, intents: Sequence[Intent], embedder: Embedder | None = None) -> None:
        self.intents = list(intents)
        self._patterns = [(intent, intent.compiled()) for intent in self.intents]
        self._embedder = embedder
        self._examples: list[tuple[Intent, str]] = [
            (intent, example) for intent in self.intents for example in intent.examples
        ]
        self._vectors: Vectors | None = None

    def match(self, text: str) -> tuple[Intent, IntentMatch] | None:
        message = " ".join(text.split())
        if not message or len(message.split()) > MAX_WORDS:
            return None
        for intent, patterns in self._patterns:
            if intent.claims is not None:
                claimed = intent.claims(message)
                if claimed is not None:
                    return intent, IntentMatch(intent.name, message, claimed, 1.0)
            for pattern in patterns:
                found = pattern.search(message)
                if found:
                    groups = {k: v for k, v in found.groupdict().items() if v is not None}
                    return intent, IntentMatch(intent.name, message, groups, 1.0)
        return self._similar(message)

    def _similar(self, message: str) -> tuple[Intent, IntentMatch] | None:
        if self._embedder is None or not self._examples:
            return None
        if self._vectors is None:
            self._vectors = self._embedder.queries([e for _, e in self._examples])
        scores = self._vectors @ self._embedder.queries([message])[0]
        best = int(np.argmax(scores))
        if float(scores[best]) < SIMILARITY_THRESHOLD:
            return None
        intent = self._examples[best][0]
        return intent, IntentMatch(intent.name, message, {}, float(scores[best]))
