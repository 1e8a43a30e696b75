"""The journal's routes: correcting a memory, the timeline of sessions, the persona's
history, and ending a session so the OS reflects on it (``os1 sleep``).

Like every route, each gets its store only from the token's tenant.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from os1.domain import Role, Session
from os1.memory import editing
from os1.memory.stores import Store
from os1.server.http import ApiError, int_param, read_json, text_field
from os1.server.routing import in_tenant, json_response, run_in_executor, turn_json
from os1.server.state import authenticate, server_state

PREVIEW_CHARS = 160


async def edit_memory(request: Request) -> Response:
    """``PATCH /v1/memories/{id}`` ``{"text"}``: correct a fact, a summary or a turn."""
    tenant = await authenticate(request)
    memory_id = str(request.path_params["memory_id"])
    text = text_field(await read_json(request), "text", 10_000)

    def correct() -> dict[str, Any]:
        record = editing.edit(tenant.store, memory_id, text)
        tenant.reset_recall()  # the retriever's index must not keep the old words
        return record

    return json_response({"memory": await in_tenant(tenant, correct)})


def session_json(store: Store, session: Session) -> dict[str, Any]:
    turns = store.turns(session.id)
    first_words = next((t.text for t in turns if t.role is Role.USER), "")
    summaries = store.summaries.list(kind="session", session_id=session.id)
    return {
        "id": session.id,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "last_at": turns[-1].created_at.isoformat() if turns else None,
        "reflected": session.reflected_at is not None,
        "turns": len(turns),
        "first_words": first_words[:PREVIEW_CHARS],
        "summary": summaries[-1].text if summaries else None,
    }


async def sessions(request: Request) -> Response:
    """``GET /v1/sessions?limit=50``: the most recent sessions, newest first."""
    tenant = await authenticate(request)
    limit = int_param(request.query_params.get("limit"), "limit", 50, 1, 1000)

    def read() -> list[dict[str, Any]]:
        recent = tenant.store.sessions()[-limit:]
        return [session_json(tenant.store, s) for s in reversed(recent)]

    return json_response({"sessions": await in_tenant(tenant, read)})


async def session_turns(request: Request) -> Response:
    """``GET /v1/sessions/{id}``: one session and everything said in it."""
    tenant = await authenticate(request)
    session_id = int_param(request.path_params["session_id"], "session id", 0, 1, 2**62)

    def read() -> dict[str, Any]:
        found = [s for s in tenant.store.sessions() if s.id == session_id]
        if not found:
            raise ApiError(404, f"no session {session_id}")
        turns = [turn_json(t) for t in tenant.store.turns(session_id)]
        return {**session_json(tenant.store, found[0]), "turns": turns}

    return json_response({"session": await in_tenant(tenant, read)})


async def persona_history(request: Request) -> Response:
    """``GET /v1/persona/history``: every version of the persona, oldest first, with why
    it changed (``os1 persona history``)."""
    tenant = await authenticate(request)

    def read() -> list[dict[str, Any]]:
        return [
            {"version": number, "at": at.isoformat(), "reason": reason, "persona": asdict(p)}
            for number, at, reason, p in tenant.store.persona_history()
        ]

    return json_response({"versions": await in_tenant(tenant, read)})


async def sleep(request: Request) -> Response:
    """``POST /v1/sleep``: end the open session now and let the OS reflect on it."""
    tenant = await authenticate(request)
    state = server_state(request)

    def end_and_reflect() -> dict[str, Any]:
        turns = tenant.turns()  # NotSetUp (409) before the first meeting
        store = tenant.store
        for session in store.open_sessions():
            store.end_session(session.id, store.last_turn_at(session.id))
        reflected = turns.end_session()
        return {"reflected": reflected, "persona": asdict(turns.companion.persona)}

    return json_response(await run_in_executor(state, tenant, end_and_reflect))


ROUTES: list[BaseRoute] = [
    Route("/v1/memories/{memory_id}", edit_memory, methods=["PATCH"]),
    Route("/v1/sessions", sessions),
    Route("/v1/sessions/{session_id}", session_turns),
    Route("/v1/persona/history", persona_history),
    Route("/v1/sleep", sleep, methods=["POST"]),
]
