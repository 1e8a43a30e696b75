"""The companion: one person's OS, with its persona, their profile, the current session,
and how it builds a prompt from recall. ``os1.mind.turn`` runs each turn with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from os1.domain import Persona, Prompt, Session, ToolSpec, Turn, UserProfile
from os1.llm.base import LLMBackend
from os1.memory.ingest import Memorizer
from os1.memory.recall.retrieval import Recollection, Retriever
from os1.memory.storage.codec import now
from os1.memory.stores import Store
from os1.mind.prompting import PromptBuilder
from os1.mind.speculation import Speculation
from os1.options import ChatOptions


class NotSetUp(Exception):
    def __init__(self) -> None:
        super().__init__("OS1 has not been set up yet. Run: os1 setup")


class EmptyMessage(ValueError):
    def __init__(self) -> None:
        super().__init__("Nothing to say: the message is empty.")


def stable_window(turns: list[Turn], limit: int) -> list[Turn]:
    """The last ``limit`` turns at most, cut so that the window's first turn moves only
    every ``limit // 2`` turns. A prompt's history then begins the same way for several
    turns in a row, so the model's cache of it (llama.cpp's here, vLLM's prefix cache) is
    reused; a window sliding by one turn would have it read the whole history again after
    every turn (~1 s for 16 turns on 2 cores)."""
    if len(turns) < limit or limit < 2:
        return turns[-limit:] if limit > 0 else []
    step = limit // 2
    cut = ((turns[-1].id - limit) // step + 1) * step
    return [t for t in turns if t.id >= cut][-limit:]


class Companion:
    def __init__(
        self,
        store: Store,
        backend: LLMBackend,
        retriever: Retriever,
        builder: PromptBuilder,
        options: ChatOptions | None = None,
        memorizer: Memorizer | None = None,
        known: tuple[Persona, UserProfile] | None = None,
    ) -> None:
        """``known``: the persona and profile, when the caller has just read them from
        ``store``."""
        persona, profile = known or (store.persona(), store.profile())
        if persona is None or profile is None:
            raise NotSetUp()
        self.store = store
        self.backend = backend
        self.retriever = retriever
        self.builder = builder
        self.options = options or ChatOptions()
        self.memorizer = memorizer
        self.persona: Persona = persona
        self.profile: UserProfile = profile
        self._session: Session | None = None
        # When this companion last stored a turn in its session. Another process may
        # store later ones, which only makes the session more recent, so while this is
        # within the session gap the store need not be asked (a round trip per turn).
        self.last_turn_at: datetime | None = None
        # Whether an ended session may wait for reflection: at first, and after this
        # companion saw a session end. Sessions another process ends, it reflects on.
        self._reflection_due = True
        # The profile was just read; after a session changes, reflection (here or in
        # another process) may have consolidated new facts into it.
        self._profile_fresh = True

    def session(self) -> Session:
        """The current session; a long silence closes the old one and opens a new one."""
        gap = self.options.session_gap
        if self._session is not None:
            if self.last_turn_at is not None and now() - self.last_turn_at <= gap:
                return self._session
            last = self.store.last_turn_at(self._session.id)
            if last is None or now() - last <= gap:
                return self._session
        current = self.store.current_session(gap)
        if current is None:
            for stale in self.store.open_sessions():
                self.store.end_session(stale.id, self.store.last_turn_at(stale.id))
            current = self.store.start_session()
            self._reflection_due = True
            self._profile_fresh = False
        self._session = current
        self.last_turn_at = None
        return current

    def speculate(self, text: str, context: Sequence[str] = ()) -> Speculation:
        """Begin replying to ``text`` before the turn is known to be over (voice, while the
        user pauses); nothing is stored unless the turn adopts it."""
        return Speculation(text, lambda: self._speculative_prompt(text, context), self.backend)

    def _speculative_prompt(self, text: str, context: Sequence[str]) -> Prompt:
        # The same prompt prompt_for will build once the turn is stored: the recent turns
        # do not include it yet, and the memories are recalled for the same words.
        session = self.session()
        memories = self.retriever.recall(text, self.options.memories, exclude_session=session.id)
        return self._prompt(session.id, memories, text, context)

    def prompt_for(
        self, user_turn: Turn, context: Sequence[str] = (), tools: Sequence[ToolSpec] = ()
    ) -> Prompt:
        memories = self.retriever.recall(
            user_turn.text, self.options.memories, exclude_session=user_turn.session_id
        )
        return self._prompt(
            user_turn.session_id, memories, user_turn.text, context, tools, user_turn.id
        )

    def _prompt(
        self,
        session_id: int,
        memories: list[Recollection],
        text: str,
        context: Sequence[str] = (),
        tools: Sequence[ToolSpec] = (),
        skip: int | None = None,
    ) -> Prompt:
        recent = self.store.recent_turns(self.options.recent_turns + 1, session_id)
        history = stable_window([t for t in recent if t.id != skip], self.options.recent_turns)
        return self.builder.build(
            self.persona, self.profile, history, memories, text, context, tools
        )

    def remember(self) -> int:
        """Index what was said since last time (embeddings, facts); call between turns."""
        return self.memorizer.index() if self.memorizer is not None else 0

    def end_session(self) -> None:
        if self._session is not None:
            self.store.end_session(self._session.id)
            self._session = None
        self._reflection_due = True
        self._profile_fresh = False

    @property
    def reflection_due(self) -> bool:
        """Whether an ended session may wait for its session-end jobs: at first, and after
        this companion saw a session end (sessions another process ends, it picks up)."""
        return self._reflection_due

    def refresh(self, reread_persona: bool) -> None:
        """After the session-end jobs: they may have grown the persona, and consolidation
        (here or in another process) may have changed the profile."""
        if reread_persona:
            persona = self.store.persona()
            if persona is not None:
                self.persona = persona
        if reread_persona or not self._profile_fresh:
            profile = self.store.profile()
            if profile is not None:
                self.profile = profile
            self._profile_fresh = True
        self._reflection_due = False  # not before: a failed job is tried again
