"""The server's routes (REST under /v1) and the app that ties every part together.

Every route that touches data starts with ``await authenticate(request)``, which returns the
caller's own tenant; store work then runs on a thread, holding that tenant's lock.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from os1.llm.gate import ModelBusy
from os1.memory import exporting, forgetting
from os1.memory.records import fact_record, summary_record
from os1.mind import onboarding
from os1.mind.onboarding import Answers, OnboardingError
from os1.options import Options
from os1.options import load as load_options
from os1.server import (
    chat_ws,
    journal,
    notices,
    openai_api,
    preferences,
    skill_routes,
    sse,
    voice_ws,
    web,
)
from os1.server.conversation import full_reply
from os1.server.http import (
    STATUS_FOR,
    ApiError,
    error_body,
    error_response,
    int_param,
    message_for,
    read_json,
    status_for,
    text_field,
)
from os1.server.limits import retry_after_header
from os1.server.openapi import openapi_schema
from os1.server.routing import in_tenant, json_response, run_in_executor, turn_json
from os1.server.state import ServerState, authenticate, server_state

logger = logging.getLogger(__name__)


# --- routes -----------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def openapi(request: Request) -> Response:
    return json_response(openapi_schema())


async def setup(request: Request) -> Response:
    tenant = await authenticate(request)
    body = await read_json(request)
    try:
        answers = Answers(
            name=onboarding.clean_user_name(text_field(body, "name", 200)),
            social=onboarding.parse_social(s)
            if (s := text_field(body, "social", 200, False))
            else "",
            mother=" ".join(text_field(body, "mother", 2000, False).split())[:500],
            voice=onboarding.parse_voice(text_field(body, "voice", 20, False) or "feminine"),
        )
    except OnboardingError as exc:
        raise ApiError(400, str(exc)) from None

    def first_meeting() -> tuple[str, str]:
        if tenant.store.persona() is not None:
            raise ApiError(409, "this OS1 is set up already")
        return tenant.set_up(answers)

    state: ServerState = request.app.state.os1
    name, greeting = await run_in_executor(state, tenant, first_meeting)
    return json_response({"name": name, "greeting": greeting}, 201)


async def me(request: Request) -> Response:
    tenant = await authenticate(request)

    def read() -> dict[str, Any]:
        profile, persona = tenant.store.profile(), tenant.store.persona()
        return {
            "account": {"id": tenant.account.id, "name": tenant.account.name},
            "set_up": persona is not None,
            "profile": asdict(profile) if profile else None,
            "persona": asdict(persona) if persona else None,
        }

    return json_response(await in_tenant(tenant, read))


async def post_message(request: Request) -> Response:
    tenant = await authenticate(request)
    text = text_field(await read_json(request), "text")
    state: ServerState = request.app.state.os1
    finished = await full_reply(state, tenant, text, "rest")
    return json_response(finished.as_dict())


async def answer_confirmation(request: Request) -> Response:
    """``POST /v1/confirmations/{id}`` ``{"answer": "yes"|"no"}``: answer a skill's
    question (a ``confirm`` event) as a turn, and return that turn's ``done``."""
    tenant = await authenticate(request)
    confirmation_id = int_param(request.path_params["confirmation_id"], "id", 0, 1, 2**62)
    answer = text_field(await read_json(request), "answer", 10).strip().lower()
    if answer not in ("yes", "no"):
        raise ApiError(400, 'answer must be "yes" or "no"')

    def find() -> bool:
        return tenant.store.agenda.get_confirmation(confirmation_id) is not None

    if not await in_tenant(tenant, find):
        raise ApiError(404, f"no confirmation {confirmation_id}")
    state: ServerState = request.app.state.os1
    finished = await full_reply(state, tenant, answer, "rest", confirmation_id)
    return json_response(finished.as_dict())


