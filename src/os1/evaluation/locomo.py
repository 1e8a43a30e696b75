"""LoCoMo: long-term conversational memory, scored by evidence recall.

Each conversation is ingested through OS1's real path (sessions and turns in a fresh
store, dated with the dataset's own session dates, then indexed), and every question of
categories 1-4 is answered by the real retriever. Recall@k is the fraction of a
question's evidence turns (dia_ids) among the k retrieved. Plain BM25 over the turns'
own words runs in the same harness as a baseline.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from os1.domain import ChatMessage, Prompt, Role
from os1.llm.base import LLMBackend
from os1.memory.extraction import importance
from os1.memory.ingest import Memorizer
from os1.memory.recall.embedding import Embedder
from os1.memory.recall.retrieval import HybridRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.memory.stores import Store

KS = (5, 10, 25)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
Progress = Callable[[str], None]


class DatasetError(ValueError):
    """The file is not LoCoMo data; the message says what is wrong."""


@dataclass(frozen=True)
class Question:
    text: str
    answer: str
    category: int
    evidence: tuple[str, ...]


def parse_date(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware datetime."""
    match = re.search(
        r"(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})",
        text,
        re.IGNORECASE,
    )
    if not match:
        raise DatasetError(f"Unreadable session date {text!r}")
    hour, minute, half, day, month, year = match.groups()
    moment = datetime.strptime(f"{day} {month} {year}", "%d %B %Y").replace(tzinfo=UTC)
    hour_24 = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    return moment + timedelta(hours=hour_24, minutes=int(minute))


def _evidence(raw: Sequence[str], known: set[str]) -> tuple[str, ...]:
    """Evidence ids, repairing the dataset's occasional 'D8:6; D9:17' and 'D:11:26'."""
    out: list[str] = []
    for item in raw:
        for part in re.split(r"[;,\s]+", str(item)):
            match = re.match(r"^D:?(\d+):0*(\d+)$", part.strip())
            if match:
                dia = f"D{match.group(1)}:{match.group(2)}"
                if dia in known and dia not in out:
                    out.append(dia)
    return tuple(out)


def ingest(sample: dict[str, Any], store: Store) -> tuple[dict[int, str], datetime]:
    """Store one conversation; return turn id -> dia_id, and when the last session began."""
    conversation = sample["conversation"]
    numbers = sorted(
        int(key.split("_")[1])
        for key in conversation
        if re.fullmatch(r"session_\d+", key) and isinstance(conversation[key], list)
    )
    dia_of: dict[int, str] = {}
    last = datetime(1970, 1, 1, tzinfo=UTC)
    user = conversation.get("speaker_a", "")
    for number in numbers:
        started = parse_date(conversation[f"session_{number}_date_time"])
        last = max(last, started)
        session = store.start_session(at=started)
        for i, turn in enumerate(conversation[f"session_{number}"]):
            text = str(turn.get("text", ""))
            stored = store.add_turn(
                session.id,
                Role.USER if turn.get("speaker") == user else Role.COMPANION,
                str(turn.get("speaker", "")),
                text,
                at=started + timedelta(seconds=30 * i),
                importance=importance(text),
                extra=str(turn.get("blip_caption") or ""),
            )
            dia_of[stored.id] = str(turn["dia_id"])
        store.end_session(session.id, at=started + timedelta(hours=1))
    return dia_of, last


def questions(sample: dict[str, Any], known: set[str]) -> list[Question]:
    out = []
    for qa in sample.get("qa", []):
        category = int(qa.get("category", 0))
        if category not in CATEGORIES:
            continue
        evidence = _evidence(qa.get("evidence", []), known)
        if evidence:
            out.append(Question(str(qa["question"]), str(qa.get("answer", "")), category, evidence))
    return out


