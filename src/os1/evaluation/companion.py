"""The companion benchmark: made-up lives told over several sessions, then probe questions.

The format and scoring are ``os1-companion-eval/1`` (``../shared/benchdata/companion/
FORMAT.md``). Each life gets a fresh companion, set up with the user's name as at first
run. The user's turns are replayed on the real path (``TurnRunner``, the installed skills,
the configured model) with the sessions' own dates, so "next Saturday" and the gaps between
sessions mean what they meant on the day; the companion replies to each. Then every probe
is asked in a new session dated one day after the last, each on its own: the store is
copied after the told sessions and every probe starts from that copy.

What is measured besides accuracy:

- ``generic_reply_rate``: the share of the companion's replies during the told sessions
  that are two words or fewer, or a bare question of three words or fewer ("Why?",
  "Really?", "Are you sure?").
- ``facts.precision``: on a random sample of each life's stored facts (seeded by the
  life's id), the share that this rule, written before any tuning, judges true to the
  user's turns: a fact is true when (a) one of its source turns is a user turn that is
  not a question, (b) every content word of its value occurs in that turn, and (c) its
  subject is the user or a name that occurs in that turn.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from os1.domain import Fact, Role, Turn
from os1.llm.base import LLMBackend
from os1.memory.recall.embedding import Embedder
from os1.memory.storage.codec import replayed_time
from os1.memory.stores import Store
from os1.mind import assembly, onboarding, plugins
from os1.mind.events import ActionTaken, Done
from os1.mind.replies import generic
from os1.mind.turn import TurnRunner
from os1.options import Options

FORMAT = "os1-companion-eval/1"
CATEGORIES = ("fact", "update", "temporal", "multi_hop", "preference", "identity", "unknown")
ABSTAIN = (
    "don't know",
    "do not know",
    "not sure",
    "haven't told",
    "have not told",
    "didn't tell",
    "did not tell",
    "don't remember",
    "do not remember",
    "no idea",
)
FACT_SAMPLE = 10
TURN_GAP = timedelta(minutes=1)
Progress = Callable[[str], None]


class DatasetError(ValueError):
    """The file is not in the companion format; the message says what is wrong."""


@dataclass(frozen=True)
class Probe:
    id: str
    category: str
    question: str
    expect_any: tuple[str, ...] = ()
    reject_any: tuple[str, ...] = ()
    expect: str = ""


@dataclass(frozen=True)
class Life:
    id: str
    user_name: str
    sessions: tuple[tuple[datetime, tuple[str, ...]], ...]
    probes: tuple[Probe, ...]


def load(path: Path) -> list[Life]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DatasetError(f'{path}: not {FORMAT} data (no "format": "{FORMAT}")')
    lives = []
    for n, raw in enumerate(data.get("conversations") or []):
        where = f"{path}: conversation {n + 1}"
        try:
            sessions = tuple(
                (
                    datetime.fromisoformat(s["start"]).replace(tzinfo=UTC),
                    tuple(str(t) for t in s["user_turns"]),
                )
                for s in raw["sessions"]
            )
            probes = tuple(
                Probe(
                    str(p["id"]),
                    str(p["category"]),
                    str(p["question"]),
                    tuple(p.get("expect_any") or ()),
                    tuple(p.get("reject_any") or ()),
                    str(p.get("expect") or ""),
                )
                for p in raw["probes"]
            )
            lives.append(Life(str(raw["id"]), str(raw["user_name"]), sessions, probes))
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: malformed ({exc!r})") from None
    if not lives:
        raise DatasetError(f"{path}: no conversations")
    return lives


# --- scoring --------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.replace("'", "").split())


def contains(reply: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``reply`` as whole words, both normalised."""
    wanted = normalise(phrase)
    return bool(wanted) and f" {wanted} " in f" {normalise(reply)} "


def correct(probe: Probe, reply: str, self_name: str, user_name: str) -> bool:
    if probe.expect == "self_name":
        return contains(reply, self_name)
    if probe.expect == "user_name":
        return contains(reply, user_name)
    if probe.expect == "abstain":
        return any(contains(reply, p) for p in ABSTAIN)
    if any(contains(reply, p) for p in probe.reject_any):
        return False
    return any(contains(reply, p) for p in probe.expect_any)


STOP = frozenset(
    "a an the and or of to in on at for with from by my your his her their our its is are "
    "was were be been am i me you he she they we it this that these those who what".split()
)


def fact_true(fact: Fact, sources: Sequence[Turn], user_name: str) -> bool:
    """The rule in the module's docstring."""
    for turn in sources:
        if turn.role is not Role.USER or turn.text.strip().endswith("?"):
            continue
        said = set(normalise(turn.text).split())
        content = [w for w in normalise(fact.value).split() if w not in STOP]
        if not content or not all(w in said for w in content):
            continue
        subject = normalise(fact.subject)
        if subject == normalise(user_name) or (subject and set(subject.split()) <= said):
            return True
    return False


# --- replay ---------------------------------------------------------------------------


@dataclass
class _Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class _Tally:
    right: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    replies: list[str] = field(default_factory=list)
    facts: list[bool] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)


def _runner(
    options: Options,
    store: Store,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
    clock: _Clock,
) -> TurnRunner:
    companion = assembly.companion(options, store, backend, embedders)
    matcher = next((e for e in embedders if e.name == "minilm"), None)
    # The sessions' times are local times with no zone: they are read as UTC throughout.
    return TurnRunner(
        companion, plugins.skills(), timezone=ZoneInfo("UTC"), embedder=matcher, clock=clock
    )


