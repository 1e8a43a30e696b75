"""The conversation loop: remember first, then reply, then remember the reply."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from datetime import datetime

from os1.domain import Persona, Prompt, Role, Session, Turn, TurnStatus, UserProfile
from os1.llm.base import CancelToken, LLMBackend
from os1.memory.codec import now
from os1.memory.extraction import importance
from os1.memory.ingest import Memorizer
from os1.memory.protocol import Store
from os1.memory.retrieval import Recollection, Retriever
from os1.mind.consolidation import consolidate
from os1.mind.prompting import PromptBuilder, asks_about_presence
from os1.mind.reflection import reflect
from os1.mind.speculation import Speculation
from os1.options import ChatOptions


class NotSetUp(Exception):
    def __init__(self) -> None:
        super().__init__("OS1 has not been set up yet. Run: os1 setup")


class EmptyMessage(ValueError):
    def __init__(self) -> None:
        super().__init__("Nothing to say: the message is empty.")


class Reply:
    """A reply being generated. Iterate it for text pieces; when it ends (fully, by
    cancellation, by Ctrl-C or by an error) what was said is stored with its status."""

    def __init__(
        self,
        companion: Companion,
        user_turn: Turn,
        cancel: CancelToken,
        hold: bool = False,
        ahead: Speculation | None = None,
        prompt: Prompt | None = None,
    ) -> None:
        self.user_turn = user_turn
        # Built by respond() unless a reply begun ahead is adopted (it had its own).
        self.prompt = prompt
        # A reply already begun while the user paused (voice); its pieces come first.
        self.ahead = ahead
        # Voice holds the reply back until playback ends, then stores what was heard.
        self.hold = hold
        self.cancel = cancel
        self.text = ""
        self.status = TurnStatus.PENDING
        self.turn: Turn | None = None
        self.first_token_s: float | None = None
        self._companion = companion
        self._started = time.perf_counter()
        self._pieces: Generator[str, None, None] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._pieces is None:
            self._pieces = self._generate()
        return self._pieces

    def close(self) -> None:
        """Stop generating and store what was said; safe to call at any time."""
        if self._pieces is not None:
            self._pieces.close()

    def _generate(self) -> Generator[str, None, None]:
        companion = self._companion
        self.status = TurnStatus.FAILED
        try:
            if self.ahead is not None:
                pieces = self.ahead.follow()
            else:
                assert self.prompt is not None  # respond() built it
                pieces = companion.backend.stream(self.prompt, self.cancel)
            for piece in pieces:
                if self.first_token_s is None:
                    self.first_token_s = time.perf_counter() - self._started
                if not self.text:
                    piece = piece.lstrip()
                self.text += piece
                yield piece
            self.status = TurnStatus.INTERRUPTED if self.cancel.cancelled else TurnStatus.COMPLETE
        except (KeyboardInterrupt, GeneratorExit):
            self.status = TurnStatus.INTERRUPTED
            raise
        finally:
            self.text = self.text.strip()
            if not self.hold:
                self.store()

    def store(self, text: str | None = None, status: TurnStatus | None = None) -> Turn | None:
        """Store the reply (by default all generated text, with its status), once."""
        said = (self.text if text is None else text).strip()
        if self.turn is None and said:
            self.turn = self._companion.store.add_turn(
                self.user_turn.session_id,
                Role.COMPANION,
                self._companion.persona.name,
                said,
                status or self.status,
                importance=importance(said),
            )
            self._companion.last_turn_at = self.turn.created_at
        return self.turn


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
        talking_with: Callable[[], int] | None = None,
        known: tuple[Persona, UserProfile] | None = None,
    ) -> None:
        """``talking_with`` counts the people the OS is talking with now (a server's
        presence), so it can answer truthfully when asked. ``known``: the persona and
        profile, when the caller has just read them from ``store``."""
        persona, profile = known or (store.persona(), store.profile())
        if persona is None or profile is None:
            raise NotSetUp()
        self.store = store
        self.backend = backend
        self.retriever = retriever
        self.builder = builder
        self.options = options or ChatOptions()
        self.memorizer = memorizer
        self.talking_with = talking_with
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

    def respond(
        self,
        text: str,
        cancel: CancelToken | None = None,
        hold: bool = False,
        ahead: Speculation | None = None,
    ) -> Reply:
        """Store the user's turn now, before any generation, and return the reply stream.
        With ``hold`` the reply is stored only by ``Reply.store`` (voice: what was heard).
        ``ahead`` is a reply begun by ``speculate``: it is adopted if it answers these
        very words (the reply is then cancelled through its token), and dropped if not."""
        if not text.strip():
            raise EmptyMessage()
        if ahead is not None:
            if not ahead.matches(text):
                ahead.abandon()
            ahead.store_free.wait()  # the store is used by one thread at a time
            if ahead.cancel.cancelled:
                ahead = None
        # Everything before the model starts, on one database connection.
        with self.store.one_connection():
            session = self.session()
            turn = self.store.add_turn(
                session.id, Role.USER, self.profile.name, text, importance=importance(text)
            )
            self.last_turn_at = turn.created_at
            if ahead is not None:
                return Reply(self, turn, ahead.cancel, hold, ahead)
            prompt = self.prompt_for(turn)
        return Reply(self, turn, cancel or CancelToken(), hold, prompt=prompt)

    def speculate(self, text: str) -> Speculation:
        """Begin replying to ``text`` before the turn is known to be over (voice, while the
        user pauses): nothing is stored until ``respond(text, ahead=...)`` adopts it."""
        return Speculation(text, lambda: self._speculative_prompt(text), self.backend)

    def _speculative_prompt(self, text: str) -> Prompt:
        # The same prompt prompt_for will build once the turn is stored: the recent turns
        # do not include it yet, and the memories are recalled for the same words.
        session = self.session()
        memories = self.retriever.recall(text, self.options.memories, exclude_session=session.id)
        return self._prompt(session.id, memories, text)

    def prompt_for(self, user_turn: Turn) -> Prompt:
        memories = self.retriever.recall(
            user_turn.text, self.options.memories, exclude_session=user_turn.session_id
        )
        return self._prompt(user_turn.session_id, memories, user_turn.text, user_turn.id)

    def _prompt(
        self, session_id: int, memories: list[Recollection], text: str, skip: int | None = None
    ) -> Prompt:
        recent = self.store.recent_turns(self.options.recent_turns + 1, session_id)
        history = stable_window([t for t in recent if t.id != skip], self.options.recent_turns)
        count = None
        if self.talking_with is not None and asks_about_presence(text):
            count = self.talking_with()
        return self.builder.build(self.persona, self.profile, history, memories, text, count)

    def remember(self) -> int:
        """Index what was said since last time (embeddings, facts); call between turns."""
        return self.memorizer.index() if self.memorizer is not None else 0

    def end_session(self) -> None:
        if self._session is not None:
            self.store.end_session(self._session.id)
            self._session = None
        self._reflection_due = True
        self._profile_fresh = False

    def reflect_pending(self) -> list[Persona]:
        """Reflect on every ended session not yet reflected on; return the new personas.
        Cheap after most turns: the store is asked only when a session may have ended."""
        if not self._reflection_due:
            return []
        grown = []
        pending = self.store.unreflected_sessions()
        if pending:
            self.remember()  # consolidation reads the facts indexing extracts
        for session in pending:
            consolidate(self.store, session.id)
            persona = reflect(self.store, self.backend, session.id)
            if persona is not None:
                grown.append(persona)
                self.persona = persona
        if pending or not self._profile_fresh:
            profile = self.store.profile()
            if profile is not None:
                self.profile = profile
            self._profile_fresh = True
        self._reflection_due = False  # not before: a failed reflection is tried again
        return grown
