"""Tool calls: streamed from an OpenAI-compatible server (the FAKE one, on loopback), fed
back, through the gate, and scripted."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from os1.domain import ChatMessage, Prompt, ToolCall, ToolSpec
from os1.llm.base import BackendError, CancelToken, LLMBackend, ToolBackend
from os1.llm.embedded import EmbeddedBackend
from os1.llm.gate import GatedBackend, GatedToolBackend, ModelBusy, ModelGate, holding
from os1.llm.openai_compat import OpenAICompatBackend
from os1.llm.openai_wire import parse_call
from os1.llm.scripted import ScriptedBackend, ScriptedToolBackend
from tests.support.fake_openai_server import (
    FakeOpenAIServer,
    FakeToolCall,
    running,
    tool_call_chunks,
)

WEATHER = ToolSpec(
    "get_weather",
    "The weather now in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
)
TIME = ToolSpec("get_time", "The time now.")
ASK = (ChatMessage("system", "Be kind."), ChatMessage("user", "Weather in Paris?"))
PROMPT = Prompt(completion="unused", chat=ASK, stop=("\nUser:",), max_tokens=64, tools=(WEATHER,))
PARIS = '{"city": "Paris", "unit": "celsius"}'


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with running() as fake:
        yield fake


@pytest.fixture
def backend(server: FakeOpenAIServer) -> Iterator[OpenAICompatBackend]:
    http = OpenAICompatBackend(f"{server.url}/v1", "fake-llm", sleep=lambda s: None)
    yield http
    http.close()


def answered(prompt: Prompt, calls: list[ToolCall], results: list[str]) -> Prompt:
    """``prompt`` continued with the assistant's calls and a result for each."""
    fed = [ChatMessage("tool", r, tool_call_id=c.id) for c, r in zip(calls, results, strict=True)]
    chat = (*prompt.chat, ChatMessage("assistant", "", tool_calls=tuple(calls)), *fed)
    return Prompt(prompt.completion, chat, prompt.stop, prompt.max_tokens, tools=prompt.tools)


def test_a_full_round_trip_calls_a_tool_and_streams_the_answer(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    weather = [FakeToolCall("call_a", "get_weather", PARIS)]
    server.answers = [weather, "It is sunny in Paris."]
    # The fake really does split the call: a header, then the arguments in pieces.
    assert len(tool_call_chunks(weather, server.fragment_chars, False)) > 5

    calls = list(backend.stream_tools(PROMPT))
    assert calls == [ToolCall("call_a", "get_weather", {"city": "Paris", "unit": "celsius"})]
    first = server.requests[0]["body"]
    assert first["stream"] is True
    assert first["tool_choice"] == "auto"
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather now in a city.",
                "parameters": WEATHER.parameters,
            },
        }
    ]

    typed = [c for c in calls if isinstance(c, ToolCall)]
    follow_up = answered(PROMPT, typed, ['{"sky": "sunny"}'])
    pieces = list(backend.stream_tools(follow_up))
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    assert "".join(str(p) for p in pieces) == "It is sunny in Paris."

    second = server.requests[1]["body"]["messages"]
    assert second[:2] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    call = second[2]["tool_calls"][0]
    assert second[2]["role"] == "assistant"
    assert (call["id"], call["type"], call["function"]["name"]) == (
        "call_a",
        "function",
        "get_weather",
    )
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert second[3] == {"role": "tool", "content": '{"sky": "sunny"}', "tool_call_id": "call_a"}


