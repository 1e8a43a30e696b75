"""One owner for a turn of conversation, from the user's words to the jobs after the reply.

``TurnRunner.run`` does the whole exchange, in order, and tells the face what happens as
typed events (``os1.mind.events``); faces (``os1 chat``, ``os1 ask``, ``os1 talk``, the
WebSockets, SSE, the OpenAI endpoint) only render them:

1. store the user's words, before anything else, so a crash loses nothing said;
2. notices that fell due (reminders) come first;
3. a pending confirmation is answered ("yes" runs the skill's action, anything else
   drops it), else a local intent may serve the request without the model;
4. otherwise recall, build the prompt with the skills' context lines and, for a model
   that calls tools, the skills' tools, and stream the reply (tool calls run and their
   results go back to the model);
5. store the reply with its status (what was said, or what the face delivered);
6. index the new turns, and run the after-turn and session-end jobs (reflection).

Voice keeps its barge-in and its reply begun in the pause as inputs: ``cancel`` stops the
reply, ``ahead`` adopts a reply begun while the user paused, and ``deliver`` lets the face
say what actually reached the user (what playback spoke before an interruption).

Every side effect a skill proposes (cancel, send, delete) waits for the user's yes; each
question and answer is stored with its time. A model's tool call that would change
anything is proposed too, never run at once, because a prompt holds words that are not
the user's (memories, mail) and could have talked the model into it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from os1.domain import (
    ChatMessage,
    Confirmation,
    ConfirmationStatus,
    Prompt,
    Role,
    ToolCall,
    Turn,
    TurnStatus,
)
from os1.llm.base import CancelToken, ToolBackend
from os1.memory.extraction import importance
from os1.memory.recall.embedding import Embedder
from os1.memory.storage.codec import now
from os1.mind.companion import Companion, EmptyMessage
from os1.mind.events import (
    ActionTaken,
    ConfirmationAsked,
    Done,
    Event,
    Generated,
    NoticeDue,
    Started,
    Token,
)
from os1.mind.intents import IntentMatcher, answer
from os1.mind.plugins import Skills
from os1.mind.replies import follow_up, generic
from os1.mind.skill import JobRun, JobWhen, Outcome, Proposal, Services, SkillContext, Tool
from os1.mind.speculation import Speculation

logger = logging.getLogger(__name__)

# A face that delivers the reply itself (voice) says what reached the user: called with
# what was generated and its status, it returns the text to store, its status, and the
# stage timings to keep with it.
Deliver = Callable[[str, TurnStatus], tuple[str, TurnStatus, dict[str, float]]]

# A yes counts only for a question asked this recently; later it is a new conversation.
CONFIRMATION_TTL = timedelta(minutes=10)
# A due item claimed this long after its time was missed (OS1 was not running).
LATE_AFTER = timedelta(minutes=2)
# Tool calls a model may make in one turn before it must answer in words.
MAX_TOOL_ROUNDS = 4


class TurnRunner:
    def __init__(
        self,
        companion: Companion,
        skills: Skills,
        services: Services | None = None,
        timezone: ZoneInfo | None = None,
        embedder: Embedder | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.companion = companion
        self.skills = skills
        self.services = services or Services()
        self.timezone = timezone or ZoneInfo("UTC")
        self.clock = clock
        self.intents = IntentMatcher(skills.intents, embedder)
        self.embedder = embedder
        self.tools: dict[str, Tool] = {t.spec.name: t for t in skills.tools}
        # Asked once: an isinstance check against a Protocol costs about 70 µs.
        backend = companion.backend
        self._tool_model: ToolBackend | None = backend if isinstance(backend, ToolBackend) else None
        # A base model that continues a transcript may go on with a reply it ended after
        # "Why?" (a scripted stand-in only repeats its script).
        self._continues = bool(getattr(backend, "continues_transcripts", False))

    @property
    def name(self) -> str:
        return self.companion.persona.name

    def context(self) -> SkillContext:
        c = self.companion
        return SkillContext(
            c.store,
            c.profile,
            c.persona,
            self.timezone,
            self.clock,
            self.services,
            c.backend,
            c.retriever,
            self.embedder,
        )

    # --- the turn -----------------------------------------------------------------

    def run(
        self,
        text: str,
        cancel: CancelToken | None = None,
        *,
        ahead: Speculation | None = None,
        deliver: Deliver | None = None,
        confirmation_id: int | None = None,
    ) -> Generator[Event, None, None]:
        """The whole turn. Iterate it to the end: after ``Done`` come the indexing and the
        jobs (a face may show ``Done`` first). Closing it early still stores what was
        said. ``confirmation_id`` answers that question (a dialog's button) with ``text``."""
        if not text.strip():
            raise EmptyMessage()
        cancel = cancel or CancelToken()
        companion = self.companion
        if ahead is not None:
            if not ahead.matches(text):
                ahead.abandon()
            ahead.store_free.wait()  # the store is used by one thread at a time
            if ahead.cancel.cancelled:
                ahead = None
            else:
                cancel = ahead.cancel
        agenda = companion.store.agenda
        # Everything before the model starts, on one database connection: the turn, and
        # whether a question waits for an answer or something has fallen due (two reads).
        with companion.store.one_connection():
            session = companion.session()
            user_turn = companion.store.add_turn(
                session.id, Role.USER, companion.profile.name, text, importance=importance(text)
            )
            companion.last_turn_at = user_turn.created_at
            waiting = (
                agenda.get_confirmation(confirmation_id)
                if confirmation_id is not None
                else agenda.waiting_confirmation()
            )
            next_due = agenda.next_due_at()
        yield Started(session.id, user_turn.id)
        if next_due is not None and next_due <= self.clock():
            yield from self.due_notices()

        reply = _Reply(user_turn)
        delivered = False
        try:
            handled = self._without_model(text, waiting, confirmation_id is not None)
            if handled is not None:
                if ahead is not None:
                    ahead.abandon()  # served without the model: the reply begun is not used
                yield from handled
                reply.text = " ".join(e.text for e in handled if isinstance(e, Token))
                reply.status = TurnStatus.COMPLETE
            else:
                yield from self._model_reply(reply, ahead, cancel)
            yield Generated(reply.text)
            if deliver is not None:
                delivered = True
                reply.text, reply.status, reply.timings = deliver(reply.text, reply.status)
        except (KeyboardInterrupt, GeneratorExit):
            reply.status = TurnStatus.INTERRUPTED
            self._store(reply)
            raise
        except BaseException:
            reply.status = TurnStatus.FAILED if not reply.text else TurnStatus.INTERRUPTED
            if deliver is not None and not delivered:
                # The face still says what reached the user before the failure (voice:
                # the phrases played); FAILED tells it generating failed.
                reply.text, reply.status, reply.timings = deliver(reply.text, TurnStatus.FAILED)
            self._store(reply)
            raise
        self._store(reply)
        yield Done(
            reply.text,
            reply.status.value,
            self.name,
            session.id,
            user_turn.id,
            reply.turn.id if reply.turn else None,
            reply.first_token_s,
        )
        self.after_turn()

    def speculate(self, text: str) -> Speculation:
        """Begin replying to ``text`` before the turn is known to be over (voice, while the
        user pauses): nothing is stored until ``run(text, ahead=...)`` adopts it. If an
        intent or a waiting question serves the turn instead, ``run`` abandons it."""
        return self.companion.speculate(text, self._context_lines(text))

    def _store(self, reply: _Reply) -> None:
        said = reply.text.strip()
        if reply.turn is None and not said and reply.status is TurnStatus.FAILED:
            # Nothing was said to store as a reply: the user's turn itself is marked, so
            # the record shows the words went unanswered (os1 history: "(failed)").
            user = reply.user_turn
            self.companion.store.finish_turn(user.id, user.text, TurnStatus.FAILED)
            return
        if reply.turn is not None or not said:
            return
        companion = self.companion
        reply.turn = companion.store.add_turn(
            reply.user_turn.session_id,
            Role.COMPANION,
            companion.persona.name,
            said,
            reply.status,
            importance=importance(said),
        )
        companion.last_turn_at = reply.turn.created_at
        if reply.timings:
            companion.store.save_timings(reply.turn.id, reply.timings)

    # --- without the model: confirmations and intents -------------------------------

    def _without_model(
        self, text: str, waiting: Confirmation | None, answering: bool
    ) -> list[Event] | None:
        """A reply that needs no model: the answer to a waiting question (``answering``:
        a dialog's button answers that very one), or a local intent's."""
        agenda = self.companion.store.agenda
        answered = waiting is not None and waiting.status is not ConfirmationStatus.WAITING
        if answering and answered:
            # A dialog's button for a question answered meanwhile (another tab).
            return [Token("That's already been taken care of.")]
        if waiting is not None and waiting.status is ConfirmationStatus.WAITING:
            said = answer(text)
            fresh = self.clock() - waiting.asked_at <= CONFIRMATION_TTL
            if said is not None and (fresh or answering):
                return self._answer(waiting, said)
            # The user moved on: the question lapses, so a later "yes" confirms nothing.
            agenda.answer_confirmation(waiting.id, ConfirmationStatus.EXPIRED)
        if self._tool_model is not None:
            return None  # a capable model uses the skills' tools instead
        found = self.intents.match(text)
        if found is None:
            return None
        intent, match = found
        outcome = intent.handle(match, self.context())
        events: list[Event] = [ActionTaken(intent.skill, intent.name, "intent", outcome.text)]
        if outcome.proposal is not None:
            events.append(self._ask(outcome.proposal))
        events.append(Token(outcome.text))
        return events

    def _ask(self, proposal: Proposal) -> ConfirmationAsked:
        asked = self.companion.store.agenda.ask_confirmation(
            proposal.skill, proposal.action, proposal.args, proposal.question
        )
        return ConfirmationAsked(asked.id, asked.skill, asked.action, asked.question)

    def _answer(self, waiting: Confirmation, yes: bool) -> list[Event]:
        agenda = self.companion.store.agenda
        status = ConfirmationStatus.CONFIRMED if yes else ConfirmationStatus.DECLINED
        # Answered atomically: a second "yes" (another tab, a retry) finds it answered.
        if agenda.answer_confirmation(waiting.id, status) is None:
            return [Token("That's already been taken care of.")]
        if not yes:
            return [
                ActionTaken(waiting.skill, waiting.action, "declined", "declined"),
                Token("All right, I won't."),
            ]
        action = self.skills.actions.get((waiting.skill, waiting.action))
        if action is None:
            result = "I can't do that any more: the skill that offered it is not installed."
        else:
            try:
                result = action.run(waiting.args, self.context())
            except Exception as exc:  # the user hears why; nothing is half-reported
                logger.exception("the confirmed action %s.%s failed", waiting.skill, waiting.action)
                result = f"I couldn't do that: {exc}"
        agenda.set_confirmation_result(waiting.id, result)
        return [ActionTaken(waiting.skill, waiting.action, "confirmation", result), Token(result)]

    # --- with the model -----------------------------------------------------------

    def _context_lines(self, text: str) -> list[str]:
        try:
            return self.skills.context(self.context(), text)
        except Exception:  # a failing skill must not cost the reply
            logger.exception("a skill's context failed")
            return []

    def _model_reply(
        self, reply: _Reply, ahead: Speculation | None, cancel: CancelToken
    ) -> Iterator[Event]:
        companion = self.companion
        started = time.perf_counter()
        if ahead is not None:
            pieces: Iterator[str | ToolCall] = iter(ahead.follow())
            prompt = None
        else:
            tools = [t.spec for t in self.tools.values()]
            model = self._tool_model if tools else None
            with companion.store.one_connection():
                prompt = companion.prompt_for(
                    reply.user_turn, self._context_lines(reply.user_turn.text), tools
                )
            if model is not None:
                pieces = model.stream_tools(prompt, cancel)
            else:
                pieces = iter(companion.backend.stream(prompt, cancel))
        rounds = 0
        while True:
            calls: list[ToolCall] = []
            for piece in pieces:
                if isinstance(piece, ToolCall):
                    calls.append(piece)
                    continue
                if reply.first_token_s is None:
                    reply.first_token_s = time.perf_counter() - started
                if not reply.text or reply.text.endswith(" "):
                    piece = piece.lstrip()
                reply.text += piece
                if piece:
                    yield Token(piece)
            if not calls and prompt is not None and self._thin(reply, rounds, cancel):
                # A base model often stops after "Why?" or "Oh.": it goes on from there,
                # on the same line, once (what was said already stands).
                rounds = MAX_TOOL_ROUNDS
                pieces = iter(companion.backend.stream(_going_on(prompt, reply.text), cancel))
                if reply.text:
                    reply.text += " "
                    yield Token(" ")
                continue
            if not calls or prompt is None or cancel.cancelled:
                break
            rounds += 1
            results, proposals = self._call_tools(calls)
            yield from proposals
            if proposals and not reply.text:
                # The model wants a side effect: the user's yes comes first, in words.
                question = " ".join(e.question for e in proposals)
                reply.text = question
                yield Token(question)
                break
            if rounds >= MAX_TOOL_ROUNDS:
                break
            prompt = replace(
                prompt,
                chat=(
                    *prompt.chat,
                    ChatMessage("assistant", reply.text, tool_calls=tuple(calls)),
                    *results,
                ),
            )
            assert self._tool_model is not None  # calls come only from a model that makes them
            pieces = self._tool_model.stream_tools(prompt, cancel)
        if self._continues and not cancel.cancelled and prompt is not None and generic(reply.text):
            # Still "Yes." after going on: a warm line follows, never a bare word.
            more = follow_up(reply.user_turn.text, companion.profile.name)
            more = f" {more}" if reply.text.strip() and not reply.text.endswith(" ") else more
            reply.text += more
            yield Token(more)
        reply.text = reply.text.strip()
        reply.status = TurnStatus.INTERRUPTED if cancel.cancelled else TurnStatus.COMPLETE

    def _thin(self, reply: _Reply, rounds: int, cancel: CancelToken) -> bool:
        return (
            self._continues
            and rounds < MAX_TOOL_ROUNDS
            and not cancel.cancelled
            and generic(reply.text)
        )

    def _call_tools(
        self, calls: list[ToolCall]
    ) -> tuple[list[ChatMessage], list[ConfirmationAsked]]:
        """Run each call; a side effect becomes a question for the user. The results go
        back to the model as tool messages: data, never instructions."""
        results: list[ChatMessage] = []
        asked: list[ConfirmationAsked] = []
        for call in calls:
            tool = self.tools.get(call.name)
            if tool is None:
                outcome = Outcome(f"there is no tool called {call.name}")
            else:
                try:
                    outcome = tool.call(call.arguments, self.context())
                except Exception as exc:  # the model hears the error and may say so
                    outcome = Outcome(f"error: {exc}")
            if outcome.proposal is not None:
                asked.append(self._ask(outcome.proposal))
                content = "waiting for the user's confirmation: " + outcome.proposal.question
            else:
                content = outcome.text
            results.append(
                ChatMessage("tool", json.dumps({"result": content}), tool_call_id=call.id)
            )
        return results, asked

    # --- between turns --------------------------------------------------------------

    def due_notices(self) -> list[NoticeDue]:
        """Claim what has fallen due (exactly once, whichever process asks), turn each into
        a notice through its skill's job, and return the notices not yet delivered."""
        agenda = self.companion.store.agenda
        moment = self.clock()
        for item in agenda.claim_due(moment):
            late = moment - item.due_at > LATE_AFTER
            text: str | None = item.text
            for job in self.skills.jobs_for(JobWhen.DUE, item.kind):
                if job.skill == item.skill:
                    try:
                        text = job.run(JobRun(self.context(), item=item, late=late))
                    except Exception:
                        logger.exception("the job %s.%s failed", job.skill, job.name)
            if text:
                agenda.add_notice(text, item.skill, item.due_at, late, item.id)
        notices = agenda.take_pending_notices()
        return [NoticeDue(n.id, n.text, n.source, n.late, n.due_at) for n in notices]

    def after_turn(self) -> None:
        """Index what was said, then the jobs. A failure here never costs the reply,
        which is stored: indexing resumes after the next turn."""
        try:
            self.companion.remember()
            for job in self.skills.jobs_for(JobWhen.AFTER_TURN):
                job.run(JobRun(self.context()))
            self.session_jobs()
        except Exception:
            logger.exception("work after a turn failed")

    def session_jobs(self) -> int:
        """Run the session-end jobs (consolidation, reflection) for every ended session
        not yet reflected on; how many sessions. Cheap after most turns: the store is
        asked only when a session may have ended."""
        companion = self.companion
        if not companion.reflection_due:
            return 0
        pending = companion.store.unreflected_sessions()
        if pending:
            companion.remember()  # consolidation reads the facts indexing extracts
        for session in pending:
            for job in self.skills.jobs_for(JobWhen.SESSION_END):
                job.run(JobRun(self.context(), session_id=session.id))
            companion.store.mark_reflected(session.id)
        companion.refresh(reread_persona=bool(pending))
        return len(pending)

    def end_session(self) -> int:
        """End the session now (``os1 sleep``, leaving a chat) and run its jobs."""
        self.companion.end_session()
        return self.session_jobs()


def _going_on(prompt: Prompt, said: str) -> Prompt:
    """The same prompt with the reply so far, to be continued on its line."""
    return replace(prompt, completion=prompt.completion + " " + said.strip())


class _Reply:
    def __init__(self, user_turn: Turn) -> None:
        self.user_turn = user_turn
        self.text = ""
        self.status = TurnStatus.PENDING
        self.turn: Turn | None = None
        self.first_token_s: float | None = None
        self.timings: dict[str, float] = {}