class _Tally:
    def __init__(self) -> None:
        self.values: dict[tuple[str, int], list[float]] = defaultdict(list)

    def add(self, category: int, retrieved: Sequence[str], evidence: Sequence[str]) -> None:
        for k in KS:
            top = set(retrieved[:k])
            recall = sum(e in top for e in evidence) / len(evidence)
            self.values[("overall", k)].append(recall)
            self.values[(CATEGORIES[category], k)].append(recall)

    def report(self, group: str) -> dict[str, float]:
        return {
            f"recall@{k}": round(sum(v) / len(v), 4) if (v := self.values[(group, k)]) else 0.0
            for k in KS
        }


def token_f1(prediction: str, gold: str) -> float:
    def words(text: str) -> list[str]:
        text = re.sub(r"\b(a|an|the|and)\b", " ", text.lower())
        return re.findall(r"[a-z0-9]+", text)

    pred, ref = words(prediction), words(gold)
    common = sum(min(pred.count(w), ref.count(w)) for w in set(pred))
    if not pred or not ref or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def evaluate(
    path: Path,
    embedders: Sequence[Embedder],
    qa_backend: LLMBackend | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"Cannot read {path} as JSON: {exc}") from None
    if not isinstance(data, list) or not all(
        isinstance(s, dict) and "conversation" in s for s in data
    ):
        raise DatasetError(f"{path} is not LoCoMo data: expected a list of conversations")
    started = time.perf_counter()
    ours, baseline = _Tally(), _Tally()
    f1s: list[float] = []
    count = 0
    timings = {"ingest_s": 0.0, "index_s": 0.0, "search_s": 0.0}
    for number, sample in enumerate(data[:limit] if limit else data, 1):
        with tempfile.TemporaryDirectory(prefix="os1-locomo-") as folder:
            store = SQLiteStore(Path(folder) / "os1.db")
            t0 = time.perf_counter()
            dia_of, last = ingest(sample, store)
            t1 = time.perf_counter()
            if progress:
                progress(f"conversation {number}/{len(data)}: indexing {len(dia_of)} turns")
            Memorizer(store, embedders).index()
            t2 = time.perf_counter()
            speakers = [
                sample["conversation"].get("speaker_a", ""),
                sample["conversation"].get("speaker_b", ""),
            ]
            retriever = HybridRetriever(store, embedders, participants=speakers)
            asked = questions(sample, set(dia_of.values()))
            for question in asked:
                hits = retriever.search(question.text, max(KS), now=last + timedelta(days=1))
                ours.add(question.category, [dia_of[t.id] for t, _ in hits], question.evidence)
                plain = store.bm25(question.text, max(KS), text_only=True)
                baseline.add(question.category, [dia_of[i] for i, _ in plain], question.evidence)
                if qa_backend is not None:
                    f1s.append(token_f1(_answer(qa_backend, question.text, hits), question.answer))
            count += len(asked)
            timings["ingest_s"] += t1 - t0
            timings["index_s"] += t2 - t1
            timings["search_s"] += time.perf_counter() - t2
            store.close()
    result: dict[str, Any] = {
        "overall": ours.report("overall"),
        "by_category": {name: ours.report(name) for name in CATEGORIES.values()},
        "baseline_bm25": {
            "overall": baseline.report("overall"),
            "by_category": {name: baseline.report(name) for name in CATEGORIES.values()},
        },
        "n": count,
        "embedders": [e.name for e in embedders],
        "wall_s": round(time.perf_counter() - started, 1),
        **{k: round(v, 1) for k, v in timings.items()},
    }
    if qa_backend is not None:
        result["qa_token_f1"] = round(sum(f1s) / len(f1s), 4) if f1s else 0.0
    return result


def _answer(backend: LLMBackend, question: str, hits: Sequence[tuple[Any, float]]) -> str:
    notes = "\n".join(f"[{t.created_at:%d %B %Y}] {t.speaker}: {t.text}" for t, _ in hits[:10])
    prompt = Prompt(
        completion=f"{notes}\n\nQuestion: {question}\nShort answer:",
        chat=(
            ChatMessage("system", "Answer from these conversation excerpts in a few words."),
            ChatMessage("user", f"{notes}\n\nQuestion: {question}"),
        ),
        stop=("\n",),
        max_tokens=32,
        temperature=0.0,
    )
    return "".join(backend.stream(prompt)).strip()
