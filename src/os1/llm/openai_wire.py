"""The OpenAI chat-completions wire format: request bodies and reply parsing.

Kept apart from ``openai_compat`` (which owns the connection, retries and errors) so the
format can be read and tested on its own. Servers differ in small ways, all handled here:

- Tool calls stream as ``delta.tool_calls`` fragments keyed by ``index``: the id and name
  come first, the arguments' JSON in pieces after. A call is yielded once the choice's
  ``finish_reason`` (or the end of the stream) says it is complete, so fragments of
  parallel calls may arrive in any order.
- Some servers (older Ollama, some llama.cpp builds) send each call whole, without an
  ``index``; some send ``arguments`` as an object rather than as JSON text; some answer a
  streamed request with one plain JSON completion. All give the same ``ToolCall``s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from os1.domain import ChatMessage, Prompt, ToolCall, ToolSpec
from os1.llm.base import BackendError


def chat_body(model: str, prompt: Prompt, *, tools: bool) -> dict[str, Any]:
    """The request for ``prompt``; its tools are offered only when ``tools`` is set (plain
    ``stream`` has nowhere to put a call, so it never offers them)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [message_json(m) for m in prompt.chat],
        "max_tokens": prompt.max_tokens,
        "temperature": prompt.temperature,
        "stream": True,
    }
    if prompt.stop:
        # The OpenAI API takes at most four stop sequences; the scanner enforces all.
        body["stop"] = list(prompt.stop[:4])
    if tools and prompt.tools:
        body["tools"] = [tool_json(spec) for spec in prompt.tools]
        body["tool_choice"] = "auto"
    return body


def tool_json(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        },
    }


def message_json(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                # Malformed arguments go back as {}: servers that parse them (Ollama)
                # would refuse the whole request over the model's own bad JSON.
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    return out


def parse_call(call_id: str, name: str, raw: object) -> ToolCall:
    """A ``ToolCall`` from arguments as JSON text (or an object, from lenient servers)."""
    if isinstance(raw, dict):
        return ToolCall(call_id, name, raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ToolCall(call_id, name, {})  # a tool that takes no arguments
    text = raw if isinstance(raw, str) else json.dumps(raw)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCall(call_id, name, parsed)
    return ToolCall(call_id, name, {}, malformed_arguments=text)


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    fragments: list[str] = field(default_factory=list)
    whole: object = None  # arguments sent as an object rather than as text


class ToolCallAssembler:
    """Collects streamed tool-call fragments until the reply says they are complete."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}
        self._made = 0

    def add(self, deltas: object) -> None:
        if not isinstance(deltas, list):
            return
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            partial = self._calls.setdefault(self._index(delta), _Partial())
            partial.id = str(delta.get("id") or partial.id)
            function = delta.get("function") or {}
            partial.name += str(function.get("name") or "")
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                partial.fragments.append(arguments)
            elif arguments is not None:
                partial.whole = arguments

    def _index(self, delta: dict[str, Any]) -> int:
        index = delta.get("index")
        if isinstance(index, int):
            return index
        # No index: a new id starts a new call; no id continues the last one.
        call_id = delta.get("id")
        for known, partial in self._calls.items():
            if call_id and partial.id == call_id:
                return known
        if call_id or not self._calls:
            return max(self._calls, default=-1) + 1
        return max(self._calls)

    def finish(self) -> list[ToolCall]:
        """The calls collected so far, in index order; the assembler starts afresh."""
        done = []
        for index in sorted(self._calls):
            partial = self._calls[index]
            self._made += 1
            raw = partial.whole if partial.whole is not None else "".join(partial.fragments)
            done.append(parse_call(partial.id or f"call_{self._made}", partial.name, raw))
        self._calls.clear()
        return done


def reply_items(response: httpx.Response) -> Iterator[str | ToolCall]:
    """Text pieces and complete tool calls from a response, streamed or not."""
    if response.headers.get("content-type", "").startswith("application/json"):
        yield from _whole_reply(response)
        return
    calls = ToolCallAssembler()
    for event in _sse_events(response):
        for choice in event.get("choices", []):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                yield str(content)
            calls.add(delta.get("tool_calls"))
            if choice.get("finish_reason"):
                yield from calls.finish()
    yield from calls.finish()


def _sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = _json(data)
        if "error" in event:
            raise BackendError(f"The model server stopped with an error: {_error(event)}")
        yield event


def _whole_reply(response: httpx.Response) -> Iterator[str | ToolCall]:
    """A server that answered with one JSON completion instead of a stream."""
    response.read()
    reply = _json(response.text)
    if "error" in reply:
        raise BackendError(f"The model server answered with an error: {_error(reply)}")
    choices = reply.get("choices") or [{}]
    message = choices[0].get("message") or {}
    if message.get("content"):
        yield str(message["content"])
    listed = message.get("tool_calls")
    calls = ToolCallAssembler()
    if isinstance(listed, list):
        # Each entry is a whole call: its place in the list is its index.
        calls.add([{**c, "index": i} for i, c in enumerate(listed) if isinstance(c, dict)])
    yield from calls.finish()


def _json(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except json.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        raise BackendError(f"The model server sent something that is not JSON: {data[:80]}")
    return event


def _error(event: dict[str, Any]) -> str:
    error = event["error"]
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:300]
