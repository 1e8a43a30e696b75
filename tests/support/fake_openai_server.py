"""A FAKE OpenAI-compatible server (and Ollama tag list) for tests, on loopback.

It stands in for Ollama, vLLM or llama.cpp server, none of which can be installed here:
it speaks their HTTP protocol (server-sent events for streams) over a real socket, and
replies with scripted words. It records every request so tests can inspect prompts.

It can also answer as a tool-calling model: ``answers`` scripts the next replies, each
either text or a list of ``FakeToolCall``s, streamed the way OpenAI streams them (the id
and name first, the arguments' JSON in small fragments, ``finish_reason: tool_calls``).
Like OpenAI it refuses (400) a conversation whose ``tool`` messages do not answer the
assistant's ``tool_calls`` exactly, so a test that passes sent a well-formed round trip.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class FakeToolCall:
    """A scripted call; ``arguments`` is the JSON text the model writes (malformed if need be)."""

    id: str
    name: str
    arguments: str


Answer = str | list[FakeToolCall]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def tool_call_chunks(
    calls: list[FakeToolCall], fragment_chars: int, interleave: bool
) -> list[dict[str, Any]]:
    """Stream events for ``calls``: each call's header, then its arguments in fragments of
    ``fragment_chars`` (the calls' fragments alternating when ``interleave``)."""
    heads = [
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": ""},
                    }
                ]
            }
        )
        for i, c in enumerate(calls)
    ]
    pieces = [
        [
            _chunk({"tool_calls": [{"index": i, "function": {"arguments": c.arguments[j:k]}}]})
            for j in range(0, len(c.arguments), fragment_chars)
            for k in [j + fragment_chars]
        ]
        for i, c in enumerate(calls)
    ]
    events: list[dict[str, Any]] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    if interleave:
        events += heads
        for step in range(max((len(p) for p in pieces), default=0)):
            events += [p[step] for p in pieces if step < len(p)]
    else:
        for head, frags in zip(heads, pieces, strict=True):
            events += [head, *frags]
    return [*events, _chunk({}, "tool_calls")]


def whole_tool_calls(calls: list[FakeToolCall]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]


def conversation_error(messages: list[dict[str, Any]]) -> str:
    """What OpenAI would refuse in ``messages``: tool results that answer no call, or calls
    left unanswered before the next message. Empty when the conversation is well formed."""
    open_calls: set[str] = set()
    for message in messages:
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                return f"a tool message answers {call_id!r}, which no assistant call made"
            open_calls.discard(call_id)
            continue
        if open_calls:
            return f"tool calls {sorted(open_calls)} were not answered"
        for call in message.get("tool_calls") or []:
            try:
                json.loads(call["function"]["arguments"])  # JSON text, as OpenAI requires
            except (json.JSONDecodeError, TypeError, KeyError):
                return f"tool call {call.get('id')!r} has arguments that are not JSON text"
            open_calls.add(call["id"])
    return ""


class FakeOpenAIServer:
    def __init__(
        self, reply: str = "Hello from the fake server.", models: tuple[str, ...] = ("fake-llm",)
    ) -> None:
        self.reply = reply
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        # Statuses to answer the next requests with before answering normally (503, 429…).
        self.failures: list[int] = []
        self.token_delay_s = 0.0
        # The next replies, in order (text, or tool calls); then ``reply`` for the rest.
        self.answers: list[Answer] = []
        # Scripted replies only for requests that offer tools (a turn), while the others
        # (naming, reflection) get ``reply``: tests need not count the model's other uses.
        self.tool_answers: list[Answer] = []
        self.fragment_chars = 5
        self.interleave = False
        # False: answer with one JSON completion even when asked to stream, as some
        # servers do once tools are offered.
        self.streams = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    self._json(200, {"models": [{"name": m} for m in fake.models]})
                elif self.path == "/v1/models":
                    self._json(200, {"data": [{"id": m, "object": "model"} for m in fake.models]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                status = fake.failures.pop(0) if fake.failures else fake.status
                if status != 200:
                    self._json(status, {"error": {"message": "fake failure"}})
                    return
                if body.get("model") not in fake.models:
                    self._json(404, {"error": {"message": f"model {body.get('model')} not found"}})
                    return
                problem = conversation_error(body.get("messages", []))
                if problem:
                    self._json(400, {"error": {"message": problem}})
                    return
                if fake.tool_answers and body.get("tools"):
                    answer = fake.tool_answers.pop(0)
                else:
                    answer = fake.answers.pop(0) if fake.answers else fake.reply
                if not body.get("stream") or not fake.streams:
                    self._json(200, {"choices": [_whole(answer)]})
                    return
                if isinstance(answer, str):
                    words = answer.split(" ")
                    events = [
                        _chunk({"content": word if i == 0 else " " + word})
                        for i, word in enumerate(words)
                    ]
                    events.append(_chunk({}, "stop"))
                else:
                    events = tool_call_chunks(answer, fake.fragment_chars, fake.interleave)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for event in events:
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                        if fake.token_delay_s:
                            time.sleep(fake.token_delay_s)
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _whole(answer: Answer) -> dict[str, Any]:
    if isinstance(answer, str):
        return {"message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
    return {
        "message": {"role": "assistant", "content": None, "tool_calls": whole_tool_calls(answer)},
        "finish_reason": "tool_calls",
    }


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