async def history(request: Request) -> Response:
    tenant = await authenticate(request)
    limit = int_param(request.query_params.get("limit"), "limit", 50, 1, 1000)
    turns = await in_tenant(tenant, lambda: tenant.store.recent_turns(limit))
    return json_response({"turns": [turn_json(t) for t in turns]})


async def search_memories(request: Request) -> Response:
    tenant = await authenticate(request)
    query = request.query_params.get("q", "")
    if not query.strip():
        raise ApiError(400, "q is needed: what to search for")
    if len(query) > 2000:
        raise ApiError(400, "q is longer than 2000 characters")
    k = int_param(request.query_params.get("k"), "k", 5, 1, 100)

    def search() -> list[dict[str, Any]]:
        tenant.memorizer().index()
        hits = tenant.search(query, k)
        return [{**turn_json(t), "score": round(s, 3)} for t, s in hits]

    return json_response({"results": await in_tenant(tenant, search)})


async def list_memories(request: Request) -> Response:
    tenant = await authenticate(request)
    kind = request.query_params.get("kind", "facts")
    limit = int_param(request.query_params.get("limit"), "limit", 50, 1, 1000)
    if kind not in ("facts", "summaries"):
        raise ApiError(400, "kind must be facts or summaries (turns: GET /v1/history)")

    def read() -> list[dict[str, Any]]:
        tenant.memorizer().index()
        if kind == "summaries":
            return [summary_record(s) for s in tenant.store.summaries.list()[-limit:]]
        return [fact_record(f) for f in tenant.store.facts.list(limit=limit)]

    return json_response({"memories": await in_tenant(tenant, read)})


async def forget_memory(request: Request) -> Response:
    tenant = await authenticate(request)
    memory_id = str(request.path_params["memory_id"])

    def forget() -> dict[str, int]:
        what = forgetting.plan(tenant.store, [memory_id])
        gone = forgetting.forget(tenant.store, what)
        tenant.reset_recall()  # the retriever's index must not keep what was forgotten
        return gone

    return json_response({"forgotten": await in_tenant(tenant, forget)})


async def presence(request: Request) -> Response:
    """How many people the OS is talking with right now, across every server process."""
    await authenticate(request)
    return json_response({"conversations": server_state(request).presence.count()})


async def export(request: Request) -> Response:
    tenant = await authenticate(request)

    def lines() -> str:
        return "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in exporting.records(tenant.store)
        )

    body = await in_tenant(tenant, lines)
    return Response(
        body,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="os1-export.jsonl"'},
    )


ROUTES: list[BaseRoute] = [
    Route("/healthz", healthz),
    Route("/openapi.json", openapi),
    Route("/v1/setup", setup, methods=["POST"]),
    Route("/v1/me", me),
    Route("/v1/messages", post_message, methods=["POST"]),
    Route("/v1/messages/stream", sse.message_stream, methods=["GET", "POST"]),
    Route("/v1/confirmations/{confirmation_id}", answer_confirmation, methods=["POST"]),
    Route("/v1/history", history),
    Route("/v1/memories", list_memories),
    Route("/v1/memories/search", search_memories),
    Route("/v1/memories/{memory_id}", forget_memory, methods=["DELETE"]),
    Route("/v1/export", export),
    Route("/v1/presence", presence),
    Route("/v1/events", sse.events),
    *journal.ROUTES,
    *preferences.ROUTES,
    *openai_api.ROUTES,
    *web.ROUTES,
    chat_ws.ROUTE,
    voice_ws.ROUTE,
]


# --- errors -----------------------------------------------------------------------


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        error_body(exc.status_code, str(exc.detail)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def on_expected_error(request: Request, exc: Exception) -> Response:
    status = status_for(exc) or 500
    headers = {}
    if isinstance(exc, ModelBusy):
        headers["Retry-After"] = retry_after_header(exc.retry_after_s)
    return JSONResponse(error_body(status, message_for(exc)), status_code=status, headers=headers)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    logger.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body(500, "internal server error"), status_code=500)