@pytest.mark.parametrize("interleave", [False, True])
def test_two_parallel_calls_in_one_response(
    server: FakeOpenAIServer, backend: OpenAICompatBackend, interleave: bool
) -> None:
    server.interleave = interleave
    server.answers = [
        [
            FakeToolCall("call_1", "get_weather", PARIS),
            FakeToolCall("call_2", "get_weather", '{"city": "Oslo"}'),
        ],
        "Sunny in Paris, snow in Oslo.",
    ]
    prompt = Prompt("unused", ASK, max_tokens=64, tools=(WEATHER, TIME))
    calls = list(backend.stream_tools(prompt))
    assert calls == [
        ToolCall("call_1", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCall("call_2", "get_weather", {"city": "Oslo"}),
    ]
    assert [t["function"]["name"] for t in server.requests[0]["body"]["tools"]] == [
        "get_weather",
        "get_time",
    ]
    typed = [c for c in calls if isinstance(c, ToolCall)]
    reply = "".join(map(str, backend.stream_tools(answered(prompt, typed, ["sun", "snow"]))))
    assert reply == "Sunny in Paris, snow in Oslo."
    fed = server.requests[1]["body"]["messages"][-2:]
    assert [(m["role"], m["tool_call_id"], m["content"]) for m in fed] == [
        ("tool", "call_1", "sun"),
        ("tool", "call_2", "snow"),
    ]


def test_malformed_arguments_keep_the_models_text_and_go_back_as_empty(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    server.answers = [
        [
            FakeToolCall("bad", "get_weather", '{"city": "Par'),
            FakeToolCall("list", "get_weather", '["Paris"]'),
            FakeToolCall("none", "get_time", ""),
        ],
        "Sorry, which city?",
    ]
    calls = list(backend.stream_tools(PROMPT))
    assert calls == [
        ToolCall("bad", "get_weather", {}, malformed_arguments='{"city": "Par'),
        ToolCall("list", "get_weather", {}, malformed_arguments='["Paris"]'),
        ToolCall("none", "get_time", {}),
    ]
    typed = [c for c in calls if isinstance(c, ToolCall)]
    results = ["error: arguments are not a JSON object"] * 2 + ["12:00"]
    # The fake refuses arguments that are not JSON text, as OpenAI does: they went back as {}.
    assert "".join(map(str, backend.stream_tools(answered(PROMPT, typed, results)))) == (
        "Sorry, which city?"
    )
    sent = server.requests[1]["body"]["messages"][2]["tool_calls"]
    assert [c["function"]["arguments"] for c in sent] == ["{}", "{}", "{}"]


def test_no_tools_means_no_tools_key_and_text_only(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    server.reply = "Hello there, my friend.\nUser: ignored"
    plain = Prompt("unused", ASK, stop=("\nUser:",), max_tokens=64)
    pieces = list(backend.stream_tools(plain))
    assert len(pieces) > 1 and "".join(map(str, pieces)) == "Hello there, my friend."
    assert "tools" not in server.requests[0]["body"]
    assert "tool_choice" not in server.requests[0]["body"]
    # Plain ``stream`` never offers tools: it would have nowhere to put a call.
    assert "".join(backend.stream(PROMPT)) == "Hello there, my friend."
    assert "tools" not in server.requests[1]["body"]


def test_a_server_that_does_not_stream_gives_the_same_calls(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    server.streams = False
    server.answers = [
        [FakeToolCall("call_a", "get_weather", PARIS), FakeToolCall("call_b", "get_time", "{}")],
        "It is noon and sunny.",
    ]
    calls = list(backend.stream_tools(PROMPT))
    assert calls == [
        ToolCall("call_a", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCall("call_b", "get_time", {}),
    ]
    typed = [c for c in calls if isinstance(c, ToolCall)]
    reply = "".join(map(str, backend.stream_tools(answered(PROMPT, typed, ["sun", "noon"]))))
    assert reply == "It is noon and sunny."
    assert "".join(backend.stream(PROMPT)) == "Hello from the fake server."


def test_lenient_server_forms_parse_too() -> None:
    # Arguments as an object (Ollama's own form) and no arguments at all.
    assert parse_call("c", "get_weather", {"city": "Oslo"}) == ToolCall(
        "c", "get_weather", {"city": "Oslo"}
    )
    assert parse_call("c", "get_time", None) == ToolCall("c", "get_time", {})
    assert parse_call("c", "get_time", "null") == ToolCall(
        "c", "get_time", {}, malformed_arguments="null"
    )


def test_tool_calls_retry_a_busy_server_and_honour_stops(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    server.failures = [503]
    server.answers = [[FakeToolCall("call_a", "get_weather", PARIS)]]
    assert list(backend.stream_tools(PROMPT)) == [
        ToolCall("call_a", "get_weather", {"city": "Paris", "unit": "celsius"})
    ]
    assert len(server.requests) == 2
    server.answers = ["Sunny.\nUser: and tomorrow?"]
    assert list(backend.stream_tools(PROMPT)) == ["Sunny."]
    assert server.requests[-1]["body"]["stop"] == ["\nUser:"]


def test_a_tool_result_that_answers_no_call_is_refused_clearly(
    backend: OpenAICompatBackend,
) -> None:
    orphan = Prompt("unused", (*ASK, ChatMessage("tool", "sun", tool_call_id="nobody")))
    with pytest.raises(BackendError, match="400"):
        list(backend.stream_tools(orphan))


def test_a_cancelled_reply_runs_no_calls(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    server.answers = [[FakeToolCall("call_a", "get_weather", PARIS)]]
    cancel = CancelToken()
    cancel.cancel()
    assert list(backend.stream_tools(PROMPT, cancel)) == []


# --- the gate ---------------------------------------------------------------------------


def test_the_gate_is_a_tool_backend_only_over_one(
    backend: OpenAICompatBackend, embedded: EmbeddedBackend
) -> None:
    gate = ModelGate(slots=1, max_waiting=0)
    assert isinstance(backend, ToolBackend)
    assert isinstance(GatedBackend(backend, gate), ToolBackend)
    assert isinstance(GatedBackend(backend, gate), GatedToolBackend)
    # A 270M base model cannot call tools, and the gate around it says so.
    assert isinstance(embedded, LLMBackend) and not isinstance(embedded, ToolBackend)
    gated = GatedBackend(embedded, gate)
    assert isinstance(gated, LLMBackend) and not isinstance(gated, ToolBackend)


def test_the_gate_forwards_tool_calls_and_takes_a_slot(
    server: FakeOpenAIServer, backend: OpenAICompatBackend
) -> None:
    gate = ModelGate(slots=1, max_waiting=0)
    gated = GatedBackend(backend, gate)
    assert isinstance(gated, ToolBackend)
    server.answers = [[FakeToolCall("call_a", "get_weather", PARIS)]] * 3
    with gate.hold(), pytest.raises(ModelBusy):
        list(gated.stream_tools(PROMPT))
    held = []
    for item in gated.stream_tools(PROMPT):
        held.append(gate.busy_slots)
        assert item == ToolCall("call_a", "get_weather", {"city": "Paris", "unit": "celsius"})
    assert held == [1] and gate.busy_slots == 0
    # A turn that holds its slot already does not queue a second time.
    with gate.hold(), holding():
        assert len(list(gated.stream_tools(PROMPT))) == 1


# --- the scripted backend ---------------------------------------------------------------


def test_the_scripted_backend_scripts_tool_calls() -> None:
    look = ToolCall("s1", "get_weather", {"city": "Paris"})
    scripted = ScriptedToolBackend([["Let me look.", look], [look, look], "Sunny."])
    assert isinstance(scripted, ToolBackend)
    # The plain one stands in for the embedded base model: no tools.
    assert not isinstance(ScriptedBackend(["Hi."]), ToolBackend)
    first = list(scripted.stream_tools(PROMPT))
    # The text comes first, in pieces, all of it before the call.
    assert len(first) > 2 and first[-1] == look
    assert "".join(map(str, first[:-1])) == "Let me look."
    assert list(scripted.stream_tools(PROMPT)) == [look, look]
    assert "".join(map(str, scripted.stream_tools(PROMPT))) == "Sunny."
    # Plain ``stream`` leaves calls out; a stop ends the reply before any call after it.
    assert "".join(scripted.stream(PROMPT)) == "Let me look."
    stopped = ScriptedToolBackend([["Hi.\nUser: x", look]])
    assert "".join(map(str, stopped.stream_tools(PROMPT))) == "Hi."
    assert len(scripted.prompts) == 4 and scripted.prompts[0].tools == (WEATHER,)


def test_the_gate_forwards_scripted_calls() -> None:
    look = ToolCall("s1", "get_time")
    gated = GatedBackend(ScriptedToolBackend([look]), ModelGate(slots=1, max_waiting=0))
    assert isinstance(gated, ToolBackend)
    assert list(gated.stream_tools(PROMPT)) == [look]
