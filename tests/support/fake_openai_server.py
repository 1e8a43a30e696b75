"""A FAKE OpenAI-compatible server (and Ollama tag list) for tests, on loopback.

It stands in for Ollama, vLLM or llama.cpp server, none of which can be installed here:
it speaks their HTTP protocol (server-sent events for streams) over a real socket, and
replies with scripted words. It records every request so tests can inspect prompts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
                words = fake.reply.split(" ")
                if not body.get("stream"):
                    self._json(
                        200,
                        {"choices": [{"message": {"role": "assistant", "content": fake.reply}}]},
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for i, word in enumerate(words):
                        piece = word if i == 0 else " " + word
                        event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
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


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
