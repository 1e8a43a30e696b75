from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from os1.domain import Persona, Prompt, Role, Session, TurnStatus, UserProfile
from os1.llm.base import CancelToken, estimate_tokens
from os1.llm.scripted import ScriptedBackend
from os1.memory.recall.retrieval import KeywordRetriever
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import plugins
from os1.mind.companion import ChatOptions, Companion, EmptyMessage, NotSetUp
from os1.mind.events import Done, Event, Token
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.turn import TurnRunner


def make(store: SQLiteStore, backend: ScriptedBackend, **options: object) -> TurnRunner:
    store.save_profile(UserProfile(name="Theodore"))
    store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
    builder = PromptBuilder(Budget(2048, 64), estimate_tokens)
    companion = Companion(store, backend, KeywordRetriever(store), builder, ChatOptions(**options))  # type: ignore[arg-type]
    return TurnRunner(companion, plugins.skills())


def said(events: list[Event]) -> str:
    """The reply a turn streamed; its Done says the same, stored."""
    text = "".join(e.text for e in events if isinstance(e, Token))
    done = [e for e in events if isinstance(e, Done)]
    assert len(done) == 1 and done[0].reply == text.strip()
    return text


def test_not_set_up_is_explained(store: SQLiteStore) -> None:
    builder = PromptBuilder(Budget(2048, 64), estimate_tokens)
    with pytest.raises(NotSetUp, match="os1 setup"):
        Companion(store, ScriptedBackend(), KeywordRetriever(store), builder)


def test_user_turn_is_stored_before_generation_starts(store: SQLiteStore) -> None:
    seen: list[list[str]] = []

    class Watching(ScriptedBackend):
        def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
            seen.append([t.text for t in store.turns()])
            yield from super().stream(prompt, cancel)

    turns = make(store, Watching(["Of course."]))
    reply = turns.run("Remember my sister's name is Ann")
    next(reply)  # Started: the user's words are stored, and nothing was generated yet
    assert [t.text for t in store.turns()] == ["Remember my sister's name is Ann"]
    assert seen == []
    assert said(list(reply)) == "Of course."
    assert seen == [["Remember my sister's name is Ann"]]
    assert [(t.role, t.status) for t in store.turns()] == [
        (Role.USER, TurnStatus.COMPLETE),
        (Role.COMPANION, TurnStatus.COMPLETE),
    ]


def test_cancelled_reply_stores_only_what_was_said(store: SQLiteStore) -> None:
    turns = make(store, ScriptedBackend(["one two three four five six seven eight nine"]))
    cancel = CancelToken()
    heard = ""
    events = []
    for event in turns.run("Talk to me", cancel):
        events.append(event)
        if isinstance(event, Token):
            heard += event.text
            cancel.cancel()
    done = events[-1]
    assert isinstance(done, Done) and done.status == TurnStatus.INTERRUPTED
    last = store.recent_turns(1)[0]
    assert (last.text, last.status) == (heard.strip(), TurnStatus.INTERRUPTED)
    assert "nine" not in last.text


def test_ctrl_c_mid_reply_keeps_partial_reply(store: SQLiteStore) -> None:
    turns = make(store, ScriptedBackend(["one two three four five six seven eight nine"]))
    reply = turns.run("Talk to me")
    heard = ""
    with pytest.raises(KeyboardInterrupt):
        try:
            for event in reply:
                if isinstance(event, Token):
                    heard += event.text
                    raise KeyboardInterrupt
        finally:
            reply.close()
    last = store.recent_turns(1)[0]
    assert last.status is TurnStatus.INTERRUPTED
    assert last.text == heard.strip() and "nine" not in last.text


def test_empty_message_is_refused_and_nothing_stored(store: SQLiteStore) -> None:
    turns = make(store, ScriptedBackend())
    with pytest.raises(EmptyMessage):
        list(turns.run("   \n "))
    assert store.turns() == []


def test_earlier_turns_are_in_the_prompt(store: SQLiteStore) -> None:
    backend = ScriptedBackend(["Nice to meet you.", "Your sister is Ann."])
    turns = make(store, backend)
    list(turns.run("My sister is Ann"))
    list(turns.run("Tell me something nice"))
    assert (
        "Theodore: My sister is Ann\nSamantha: Nice to meet you." in backend.prompts[1].completion
    )


def test_silence_starts_a_new_session_and_memories_cross_sessions(store: SQLiteStore) -> None:
    backend = ScriptedBackend(["Noted."])
    turns = make(store, backend, session_gap=timedelta(seconds=0))
    list(turns.run("My sister Ann moved to Paris"))
    list(turns.run("I keep thinking about Ann in Paris"))
    sessions = store.sessions()
    assert len(sessions) == 2 and sessions[0].ended_at is not None
    # The earlier session is recalled as a memory, not as recent history, and says who
    # said it.
    prompt = next(p.completion for p in reversed(backend.prompts) if "Samantha:" in p.completion)
    assert "Theodore told Samantha" in prompt
    assert "Ann moved to Paris" in backend.prompts[1].completion


