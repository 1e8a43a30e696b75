"""``WS /v1/chat``: typed conversation over a WebSocket.

Client → server: ``{"type": "message", "text": …}``, ``{"type": "stop"}``.
Server → client: ``{"type": "hello"}`` first, then per turn the turn's events
(``os1.mind.events.as_dict``): ``notice``s that fell due, ``token``s of the reply,
``action`` when a skill acted, ``confirm`` when it waits for a yes (answer it with
``POST /v1/confirmations/{id}`` or by saying yes), and one ``done`` (or ``error``);
between turns, a ``notice`` when a reminder falls due.
Bad messages get an ``error`` event and the socket stays open; a socket silent for
longer than the idle timeout, or sending an oversize message, is closed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from os1.llm.base import CancelToken
from os1.server.conversation import error_event, event_json, stream_reply
from os1.server.http import ApiError
from os1.server.state import ServerState, authenticate, rate_limit, server_state
from os1.server.tenancy import Tenant

logger = logging.getLogger(__name__)

# Close codes in the application range (4000-4999), named after their HTTP cousins.
CLOSE_UNAUTHORIZED = 4401
CLOSE_IDLE = 4408
CLOSE_TOO_BIG = 1009


class Socket:
    """A WebSocket that several tasks may send on, one message at a time."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any] | bytes) -> None:
        async with self._lock:
            if self.websocket.application_state is not WebSocketState.CONNECTED:
                return
            if isinstance(message, bytes):
                await self.websocket.send_bytes(message)
            else:
                await self.websocket.send_text(json.dumps(message, ensure_ascii=False, default=str))

    async def close(self, code: int, reason: str) -> None:
        await self.send({"type": "error", "message": reason})
        async with self._lock:
            with contextlib.suppress(RuntimeError):
                await self.websocket.close(code, reason[:120])


async def accept(websocket: WebSocket) -> tuple[Socket, Tenant] | None:
    """Accept, then authenticate (so a bad token gets a readable reason, not a bare
    handshake failure); None if the socket was closed."""
    await websocket.accept()
    socket = Socket(websocket)
    try:
        tenant = await authenticate(websocket, allow_query_token=True)
    except ApiError as exc:
        code = CLOSE_UNAUTHORIZED if exc.status == 401 else 4000 + exc.status
        await socket.close(code, exc.message)
        return None
    return socket, tenant


async def receive(socket: Socket, state: ServerState) -> dict[str, Any] | None:
    """The next message, or None when the socket closed (idle, oversize or by the client)."""
    try:
        message = await asyncio.wait_for(
            socket.websocket.receive(), state.options.server.ws_idle_timeout_s
        )
    except TimeoutError:
        await socket.close(
            CLOSE_IDLE, f"closing: idle for {state.options.server.ws_idle_timeout_s:g} s"
        )
        return None
    if message["type"] == "websocket.disconnect":
        return None
    size = len(message.get("text") or message.get("bytes") or b"")
    if message.get("text") is not None and size > state.options.server.ws_max_text_bytes:
        await socket.close(
            CLOSE_TOO_BIG,
            f"closing: a message is larger than {state.options.server.ws_max_text_bytes}",
        )
        return None
    return dict(message)


async def chat(websocket: WebSocket) -> None:
    accepted = await accept(websocket)
    if accepted is None:
        return
    socket, tenant = accepted
    state = server_state(websocket)
    await socket.send({"type": "hello", "account": tenant.account.name})
    # The user's memories are read while they type, not on their first turn.
    asyncio.get_running_loop().run_in_executor(state.pool, tenant.warm).add_done_callback(_warmed)
    replying: asyncio.Task[None] | None = None
    cancel = CancelToken()
    state.presence.connected(tenant.account.id)
    # Reminders that fall due between turns come on the socket too (os1.server.notices).
    hub = tenant.events.subscribe(only=frozenset({"notice"}))
    forwarding = asyncio.create_task(_forward_notices(socket, hub))
    try:
        while (message := await receive(socket, state)) is not None:
            if message.get("bytes") is not None:
                await socket.send({"type": "error", "message": "send JSON text messages"})
                continue
            try:
                command = parse(str(message.get("text")))
                rate_limit(state, tenant.account.id)
            except ApiError as exc:
                await socket.send({"type": "error", "message": exc.message, "code": exc.status})
                continue
            if command["type"] == "stop":
                cancel.cancel()
                continue
            if replying is not None and not replying.done():
                await socket.send(
                    {"type": "error", "message": "a reply is in progress: wait, or send stop"}
                )
                continue
            cancel = CancelToken()
            replying = asyncio.create_task(reply(socket, state, tenant, command["text"], cancel))
    except WebSocketDisconnect:
        pass
    finally:
        # An abandoned socket stops its reply; what was said so far is stored.
        state.presence.disconnected(tenant.account.id)
        tenant.events.unsubscribe(hub)
        forwarding.cancel()
        cancel.cancel()
        if replying is not None and not replying.done():
            replying.cancel()


def _warmed(future: asyncio.Future[None]) -> None:
    # A failure here is the first turn's to report (it opens the same things): logged only.
    if not future.cancelled() and future.exception() is not None:
        logger.warning("could not open a user's memories ahead", exc_info=future.exception())


async def _forward_notices(socket: Socket, hub: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await socket.send(await hub.get())


def parse(raw: str) -> dict[str, Any]:
    try:
        command = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc.msg}") from None
    if not isinstance(command, dict) or command.get("type") not in ("message", "stop"):
        raise ApiError(400, 'send {"type": "message", "text": "…"} or {"type": "stop"}')
    if command["type"] == "message":
        text = command.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "a message needs a non-empty text")
    return command


async def reply(
    socket: Socket, state: ServerState, tenant: Tenant, text: str, cancel: CancelToken
) -> None:
    try:
        async for item in stream_reply(state, tenant, text, cancel, "websocket"):
            await socket.send(event_json(item))
    except Exception as exc:
        await socket.send({"type": "error", **error_event(exc)})


ROUTE = WebSocketRoute("/v1/chat", chat)
