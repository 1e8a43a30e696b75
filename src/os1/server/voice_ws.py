"""``WS /v1/voice``: a spoken conversation, in the protocol of docs/voice-protocol.md.

Listening (VAD, recognizer) runs on a thread per incoming block; the reply runs on
``VoiceConversation``'s own threads. Reply audio goes out through ``SocketSink`` in 20 ms
blocks at the pace a speaker would play them, so the server knows what the user has heard
when they speak over it, and stops sending within one block.

The voice session has its own turn owner (``Tenant.voice_turns``), on its own connection
to the user's database (SQLite in WAL mode lets two connections share it), because
VoiceConversation runs turns from its threads. Each spoken turn is indexed before its
``turn_end`` goes out, like every face's turn, so it is found by memory search at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from os1.llm.base import preload_in_background
from os1.mind.voice_conversation import VoiceConversation
from os1.server.chat_ws import Socket, accept, receive
from os1.server.http import ApiError, message_for, status_for
from os1.server.state import rate_limit, server_state
from os1.voice import protocol
from os1.voice.frames import Frame, ReplyAudio, SpokenTurn

logger = logging.getLogger(__name__)
Outgoing = dict[str, Any] | bytes


class SocketSink:
    """Plays reply audio into the socket: each 20 ms block is sent when a speaker would
    reach it (blocks are sent as the protocol's ``audio`` event plus its PCM16)."""

    def __init__(self, sample_rate: int, send: Callable[[Outgoing], None]) -> None:
        self.sample_rate = sample_rate
        self.text = ""  # the phrase now playing, set just before its audio
        self._send = send
        self._free_at = 0.0

    def write(self, samples: np.ndarray) -> None:
        now = time.perf_counter()
        # Send a block when the one before it would start playing: one block of lead.
        time.sleep(max(0.0, self._free_at - now))
        self._free_at = max(self._free_at, now) + len(samples) / self.sample_rate
        for message in protocol.messages_for(ReplyAudio(samples, self.sample_rate, self.text)):
            self._send(message)


async def voice(websocket: WebSocket) -> None:
    accepted = await accept(websocket)
    if accepted is None:
        return
    socket, tenant = accepted
    state = server_state(websocket)
    loop = asyncio.get_running_loop()
    outbox: asyncio.Queue[Outgoing | None] = asyncio.Queue()

    def send_threadsafe(message: Outgoing) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody listens
            loop.call_soon_threadsafe(outbox.put_nowait, message)

    try:
        engines = state.voice_engines
        turns, store = await run_in_threadpool(tenant.voice_turns)
        preload_in_background(turns.companion.backend)  # while the voice engines load
        synthesizer = await run_in_threadpool(engines.synthesizer, turns.companion.persona.voice)
        recognizer, vad = await run_in_threadpool(lambda: (engines.recognizer(), engines.vad()))
    except Exception as exc:
        status = status_for(exc)
        await socket.close(4000 + (status or 500), message_for(exc) if status else str(exc))
        return
    sink = SocketSink(synthesizer.sample_rate, send_threadsafe)

    def on_frame(frame: Frame) -> None:
        if isinstance(frame, ReplyAudio):
            sink.text = frame.text  # its audio follows through the sink
            return
        for message in protocol.messages_for(frame):
            send_threadsafe(message)

    conversation = VoiceConversation(
        turns, recognizer, vad, synthesizer, sink, engines.policy(), on_frame
    )
    stream = protocol.ClientStream()
    writer = asyncio.create_task(_write(socket, outbox))
    watcher = asyncio.create_task(_finished_turns(conversation, tenant.events.publish, outbox))
    await outbox.put(protocol.hello(synthesizer.sample_rate))
    state.presence.connected(tenant.account.id)
    try:
        while (message := await receive(socket, state)) is not None:
            try:
                await _handle(
                    message, stream, conversation, lambda: rate_limit(state, tenant.account.id)
                )
            except protocol.ProtocolError as exc:
                await outbox.put({"type": "error", "message": str(exc)})
            except ApiError as exc:
                await outbox.put({"type": "error", "message": exc.message, "code": exc.status})
    except WebSocketDisconnect:
        pass
    finally:
        # An abandoned socket stops the reply; what was heard is stored.
        state.presence.disconnected(tenant.account.id)
        conversation.barge_in(stream.at)
        watcher.cancel()
        await outbox.put(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, 5)
        await run_in_threadpool(_close_when_done, conversation, store)


async def _handle(
    message: dict[str, Any],
    stream: protocol.ClientStream,
    conversation: VoiceConversation,
    limit: Callable[[], None],
) -> None:
    data = message.get("bytes")
    if data is not None:
        frame = stream.audio(data)
        await run_in_threadpool(conversation.hear, frame)
        return
    command = stream.command(str(message.get("text")))
    # Audio is bounded by its own size limit and real time; commands count as requests.
    limit()
    if command.name == "interrupt":
        conversation.barge_in(stream.at)
    elif command.name == "end":
        await run_in_threadpool(conversation.end_of_input, stream.at)
    elif command.name == "text":
        conversation.say(command.text, stream.at)


async def _write(socket: Socket, outbox: asyncio.Queue[Outgoing | None]) -> None:
    while (message := await outbox.get()) is not None:
        try:
            await socket.send(message)
        except Exception:  # the client is gone; keep draining so producers never block
            logger.debug("voice socket send failed", exc_info=True)


async def _finished_turns(
    conversation: VoiceConversation,
    publish: Callable[[dict[str, Any]], None],
    outbox: asyncio.Queue[Outgoing | None],
) -> None:
    while True:
        turn: SpokenTurn | None = await run_in_threadpool(conversation.wait, 0.2)
        if turn is not None:
            done = protocol.turn_done(turn)
            await outbox.put(done)
            publish({**done, "type": "turn", "channel": "voice"})


def _close_when_done(conversation: VoiceConversation, store: Any) -> None:
    """Let a cancelled reply store what was heard, then close the session's connection."""
    deadline = time.monotonic() + 10
    while conversation.speaking and time.monotonic() < deadline:
        time.sleep(0.05)
    conversation.close()
    store.close()


ROUTE = WebSocketRoute("/v1/voice", voice)
