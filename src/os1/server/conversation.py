"""Replies wait for a model slot, run on the generation pool and stream to the event loop.

A reply first takes a slot of the model gate, waiting on the event loop (holding no
thread) when every slot is taken; the client hears ``busy`` notices meanwhile. The model
call and the store writes are blocking, so the reply then runs on a worker thread,
holding its user's lock (one turn at a time per user; other users are not held up). Text
pieces cross to the event loop through a queue, joined into frames at least 30 ms apart.
If the client goes away, the reply is cancelled and stored as interrupted, with what was
said so far. Indexing the new turns happens after the client has its answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from os1.llm import gate
from os1.llm.base import CancelToken
from os1.llm.gate import BusyNotice, ModelBusy
from os1.mind.companion import Reply
from os1.server.http import message_for, status_for
from os1.server.state import ServerState
from os1.server.tenancy import Tenant

logger = logging.getLogger(__name__)

# Pieces that come within this long of the last one sent go out together: a fast model
# (or vLLM serving many people) makes a token every few ms, and each message costs the
# server a wake-up of its event loop and a send, whoever reads it. 30 ms is below what a
# reader or a voice notices.
STREAM_FRAME_S = 0.03


@dataclass(frozen=True)
class Finished:
    """The end of a reply: what was stored."""

    text: str
    status: str
    name: str
    session_id: int
    user_turn_id: int
    turn_id: int | None
    first_token_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reply": self.text,
            "status": self.status,
            "name": self.name,
            "session_id": self.session_id,
            "user_turn_id": f"t{self.user_turn_id}",
            "turn_id": f"t{self.turn_id}" if self.turn_id is not None else None,
            "first_token_s": self.first_token_s,
        }


def _finished(reply: Reply, name: str) -> Finished:
    return Finished(
        text=reply.text,
        status=reply.status.value,
        name=name,
        session_id=reply.user_turn.session_id,
        user_turn_id=reply.user_turn.id,
        turn_id=reply.turn.id if reply.turn else None,
        first_token_s=reply.first_token_s,
    )


async def stream_reply(
    state: ServerState, tenant: Tenant, text: str, cancel: CancelToken, channel: str
) -> AsyncIterator[str | BusyNotice | Finished]:
    """Yield ``BusyNotice``s while the reply waits for the model (or the model server is
    retried), then its text pieces, then one ``Finished``. Errors raise here, ``ModelBusy``
    when the model's queue is full."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | BusyNotice | Finished | BaseException] = asyncio.Queue()
    generated: asyncio.Future[None] = loop.create_future()
    state.presence.spoke(tenant.account.id)
    # The tenant may have been closed since the caller got it (a long-open socket).
    tenant = state.tenants.for_account(tenant.account)

    def hand_over(item: str | BusyNotice | Finished | BaseException) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
            if isinstance(item, Finished | BaseException):
                loop.call_soon_threadsafe(_resolve, generated)
        except RuntimeError:  # the loop is gone (shutdown): nobody is listening
            cancel.cancel()

    def work() -> None:
        with tenant.leased(), tenant.lock:
            try:
                with gate.holding(), gate.listening(hand_over):
                    companion = tenant.companion()
                    reply = companion.respond(text, cancel)
                    try:
                        for frame in frames(reply, STREAM_FRAME_S):
                            hand_over(frame)
                            if cancel.cancelled:
                                break
                    finally:
                        reply.close()  # stores what was said, with its status
                    finished = _finished(reply, companion.persona.name)
            except BaseException as exc:
                hand_over(exc)
                return
            hand_over(finished)
            tenant.events.publish({"type": "turn", "channel": channel, **finished.as_dict()})
            try:
                companion.remember()
                companion.reflect_pending()  # its model calls queue for a slot of their own
            except Exception:  # the reply is stored; indexing resumes on the next turn
                logger.exception("indexing after a reply failed")

    async def run() -> None:
        """Wait for a model slot (telling the client), then generate on a thread; the slot
        is free again as soon as the reply is finished, before indexing."""
        try:
            async with tenant.shared.gate.slot(queue.put_nowait):
                future = loop.run_in_executor(state.pool, work)
                future.add_done_callback(_log_failure)
                await generated
        except Exception as exc:  # ModelBusy: the queue is full
            queue.put_nowait(exc)

    waiting = asyncio.create_task(run())
    held: str | BusyNotice | Finished | BaseException | None = None
    try:
        while True:
            item = held if held is not None else await queue.get()
            held = None
            # Pieces that piled up while the loop was busy go out as one: under load,
            # fewer and larger messages.
            while isinstance(item, str) and not queue.empty():
                following = queue.get_nowait()
                if not isinstance(following, str):
                    held = following
                    break
                item += following
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Finished):
                return
    finally:
        # The client stopped listening (or asked to stop): stop generating.
        cancel.cancel()
        if not generated.done():
            waiting.cancel()


def frames(pieces: Iterable[str], interval_s: float) -> Iterator[str]:
    """The pieces, joined so that a frame follows the previous one by ``interval_s`` at
    least. The first piece goes at once; a piece held back goes with the next one, or at
    the end, so it waits at most until the model's next piece."""
    held = ""
    sent_at = -interval_s
    for piece in pieces:
        held += piece
        moment = time.monotonic()
        if moment - sent_at >= interval_s:
            yield held
            held, sent_at = "", moment
    if held:
        yield held


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


async def full_reply(state: ServerState, tenant: Tenant, text: str, channel: str) -> Finished:
    """The whole reply at once (non-streamed endpoints): busy notices are not shown."""
    cancel = CancelToken()
    async for item in stream_reply(state, tenant, text, cancel, channel):
        if isinstance(item, Finished):
            return item
    raise RuntimeError("a reply ended without finishing")  # stream_reply always finishes
