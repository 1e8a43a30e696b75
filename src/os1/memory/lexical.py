"""BM25 held in memory, for recall.

SQLite's FTS5 scores every turn that shares a word with the question; over a long life
of conversation the common words match tens of thousands of turns and a query took
30–50 ms at 100k turns, most of recall's budget. Here each word's postings are packed
arrays, so scoring the question's words over every turn is a few numpy operations.

Each turn has two fields, scored separately and summed, as FTS5 does with its columns:
its own words (speaker, text and any caption) and the turn before it in the same session
("context"), so a reply such as "Yes, last Saturday!" is found through what it answers.
Words are lower-cased, stopwords dropped, and a light suffix-stripping stemmer folds
plural and verb forms together ("hiking", "hikes", "hiked" and "hike" meet).
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from os1.memory.store import search_stopwords

K1 = 1.2
B = 0.75
CONTEXT_CHARS = 300
MAX_WORDS = 400
_WORD = re.compile(r"[^\W_]+")
_KEEP_DOUBLE = set("lsz")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A small, predictable stemmer; the same function reads turns and questions."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _KEEP_DOUBLE:
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The indexed words of ``text``: lower-cased, stopwords out, stemmed."""
    stop = search_stopwords()
    found = _WORD.findall(text.lower())[:MAX_WORDS]
    return [stem(w) for w in found if w not in stop and len(w) > 1]


class _Field:
    """One field's postings: per word, the rows that hold it and how often."""

    def __init__(self) -> None:
        self.rows: dict[str, array[int]] = {}
        self.counts: dict[str, array[int]] = {}
        self.lengths: array[int] = array("H")
        self.total = 0

    def add(self, row: int, tokens: list[str]) -> None:
        self.lengths.append(min(len(tokens), 65_535))
        self.total += len(tokens)
        for word, count in Counter(tokens).items():
            if word not in self.rows:
                self.rows[word] = array("i")
                self.counts[word] = array("H")
            self.rows[word].append(row)
            self.counts[word].append(min(count, 65_535))

    def score(self, terms: list[str], out: npt.NDArray[np.float64]) -> None:
        n = len(self.lengths)
        if n == 0 or self.total == 0:
            return
        lengths = np.frombuffer(self.lengths, dtype=np.uint16)
        norm = K1 * (1 - B + B * lengths.astype(np.float64) / (self.total / n))
        for term in terms:
            if term not in self.rows:
                continue
            rows = np.frombuffer(self.rows[term], dtype=np.int32)
            tf = np.frombuffer(self.counts[term], dtype=np.uint16).astype(np.float64)
            df = len(rows)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            out[rows] += idf * tf * (K1 + 1) / (tf + norm[rows])


class LexicalIndex:
    """BM25 over turns added in order; a turn's row is its position in that order."""

    def __init__(self) -> None:
        self.own = _Field()
        self.context = _Field()
        self._last_in_session: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.own.lengths)

    def add(self, session_id: int, speaker: str, text: str, extra: str = "") -> None:
        row = len(self)
        self.own.add(row, words(f"{speaker} {text} {extra}"))
        self.context.add(row, words(self._last_in_session.get(session_id, "")))
        self._last_in_session[session_id] = f"{speaker}: {(text + ' ' + extra)[:CONTEXT_CHARS]}"

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 of every row for ``query``; rows sharing no word with it score 0."""
        out = np.zeros(len(self))
        terms = list(dict.fromkeys(words(query)))
        self.own.score(terms, out)
        self.context.score(terms, out)
        return out
