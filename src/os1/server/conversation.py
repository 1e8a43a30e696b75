"""Turns wait for a model slot, run on the generation pool and stream to the event loop.

A turn first takes a slot of the model gate, waiting on the event loop (holding no
thread) when every slot is taken; the client hears ``busy`` notices meanwhile. The turn
(``os1.mind.turn.TurnRunner``: the model call and the store writes, which block) then
runs on a worker thread, holding its user's lock (one turn at a time per user; other
users are not held up). Its events cross to the event loop through a queue, the reply's
pieces joined into ``token`` events at least 30 ms apart. If the client goes away, the
turn is cancelled and stored as interrupted, with what was said so far. The slot is free
again as soon as the client has ``done``; the turn's indexing and jobs run after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from os1.llm import gate
from os1.llm.base import CancelToken
from os1.llm.gate import BusyNotice, ModelBusy
from os1.mind.events import (
    ActionTaken,
    ConfirmationAsked,
    Done,
    Event,
    Generated,
    NoticeDue,
    Started,
    Token,
    as_dict,
)
from os1.server.http import message_for, status_for
from os1.server.state import ServerState
from os1.server.tenancy import Tenant

logger = logging.getLogger(__name__)

# Pieces that come within this long of the last one sent go out together: a fast model
# (or vLLM serving many people) makes a token every few ms, and each message costs the
# server a wake-up of its event loop and a send, whoever reads it. 30 ms is below what a
# reader or a voice notices.
STREAM_FRAME_S = 0.03

# What a client is shown of a turn: the rest (started, generated) is the turn's business.
Shown = NoticeDue | Token | ActionTaken | ConfirmationAsked | Done


@dataclass
class FullReply:
    """A whole turn (non-streamed endpoints): its ``Done``, and what else it said."""

    done: Done
    notices: list[NoticeDue] = field(default_factory=list)
    actions: list[ActionTaken] = field(default_factory=list)
    confirm: ConfirmationAsked | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``done`` event's JSON, with the notices, actions and question (``os1 ask
        --json`` says the same)."""
        return {
            **as_dict(self.done),
            "notices": [as_dict(n) for n in self.notices],
            "actions": [as_dict(a) for a in self.actions],
            "confirm": as_dict(self.confirm) if self.confirm is not None else None,
        }