def create_app(state: ServerState) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watching = asyncio.create_task(
            notices.watch(state.tenants, state.options.server.notice_check_s)
        )
        try:
            yield
        finally:
            watching.cancel()
            state.close()

    handlers: dict[Any, Any] = {
        ApiError: on_api_error,
        HTTPException: on_http_error,
        Exception: on_unexpected_error,
    }
    handlers.update({kind: on_expected_error for kind, _ in STATUS_FOR})
    # The skills' routes come after the built-in ones, which they cannot replace; read
    # when the app is made, from the skills installed then.
    routes = [*ROUTES, *skill_routes.routes()]
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.os1 = state
    return app


class RedactTokens(logging.Filter):
    """Hides ``token=…`` in log lines: uvicorn logs each WebSocket's path with its query
    string, and browsers pass the token there."""

    PATTERN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1[redacted]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def redact_tokens_in_logs() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactTokens())


def app_from_environment() -> Starlette:
    """The app of one worker process, from ``OS1_HOME`` and its settings: ``os1 serve
    --workers N`` has uvicorn start N processes that each call this."""
    redact_tokens_in_logs()
    prepare_process_for_serving()
    return create_app(ServerState.create(load_options()))


def prepare_process_for_serving() -> None:
    """Settings of a long-running server process with thousands of users, measured with
    ``bench.load`` at 8,316 sessions on 2 cores:

    - Python's full garbage collections scan every object of every open user: 0.5–0.9 s
      each with the default thresholds, every few seconds, stalling every reply of the
      process (p99 added latency 1.1 s). The objects alive now (modules, settings) are
      frozen out of collection, and the thresholds raised, so under that load a full
      collection comes about every half hour; young objects are still collected often
      (p99 130 ms).
    - Each open user holds up to 3 files besides their socket: the open-files limit is
      raised to the hard limit the system allows.
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    gc.callbacks.append(_log_slow_collections)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):  # the system caps it lower: tenants fit what it allows
            logger.info("could not raise the open-files limit above %d", soft)


_collection_began = 0.0
SLOW_COLLECTION_S = 0.05


def _log_slow_collections(phase: str, info: dict[str, int]) -> None:
    """Log a garbage collection that stalled the process: every reply in flight waited
    for it, so it is where a latency spike under load is looked for first."""
    global _collection_began
    if phase == "start":
        _collection_began = time.perf_counter()
        return
    took = time.perf_counter() - _collection_began
    if took >= SLOW_COLLECTION_S:
        logger.warning(
            "garbage collection of generation %d took %.0f ms (%d collected)",
            info.get("generation", -1),
            took * 1000,
            info.get("collected", 0),
        )


def serve(options: Options, host: str, port: int, workers: int = 1) -> None:
    """Run the server until interrupted (``os1 serve``): one process, or ``workers``
    processes sharing the address (each with its own state, caches only)."""
    import uvicorn

    redact_tokens_in_logs()
    if workers > 1:
        # The workers are new processes: they read the settings themselves, so the ones
        # given on the command line travel in the environment.
        os.environ["OS1_HOME"] = str(options.home)
        os.environ["OS1_SERVER_WORKERS"] = str(workers)
        app: Any = "os1.server.app:app_from_environment"
    else:
        prepare_process_for_serving()  # before the tenants' limit is read from it
        app = create_app(ServerState.create(options))
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        # Query strings may carry a token (WebSockets, EventSource): keep them out of logs.
        access_log=False,
        ws_max_size=protocol_max_message(),
        # Replies stream as many tiny messages: compressing each costs CPU and saves little.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_keep_alive=15,
        log_level="info",
    )


def protocol_max_message() -> int:
    """The largest WebSocket message uvicorn takes: one voice audio block, with room."""
    from os1.voice.protocol import MAX_AUDIO_BYTES

    return MAX_AUDIO_BYTES + 64 * 1024