def _say(runner: TurnRunner, text: str, finish: bool = True) -> tuple[str, list[str]]:
    """One turn; the reply, and what the skills did. ``finish``: also index and run the
    jobs (a probe stops at ``Done``: nothing after it is ever read)."""
    reply, acted = "", []
    events = runner.run(text)
    for event in events:
        if isinstance(event, ActionTaken):
            acted.append(f"{event.skill}.{event.name}")
        elif isinstance(event, Done):
            reply = event.reply
            if not finish:
                events.close()
                break
    return reply, acted


def _open(options: Options, path: Path) -> Store:
    """A SQLite store at ``path``, with the skills' tables, as ``assembly`` opens one."""
    return assembly.open_store(replace(options.store, url="", sqlite_path=path))


def _tell(
    life: Life,
    told: Path,
    options: Options,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
    clock: _Clock,
    progress: Progress,
) -> None:
    """Set up a companion for ``life`` in ``told`` and replay its sessions."""
    clock.at = life.sessions[0][0] - timedelta(minutes=5)
    store = _open(options, told)
    try:
        builder = assembly.prompt_builder(options.model, backend)
        onboarding.complete(store, backend, builder, onboarding.Answers(name=life.user_name))
        runner = _runner(options, store, backend, embedders, clock)
        for number, (start, turns) in enumerate(life.sessions, 1):
            clock.at = start
            for text in turns:
                progress(f"{life.id}: session {number}/{len(life.sessions)}")
                _say(runner, text)
                clock.at += TURN_GAP
        runner.end_session()
    finally:
        store.close()


def _life(
    life: Life,
    options: Options,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
    tally: _Tally,
    work: Path,
    progress: Progress,
    verbose: bool,
    kept: Path | None,
) -> None:
    told = (kept or work) / f"{life.id}.db"
    clock = _Clock(life.sessions[0][0])
    with replayed_time(clock):
        if kept is None or not told.exists():
            # Told into a file of its own and renamed when whole: a kept store is never
            # one half told (an interrupted run tells that life again).
            telling = told.with_suffix(".telling")
            for stale in telling.parent.glob(telling.name + "*"):
                stale.unlink()
            _tell(life, telling, options, backend, embedders, clock, progress)
            telling.rename(told)
        store = _open(options, told)
        persona = store.persona()
        assert persona is not None  # set up by _tell
        greeting = min(t.id for t in store.turns())
        tally.replies.extend(
            t.text for t in store.turns() if t.role is Role.COMPANION and t.id != greeting
        )
        _sample_facts(life, store, tally)
        store.close()

        asked_at = life.sessions[-1][0] + timedelta(days=1)
        for probe in life.probes:
            progress(f"{life.id}: probe {probe.id}")
            copy = work / f"{life.id}-probe.db"
            shutil.copyfile(told, copy)
            clock.at = asked_at
            store = _open(options, copy)
            runner = _runner(options, store, backend, embedders, clock)
            reply, acted = _say(runner, probe.question, finish=False)
            ok = correct(probe, reply, persona.name, life.user_name)
            tally.right[probe.category].append(ok)
            if verbose:
                recalled = runner.companion.retriever.recall(probe.question, options.chat.memories)
                tally.probes.append(
                    {
                        "id": probe.id,
                        "category": probe.category,
                        "question": probe.question,
                        "reply": reply,
                        "correct": ok,
                        "by": acted or ["model"],
                        "recalled": [f"{r.turn.speaker}: {r.turn.text}" for r in recalled],
                    }
                )
            store.close()
            copy.unlink()


def _sample_facts(life: Life, store: Store, tally: _Tally) -> None:
    facts = store.facts.list(include_past=True)
    chosen = random.Random(life.id).sample(facts, min(FACT_SAMPLE, len(facts)))
    for fact in chosen:
        sources = list(store.turns_by_ids(list(fact.source_turn_ids)).values())
        tally.facts.append(fact_true(fact, sources, life.user_name))


def evaluate(
    path: Path,
    options: Options,
    backend: LLMBackend,
    embedders: Sequence[Embedder],
    progress: Progress | None = None,
    only: Sequence[str] = (),
    verbose: bool = False,
    kept: Path | None = None,
) -> dict[str, Any]:
    """Replay every life (or those in ``only``) and score its probes. ``kept``: a folder
    where each life's told store is kept and, when already there, read instead of being
    told again (to re-score answering alone while working on it)."""
    lives = load(path)
    if only:
        unknown = set(only) - {life.id for life in lives}
        if unknown:
            raise DatasetError(f"{path}: no conversation {', '.join(sorted(unknown))}")
        lives = [life for life in lives if life.id in only]
    began = time.perf_counter()
    tally = _Tally()
    with tempfile.TemporaryDirectory(prefix="os1-eval-companion-") as tmp:
        for life in lives:
            _life(
                life,
                options,
                backend,
                embedders,
                tally,
                Path(tmp),
                progress or (lambda _: None),
                verbose,
                kept,
            )
    every = [ok for oks in tally.right.values() for ok in oks]
    result: dict[str, Any] = {
        "overall": {"accuracy": _share(every), "n": len(every)},
        "by_category": {
            c: {"accuracy": _share(tally.right[c]), "n": len(tally.right[c])}
            for c in CATEGORIES
            if c in tally.right
        },
        "generic_reply_rate": _share([generic(r) for r in tally.replies]),
        "replies": len(tally.replies),
        "facts": {"precision": _share(tally.facts), "n": len(tally.facts)},
        "conversations": [life.id for life in lives],
        "model": backend.name,
        "wall_s": round(time.perf_counter() - began, 1),
    }
    if verbose:
        result["probes"] = tally.probes
    return result


def _share(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0