async def stream_reply(
    state: ServerState,
    tenant: Tenant,
    text: str,
    cancel: CancelToken,
    channel: str,
    confirmation_id: int | None = None,
) -> AsyncIterator[Shown | BusyNotice]:
    """Yield ``BusyNotice``s while the turn waits for the model (or the model server is
    retried), then the turn's events (``os1.mind.events``) up to its ``Done``. Errors
    raise here, ``ModelBusy`` when the model's queue is full. ``confirmation_id``: the
    turn answers that question with ``text`` (yes or no)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Shown | BusyNotice | BaseException] = asyncio.Queue()
    generated: asyncio.Future[None] = loop.create_future()
    state.presence.spoke(tenant.account.id)
    # The tenant may have been closed since the caller got it (a long-open socket).
    tenant = state.tenants.for_account(tenant.account)

    def hand_over(item: Shown | BusyNotice | BaseException) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
            if isinstance(item, Done | BaseException):
                loop.call_soon_threadsafe(_resolve, generated)
        except RuntimeError:  # the loop is gone (shutdown): nobody is listening
            cancel.cancel()

    def work() -> None:
        with tenant.leased(), tenant.lock:
            done: Done | None = None
            acted = False  # a skill acted: it may have scheduled something
            try:
                with gate.holding(), gate.listening(hand_over):
                    turns = tenant.turns()
                    events = turns.run(text, cancel, confirmation_id=confirmation_id)
                    for event in coalesced(events, STREAM_FRAME_S):
                        if isinstance(event, ActionTaken):
                            acted = True
                            # It may have set a reminder: look again, before the client
                            # has its answer (and may ask what is due).
                            tenant.events.next_due = None
                        if not isinstance(event, Started | Generated):
                            hand_over(event)
                        if isinstance(event, Done):
                            done = event
                            break
                if done is None:  # a turn always ends with Done, or raises
                    raise RuntimeError("a turn ended without Done")
            except BaseException as exc:
                hand_over(exc)
                return
            turn = {**as_dict(done), "type": "turn", "channel": channel}
            tenant.events.publish(turn)
            if acted:
                tenant.events.next_due = None  # it may have set a reminder: look again
            # The client has its answer and the slot is free: now the indexing and the
            # jobs (their model calls queue for a slot of their own).
            for _ in events:
                pass

    async def run() -> None:
        """Wait for a model slot (telling the client), then run the turn on a thread; the
        slot is free again as soon as the reply is done, before indexing."""
        try:
            async with tenant.shared.gate.slot(queue.put_nowait):
                future = loop.run_in_executor(state.pool, work)
                future.add_done_callback(_log_failure)
                await generated
        except Exception as exc:  # ModelBusy: the queue is full
            queue.put_nowait(exc)

    waiting = asyncio.create_task(run())
    held: Shown | BusyNotice | BaseException | None = None
    try:
        while True:
            item = held if held is not None else await queue.get()
            held = None
            # Pieces that piled up while the loop was busy go out as one: under load,
            # fewer and larger messages.
            while isinstance(item, Token) and not queue.empty():
                following = queue.get_nowait()
                if not isinstance(following, Token):
                    held = following
                    break
                item = Token(item.text + following.text)
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Done):
                return
    finally:
        # The client stopped listening (or asked to stop): stop generating.
        cancel.cancel()
        if not generated.done():
            waiting.cancel()


def coalesced(events: Iterable[Event], interval_s: float) -> Iterator[Event]:
    """The events, with the reply's tokens joined so that a token event follows the
    previous one by ``interval_s`` at least. The first piece goes at once; a piece held
    back goes with the next one, or before the next other event, so it waits at most
    until the model's next piece."""
    held = ""
    sent_at = -interval_s
    for event in events:
        if isinstance(event, Token):
            held += event.text
            moment = time.monotonic()
            if moment - sent_at >= interval_s:
                yield Token(held)
                held, sent_at = "", moment
            continue
        if held:
            yield Token(held)
            held = ""
        yield event
    if held:
        yield Token(held)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def error_event(exc: BaseException) -> dict[str, Any]:
    """A failed reply as an event: a clear message, its HTTP-like code, and for a full
    model queue how long to wait before trying again."""
    status = status_for(exc)
    event: dict[str, Any] = {
        "message": message_for(exc) if status else "internal server error",
        "code": status or 500,
    }
    if isinstance(exc, ModelBusy):
        event["retry_in_s"] = round(exc.retry_after_s, 1)
    return event


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("a reply worker failed", exc_info=future.exception())


async def full_reply(
    state: ServerState,
    tenant: Tenant,
    text: str,
    channel: str,
    confirmation_id: int | None = None,
) -> FullReply:
    """The whole turn at once (non-streamed endpoints): busy notices are not shown."""
    notices: list[NoticeDue] = []
    actions: list[ActionTaken] = []
    confirm: ConfirmationAsked | None = None
    async for item in stream_reply(state, tenant, text, CancelToken(), channel, confirmation_id):
        if isinstance(item, NoticeDue):
            notices.append(item)
        elif isinstance(item, ActionTaken):
            actions.append(item)
        elif isinstance(item, ConfirmationAsked):
            confirm = item
        elif isinstance(item, Done):
            return FullReply(item, notices, actions, confirm)
    raise RuntimeError("a turn ended without finishing")  # stream_reply always finishes


def event_json(item: Shown | BusyNotice) -> dict[str, Any]:
    """An item of ``stream_reply`` as its JSON event, the same on every face."""
    if isinstance(item, BusyNotice):
        return item.as_event()
    return as_dict(item)
