"""BM25 held in memory, for recall, scoring exactly as SQLite's FTS5 did.

SQLite's FTS5 scores every turn that shares a word with the question; over a long life
of conversation the common words match tens of thousands of turns and a query took
30–50 ms at 100k turns, most of recall's budget. Here each word's postings are packed
arrays, so scoring the question's words over every turn is a few numpy operations.

The index reads and scores turns as the ``turns_fts`` table does (``schema.py``), so that
moving BM25 out of SQLite changes its speed and nothing else:

* Words are FTS5's ``porter unicode61`` tokens: runs of letters and digits, lower-cased,
  diacritics removed, then Porter-stemmed (``os1.memory.recall.stemmer``). What unicode61 makes of
  a character outside ASCII is asked of SQLite itself, once per character.
* A turn is its speaker, text and caption, and the turn before it in the same session
  ("context", built as the SQL trigger builds it), so a reply such as "Yes, last
  Saturday!" is found through what it answers. Every word counts towards its length,
  stopwords included.
* FTS5's ``bm25()`` with each column weighted 1.0: a word's frequency is summed over the
  four columns, the length is the whole row's, the average length the table's, and
  ``idf = log((N - n + 0.5) / (n + 0.5))``, floored at 1e-6 (``ext/fts5/fts5_aux.c``).
* A question is read as ``SQLiteStore.bm25`` reads it: its distinct words less stopwords,
  each one phrase, so two words with one stem ("hike", "hiking") count twice.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from array import array
from collections import Counter

import numpy as np
import numpy.typing as npt

from os1.memory.recall.stemmer import stem
from os1.memory.storage.search import query_words

__all__ = ["LexicalIndex", "query_terms", "stem", "tokens", "words"]

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
CONTEXT_CHARS = 300
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")

# Code point -> what unicode61 writes for it: its folded form inside a token, "" for a
# mark that vanishes, " " for a separator. ASCII is known; the rest is asked of SQLite.
_FOLD: dict[int, str] = {c: chr(c).lower() if chr(c).isalnum() else " " for c in range(128)}
_FOLD_LOCK = threading.Lock()


def _learn(chars: set[str]) -> None:
    """Ask SQLite's unicode61 tokenizer what each of ``chars`` becomes between two
    letters: one token "x?y" (a letter, digit or mark, folded) or two (a separator)."""
    probe = sorted(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF)
    found: dict[int, list[str]] = {}
    if probe:
        db = sqlite3.connect(":memory:")
        try:
            db.execute("CREATE VIRTUAL TABLE t USING fts5(w, tokenize='unicode61')")
            db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
            db.executemany(
                "INSERT INTO t(rowid, w) VALUES (?, ?)",
                [(i, f"x{c}y") for i, c in enumerate(probe)],
            )
            for doc, term in db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
                found.setdefault(int(doc), []).append(str(term))
        finally:
            db.close()
    for i, c in enumerate(probe):
        got = found.get(i, [])
        joined = len(got) == 1 and got[0].startswith("x") and got[0].endswith("y")
        _FOLD[ord(c)] = got[0][1:-1] if joined else " "
    for c in chars - set(probe):
        _FOLD[ord(c)] = " "


def tokens(text: str) -> list[str]:
    """FTS5 unicode61 tokens of ``text``, before stemming."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text.lower())
    unseen = {c for c in set(text) if ord(c) not in _FOLD}
    if unseen:
        with _FOLD_LOCK:
            _learn({c for c in unseen if ord(c) not in _FOLD})
    return text.translate(_FOLD).split()


def words(text: str) -> list[str]:
    """The indexed words of ``text``, as ``tokenize='porter unicode61'`` makes them."""
    return [stem(t) for t in tokens(text)]


def query_terms(query: str) -> Counter[str]:
    """Each indexed word of a question and how many of its phrases it stands for.

    A phrase that FTS5 would split into several tokens (a word Python reads as one but
    unicode61 as two) is taken as those words, each on its own.
    """
    terms: Counter[str] = Counter()
    for word in query_words(query, drop_stopwords=True):
        for token in tokens(word):
            terms[stem(token)] += 1
    return terms


class LexicalIndex:
    """BM25 over turns added in order; a turn's row is its position in that order."""

    def __init__(self) -> None:
        # Per word, the rows that hold it and how often (over all four columns).
        self.rows: dict[str, array[int]] = {}
        self.counts: dict[str, array[int]] = {}
        # Each row's length in words, all columns, stopwords included.
        self.lengths: array[int] = array("I")
        self.total = 0
        # Per session, the words of its last turn as the next turn's context.
        self._context: dict[int, list[str]] = {}
        self._norm: npt.NDArray[np.float64] = np.zeros(0)

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, session_id: int, speaker: str, text: str, extra: str = "") -> None:
        row = len(self)
        own = words(speaker) + words(text) + words(extra)
        every = own + self._context.get(session_id, [])
        # The trigger's context: "speaker: " and the first 300 characters of text and
        # caption. Untruncated, that is the same words as the turn's own.
        body = text + " " + extra
        if len(body) <= CONTEXT_CHARS:
            self._context[session_id] = own
        else:
            self._context[session_id] = words(f"{speaker}: {body[:CONTEXT_CHARS]}")
        self.lengths.append(min(len(every), 0xFFFFFFFF))
        self.total += len(every)
        for word, count in Counter(every).items():
            if word not in self.rows:
                self.rows[word] = array("i")
                self.counts[word] = array("H")
            self.rows[word].append(row)
            self.counts[word].append(min(count, 0xFFFF))

    def _length_norm(self) -> npt.NDArray[np.float64]:
        """k1 * (1 - b + b * D / avgdl) per row, kept until a turn is added."""
        n = len(self)
        if len(self._norm) != n:
            lengths = np.frombuffer(self.lengths, dtype=np.uint32).astype(np.float64)
            self._norm = K1 * (1 - B + B * lengths / (self.total / n))
        return self._norm

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """FTS5's BM25 of every row for ``query`` (positive, higher is better); rows
        sharing no word with it score 0."""
        n = len(self)
        out = np.zeros(n)
        if n == 0 or self.total == 0:
            return out
        norm: npt.NDArray[np.float64] | None = None
        for term, phrases in query_terms(query).items():
            if term not in self.rows:
                continue
            if norm is None:
                norm = self._length_norm()
            rows = np.frombuffer(self.rows[term], dtype=np.int32)
            tf = np.frombuffer(self.counts[term], dtype=np.uint16).astype(np.float64)
            df = len(rows)
            idf = math.log((n - df + 0.5) / (df + 0.5))
            if idf <= 0.0:
                idf = MIN_IDF
            out[rows] += phrases * idf * tf * (K1 + 1) / (tf + norm[rows])
        return out
