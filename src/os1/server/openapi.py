"""The OpenAPI 3.1 schema served at ``/openapi.json``, written from one table of endpoints
(WebSockets are listed in the description: OpenAPI has no way to describe them)."""

from __future__ import annotations

import re
from typing import Any

from os1 import __version__

# (method, path, summary, query parameters, JSON body fields)
ENDPOINTS: list[tuple[str, str, str, list[str], list[str]]] = [
    ("get", "/", "The web app (no token needed to load it)", [], []),
    ("get", "/healthz", "Liveness check (no token needed)", [], []),
    (
        "post",
        "/v1/setup",
        "First run: your name and the OS's voice; the OS names itself",
        [],
        ["name", "voice", "social", "mother"],
    ),
    ("get", "/v1/me", "Your account, profile and the OS's persona", [], []),
    ("post", "/v1/messages", "Say something; the whole reply as JSON", [], ["text"]),
    (
        "post",
        "/v1/confirmations/{confirmation_id}",
        "Answer a skill's question (a confirm event) yes or no; the turn's done",
        [],
        ["answer"],
    ),
    (
        "get",
        "/v1/messages/stream",
        "Say something; the turn as SSE (notice, token, action, confirm, done, error)",
        ["text"],
        [],
    ),
    (
        "post",
        "/v1/messages/stream",
        "Say something; the turn as SSE (notice, token, action, confirm, done, error)",
        [],
        ["text"],
    ),
    ("get", "/v1/history", "Your most recent turns", ["limit"], []),
    ("get", "/v1/memories", "Facts (or summaries) OS1 has learned", ["kind", "limit"], []),
    ("get", "/v1/memories/search", "Search everything said, as the OS recalls it", ["q", "k"], []),
    (
        "delete",
        "/v1/memories/{memory_id}",
        "Forget a memory (t12, f3, s2) and everything derived from its turns",
        [],
        [],
    ),
    (
        "patch",
        "/v1/memories/{memory_id}",
        "Correct a fact's value (f3), a summary (s2) or a turn's text (t12)",
        [],
        ["text"],
    ),
    ("get", "/v1/sessions", "Your conversations, newest first (the timeline)", ["limit"], []),
    ("get", "/v1/sessions/{session_id}", "One conversation and everything said in it", [], []),
    ("get", "/v1/persona/history", "Every version of the persona, and why it changed", [], []),
    ("post", "/v1/sleep", "End the open session now; the OS reflects on it", [], []),
    ("get", "/v1/setup", "The first meeting's questions, in order", [], []),
    ("get", "/v1/settings", "Your settings: model (shown), voice, account", [], []),
    ("patch", "/v1/settings", "Change the OS's voice", [], ["voice"]),
    ("post", "/v1/token", "A new token for your account; the old one stops working", [], []),
    (
        "post",
        "/v1/erase",
        "Erase everything of yours (confirm: your account name)",
        [],
        ["confirm"],
    ),
    ("get", "/v1/export", "Everything OS1 remembers about you, as JSONL", [], []),
    ("get", "/v1/events", "Notices as SSE: hello, heartbeat, turn, notice", [], []),
    ("get", "/v1/presence", "How many people the OS is talking with now, all workers", [], []),
    (
        "post",
        "/v1/chat/completions",
        "OpenAI-compatible chat completion, streamed or not",
        [],
        ["model", "messages", "stream"],
    ),
    ("get", "/v1/models", "OpenAI-compatible model list", [], []),
]

DESCRIPTION = (
    "OS1's multi-user server. Every endpoint but /healthz and /openapi.json needs "
    "`Authorization: Bearer <token>` (from `os1 users add NAME`). Errors are JSON: "
    '`{"error": {"message", "type", "code"}}`. WebSockets: `/v1/chat` (JSON messages '
    '`{"type": "message", "text"}` and `{"type": "stop"}`; events `hello`, `notice`, '
    "`token`, `action`, `confirm`, `done`, `error`) and `/v1/voice` "
    "(docs/voice-protocol.md). See docs/server.md."
)


def skill_endpoints() -> list[tuple[str, str, str, list[str], list[str]]]:
    """The installed skills' routes, in the table's form."""
    from os1.mind import plugins
    from os1.server.skill_routes import full_path

    return [
        (r.method.lower(), full_path(r), r.summary or f"From the {r.skill} skill", [], [])
        for r in plugins.skills().routes
    ]


def openapi_schema() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, query, body in [*ENDPOINTS, *skill_endpoints()]:
        operation: dict[str, Any] = {
            "summary": summary,
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"description": "A client mistake; the message says what to fix"},
            },
        }
        parameters = [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in query
        ]
        for name in re.findall(r"\{(\w+)\}", path):
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if parameters:
            operation["parameters"] = parameters
        if body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {n: {} for n in body}}
                    }
                },
            }
        if path in ("/healthz", "/"):
            operation["security"] = []
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "OS1", "version": __version__, "description": DESCRIPTION},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
