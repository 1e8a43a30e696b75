"""Replies run on the generation pool and stream back to the event loop.

The model call and the store writes are blocking, so each reply runs on a worker thread,
holding its user's lock (one turn at a time per user; other users are not held up). Text
pieces cross to the event loop through a queue. If the client goes away, the reply is
cancelled and stored as interrupted, with what was said so far. Indexing the new turns
happens after the client has its answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from os1.llm.base import CancelToken
from os1.mind.companion import Reply
from os1.server.tenancy import Tenant

logger = logging.getLogger(__name__)


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
    pool: Executor, tenant: Tenant, text: str, cancel: CancelToken, channel: str
) -> AsyncIterator[str | Finished]:
    """Yield the reply's text pieces, then one ``Finished``. Errors raise here."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | Finished | BaseException] = asyncio.Queue()

    def hand_over(item: str | Finished | BaseException) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (shutdown): nobody is listening
            cancel.cancel()

    def work() -> None:
        with tenant.lock:
            try:
                companion = tenant.companion()
                reply = companion.respond(text, cancel)
                try:
                    for piece in reply:
                        hand_over(piece)
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
                companion.reflect_pending()
            except Exception:  # the reply is stored; indexing resumes on the next turn
                logger.exception("indexing after a reply failed")

    future = loop.run_in_executor(pool, work)
    future.add_done_callback(_log_failure)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Finished):
                return
    finally:
        # The client stopped listening (or asked to stop): stop generating.
        cancel.cancel()


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("a reply worker failed", exc_info=future.exception())


async def full_reply(pool: Executor, tenant: Tenant, text: str, channel: str) -> Finished:
    """The whole reply at once (non-streamed endpoints)."""
    cancel = CancelToken()
    async for item in stream_reply(pool, tenant, text, cancel, channel):
        if isinstance(item, Finished):
            return item
    raise RuntimeError("a reply ended without finishing")  # stream_reply always finishes