def test_reflection_grows_the_persona_and_keeps_versions(store: SQLiteStore) -> None:
    backend = ScriptedBackend(["That sounds lovely.", "happy to hear about the hiking."])
    turns = make(store, backend)
    list(turns.run("I went hiking with Amy. The hiking was lovely, haha"))
    assert turns.end_session() == 1
    persona = turns.companion.persona
    assert persona == store.persona()
    assert persona.sessions_together == 1
    assert "hiking" in persona.interests
    assert "funny" in persona.traits
    entry = persona.journal[-1].text
    assert entry.startswith("Today Theodore told me they went hiking with Amy.")
    assert entry.endswith("I felt happy to hear about the hiking.")  # grounded: kept
    assert len(store.persona_history()) == 2
    assert turns.session_jobs() == 0  # each session is reflected on once
    assert len(store.persona_history()) == 2


def test_killed_process_loses_no_user_turn(home: Path) -> None:
    script = textwrap.dedent(
        """
        from os1.config import load
        from os1.domain import Persona, UserProfile
        from os1.llm.base import estimate_tokens
        from os1.llm.scripted import ScriptedBackend
        from os1.memory.recall.retrieval import KeywordRetriever
        from os1.memory.storage.sqlite import SQLiteStore
        from os1.mind import plugins
        from os1.mind.companion import Companion
        from os1.mind.prompting import Budget, PromptBuilder
        from os1.mind.turn import TurnRunner

        store = SQLiteStore(load().db_path)
        store.save_profile(UserProfile(name="Theodore"))
        store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
        backend = ScriptedBackend(["a long reply " * 50], token_delay_s=0.2)
        builder = PromptBuilder(Budget(2048, 200), estimate_tokens)
        companion = Companion(store, backend, KeywordRetriever(store), builder)
        turns = TurnRunner(companion, plugins.skills())
        for event in turns.run("Please remember: the papers are unsigned"):
            if event.kind == "token":
                print("streaming", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "streaming"
    proc.kill()
    proc.wait()
    store = SQLiteStore(home / "os1.db")
    texts = [t.text for t in store.turns()]
    store.close()
    assert texts == ["Please remember: the papers are unsigned"]


def test_the_history_window_moves_in_steps_so_the_prompt_cache_holds() -> None:
    from datetime import UTC, datetime
    from itertools import pairwise

    from os1.domain import Role, Turn, TurnStatus
    from os1.mind.companion import stable_window

    def turns(newest: int) -> list[Turn]:
        at = datetime(2026, 11, 22, tzinfo=UTC)
        return [
            Turn(i, 1, Role.USER, "Theodore", f"turn {i}", at, TurnStatus.COMPLETE)
            for i in range(1, newest + 1)
        ]

    assert [t.id for t in stable_window(turns(5), 16)] == [1, 2, 3, 4, 5]
    firsts = []
    for newest in range(16, 60):
        window = stable_window(turns(newest)[-17:], 16)
        assert 9 <= len(window) <= 16 and window[-1].id == newest
        firsts.append(window[0].id)
    # The first turn of the window changes once every 8 turns, not after every turn.
    changes = sum(a != b for a, b in pairwise(firsts))
    assert changes <= len(firsts) // 8 + 1


def test_a_session_asks_the_store_only_when_it_may_have_changed(store: SQLiteStore) -> None:
    asked: list[str] = []

    class Counting(SQLiteStore):
        def last_turn_at(self, session_id: int) -> datetime | None:
            asked.append("last_turn_at")
            return super().last_turn_at(session_id)

        def unreflected_sessions(self) -> list[Session]:
            asked.append("unreflected_sessions")
            return super().unreflected_sessions()

    counting = Counting(store.path)
    turns = make(counting, ScriptedBackend(["Hm."]), session_gap=timedelta(minutes=30))
    companion = turns.companion
    for text in ("one", "two", "three"):
        list(turns.run(text))  # the session-end jobs are looked for after each turn
    # Its own turns are recent, so the session holds without asking; reflection is looked
    # for once (at first), not after every turn.
    assert asked == ["unreflected_sessions"]
    # Another process changes the profile (say, reflecting on a session it ended); this
    # companion reads it once a new session begins.
    counting.save_profile(UserProfile(name="Theo"))
    companion.end_session()
    list(turns.run("four"))
    assert companion.profile.name == "Theo"
    assert counting.turns()[-2].speaker == "Theodore"  # "four" was said before the re-read
    counting.close()
