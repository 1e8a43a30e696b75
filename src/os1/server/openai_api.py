"""The OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Existing clients (Open WebUI, any OpenAI SDK) talk to the user's own OS1, with its memory
and persona. OS1 keeps the conversation itself, so only the last user message is new: the
earlier messages a client resends are already in OS1's history, and a client's system
prompt is not used (the persona is OS1's own). A reminder due at the start of a turn has
no place in OpenAI's format: it goes to the user's ``/v1/events`` streams instead.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from os1.llm.base import CancelToken, estimate_tokens
from os1.mind.events import Done, NoticeDue, Token, as_dict
from os1.server.conversation import full_reply, stream_reply
from os1.server.http import ApiError, error_body, message_for, read_json, status_for
from os1.server.state import authenticate, server_state

MODEL_ID = "os1"


def _json(data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")


async def models(request: Request) -> Response:
    await authenticate(request)
    return _json(
        {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "os1"}],
        }
    )


def last_user_message(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list")
    for message in reversed(messages):
        if not isinstance(message, dict):
            raise ApiError(400, "each message must be an object with a role and content")
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    raise ApiError(400, "messages has no user message to answer")


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    else:
        raise ApiError(400, "a message's content must be a string or a list of parts")
    if not text.strip():
        raise ApiError(400, "the last user message is empty")
    if len(text) > 100_000:
        raise ApiError(413, "the last user message is longer than 100000 characters")
    return text


def _finish_reason(done: Done) -> str:
    return "stop" if done.status == "complete" else "length"


async def chat_completions(request: Request) -> Response:
    tenant = await authenticate(request)
    body = await read_json(request)
    text = last_user_message(body)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false")
    model = str(body.get("model") or MODEL_ID)
    state = server_state(request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not stream:
        whole = await full_reply(state, tenant, text, "openai")
        for notice in whole.notices:
            tenant.events.publish(as_dict(notice))
        finished = whole.done
        prompt_tokens, reply_tokens = estimate_tokens(text), estimate_tokens(finished.reply)
        return _json(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": finished.reply},
                        "finish_reason": _finish_reason(finished),
                    }
                ],
                # Estimates: OS1's prompt is its own (persona, memories), not the client's.
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": reply_tokens,
                    "total_tokens": prompt_tokens + reply_tokens,
                },
            }
        )

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def chunks() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for item in stream_reply(state, tenant, text, CancelToken(), "openai"):
                if isinstance(item, Done):
                    yield chunk({}, _finish_reason(item))
                elif isinstance(item, Token):  # OpenAI's stream has no place for the rest
                    yield chunk({"content": item.text})
                elif isinstance(item, NoticeDue):
                    tenant.events.publish(as_dict(item))
        except Exception as exc:
            status = status_for(exc) or 500
            message = message_for(exc) if status != 500 else "internal server error"
            yield f"data: {json.dumps(error_body(status, message))}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


ROUTES: list[BaseRoute] = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/models", models),
]
