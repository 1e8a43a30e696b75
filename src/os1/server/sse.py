"""Server-sent events: a turn streamed as its events (``notice``, ``token``, ``action``,
``confirm``, ``done``, or ``error``; named after their ``type``), and the ``/v1/events``
stream (``hello``, ``heartbeat``, ``turn``, ``notice``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from os1 import __version__
from os1.llm.base import CancelToken
from os1.server import notices
from os1.server.conversation import error_event, event_json, stream_reply
from os1.server.http import ApiError, read_json, text_field
from os1.server.state import ServerState, authenticate, server_state

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def message_stream(request: Request) -> Response:
    """``GET ?text=`` or ``POST {"text": …}``: the reply as SSE."""
    tenant = await authenticate(request, allow_query_token=True)
    if request.method == "POST":
        text = text_field(await read_json(request), "text")
    else:
        text = request.query_params.get("text", "")
        if not text.strip():
            raise ApiError(400, "text is needed: what to say")
        if len(text) > 100_000:
            raise ApiError(413, "text is longer than 100000 characters")
    state = server_state(request)

    async def events() -> AsyncIterator[str]:
        cancel = CancelToken()
        try:
            async for item in stream_reply(state, tenant, text, cancel, "sse"):
                data = event_json(item)  # its type names the event, and stays in it
                yield event(str(data["type"]), data)
        except Exception as exc:
            yield event("error", error_event(exc))

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


async def events(request: Request) -> Response:
    """Notices for this user: ``hello`` first, then the ``notice``s pending (a reminder due
    while nobody listened, marked late), a ``heartbeat`` every few seconds, a ``turn``
    whenever a reply is stored (from any of the user's connections), and each ``notice``
    as it falls due (``os1.server.notices``)."""
    tenant = await authenticate(request, allow_query_token=True)
    state: ServerState = server_state(request)
    queue = tenant.events.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            # The version lets a page that reconnects after a restart say it is back, updated.
            yield event("hello", {"account": tenant.account.name, "version": __version__})
            # Not while a turn of theirs runs (it says them itself), so hello and the
            # heartbeats are never held up behind a reply.
            for notice in await run_in_threadpool(notices.due_notices, tenant, False):
                yield event("notice", notice)
            while True:
                try:
                    notice = await asyncio.wait_for(queue.get(), state.options.server.heartbeat_s)
                except TimeoutError:
                    yield event("heartbeat", {})
                    continue
                yield event(str(notice.get("type", "notice")), notice)
        finally:
            tenant.events.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)
