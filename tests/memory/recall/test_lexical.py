"""The in-memory BM25 reads and scores turns exactly as SQLite's FTS5 table did.

Every expectation here is SQLite's own answer, computed at test time, so the tests prove
agreement with FTS5's ``porter unicode61`` tokenizer and its ``bm25()`` rather than with
outputs someone wrote down.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from os1.domain import Role
from os1.memory.recall.lexical import LexicalIndex, stem, words
from os1.memory.storage.sqlite import SQLiteStore
from tests.support.paths import ROOT

# Stems that exercise every step of Porter's algorithm, crossed with its suffixes.
BASES = (
    "hike run part parti cat agree feed bled sing conflat troubl siz hop fil fail fall "
    "rat relat condit ration valen hesit digit conform radic formal sensit sensibl "
    "electr hope good gener arbitr vietnam predic oper triplic adjust depend homolog "
    "communism activ angular effect bowdler probat control roll cease sky happi "
    "generous rational decis irrit adopt ador analog"
).split()
SUFFIXES = (
    "", "s", "es", "ies", "ss", "sses", "ed", "eed", "ing", "y", "ly", "e", "ational",
    "tional", "enci", "anci", "izer", "logi", "bli", "alli", "entli", "eli", "ousli",
    "ization", "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti",
    "biliti", "ical", "ness", "icate", "iciti", "ful", "ative", "alize", "al", "ance",
    "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "sion",
    "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "ll",
)  # fmt: skip


def _sqlite_tokens(texts: list[str], tokenize: str = "porter unicode61") -> list[list[str]]:
    """What FTS5 indexes for each text, in order, read back through fts5vocab."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(w, tokenize='{tokenize}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.executemany("INSERT INTO t(rowid, w) VALUES (?, ?)", list(enumerate(texts, 1)))
    found: list[list[str]] = [[] for _ in texts]
    for doc, term in db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
        found[doc - 1].append(term)
    db.close()
    return found


def _word_list() -> list[str]:
    """Words of this repository's own prose, plus every base with every suffix."""
    prose = " ".join(
        p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    )
    found = sorted(set(re.findall(r"[a-z]+", prose.lower())))
    combined = [b + s for b in BASES for s in SUFFIXES]
    edge = ["a", "ab", "abc", "ies", "sss", "eing", "ying", "a" * 64 + "ing", "a" * 61 + "ing"]
    return found[:600] + combined + edge


def test_porter_stems_agree_with_sqlite() -> None:
    every = _word_list()
    assert len(every) > 500
    expected = _sqlite_tokens(every)
    wrong = [(w, e, stem(w)) for w, e in zip(every, expected, strict=True) if e != [stem(w)]]
    assert not wrong, wrong[:20]


def test_tokens_agree_with_sqlite_unicode61() -> None:
    texts = [
        "Café, naïveté & crème brûlée — déjà vu!",
        "Über-Straße: ÆON Ørsted; İstanbul ſ µ",
        "x\u0301y cafe\u0301s \u0301lead n\u0303o",
        "snake_case camelCase 3D 42nd 1,000 v2.0 e-mail",
        "Ελληνικά Русский текст 日本語テキスト العربية",
        "emoji 🙂 in text ★ ① ²",
        "Caroline: I went hiking (and kayaking) last Saturday... didn't you?",
        "",
    ]
    assert [words(t) for t in texts] == _sqlite_tokens(texts)


def test_lexical_scores_match_fts5_bm25(store: SQLiteStore) -> None:
    t0 = datetime(2023, 5, 1, 10, 0, tzinfo=UTC)
    script = [
        [
            ("Caroline", "I went hiking in the mountains last weekend with my friends.", ""),
            ("Melanie", "That sounds wonderful! Which mountains did you hike?", ""),
            ("Caroline", "The ones near the lake. We hiked for hours and hours.", ""),
            ("Melanie", "I painted a picture of a lake last year.", "a painting of a blue lake"),
        ],
        [
            ("Melanie", "My kids love running around the park on Saturdays.", ""),
            ("Caroline", "Running is great. I started running after the support group.", ""),
            ("Melanie", "What support group do you go to?", ""),
            ("Caroline", "An LGBTQ support group. It helped me a lot. " + "Really. " * 50, ""),
            ("Melanie", "Yes, last Saturday!", ""),
        ],
        [
            ("Caroline", "Adoption agencies were the topic of the meeting.", ""),
            ("Melanie", "Did you read the book about adopting children?", "a photo of a book"),
            ("Caroline", "Not yet, but the adoption is going well.", ""),
        ],
    ]
    index = LexicalIndex()
    ids: list[int] = []
    for week, lines in enumerate(script):
        session = store.start_session(at=t0 + timedelta(weeks=week))
        for i, (speaker, text, extra) in enumerate(lines):
            role = Role.USER if speaker == "Caroline" else Role.COMPANION
            turn = store.add_turn(
                session.id, role, speaker, text, at=t0 + timedelta(weeks=week, minutes=i),
                extra=extra,
            )  # fmt: skip
            ids.append(turn.id)
            index.add(turn.session_id, turn.speaker, turn.text, turn.extra)
    queries = [
        "When did Caroline go hiking?",
        "What did Melanie paint?",
        "Which support group does Caroline attend?",
        "What book about adoption did Melanie read?",
        "Who runs on Saturdays?",
        "lake mountains hike hiking hiked",
    ]
    for query in queries:
        hits = store.bm25(query, 5)
        scores = index.scores(query)
        best = np.argsort(-scores, kind="stable")[: len(hits)]
        assert [ids[row] for row in best] == [turn_id for turn_id, _ in hits], query
        for turn_id, score in store.bm25(query, 100):
            assert scores[ids.index(turn_id)] == pytest.approx(score, rel=1e-9), query
        assert int((scores > 0).sum()) == len(store.bm25(query, 100)), query
    assert index.scores("the and of").sum() == 0  # stopwords alone match nothing
