"""Errors as JSON, request bodies read within limits, and bearer tokens.

Every client mistake becomes an ``ApiError`` with a 4xx status and a message that says
what to fix, in the OpenAI error shape (``{"error": {"message", "type", "code"}}``) so
OpenAI clients show it too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse

from os1.llm.base import BackendError
from os1.memory.forgetting import UnknownMemory
from os1.memory.storage.errors import StoreBusy, StoreError
from os1.mind.companion import EmptyMessage, NotSetUp
from os1.mind.onboarding import OnboardingError

MAX_BODY_BYTES = 1_000_000
# A client that has not sent its whole body by then is too slow, or gone.
BODY_TIMEOUT_S = 30.0

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# Expected failures and the status each becomes; anything else is a 500, logged.
STATUS_FOR: list[tuple[type[Exception], int]] = [
    (NotSetUp, 409),
    (EmptyMessage, 400),
    (OnboardingError, 400),
    (UnknownMemory, 404),
    (StoreBusy, 503),
    (StoreError, 400),
    (BackendError, 503),
]


def status_for(exc: BaseException) -> int | None:
    return next((status for kind, status in STATUS_FOR if isinstance(exc, kind)), None)


def message_for(exc: BaseException) -> str:
    if isinstance(exc, NotSetUp):
        return "this OS1 is not set up yet: POST /v1/setup with your name first"
    return str(exc)


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "code": status}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.status, error.message), status_code=error.status, headers=error.headers
    )


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it is larger than ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "Content-Length must be a whole number")
        if int(declared) > limit:
            raise ApiError(413, f"the request body is larger than {limit} bytes")

    async def collect() -> bytes:
        parts, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the request body is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    try:
        return await asyncio.wait_for(collect(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise ApiError(408, f"the request body took longer than {BODY_TIMEOUT_S:g} s") from None
    except ClientDisconnect:
        raise ApiError(400, "the client went away before sending its whole body") from None


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 with the parser's reason if it is not one."""
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object")
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return value


def text_field(body: dict[str, Any], name: str, limit: int = 100_000, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, f"{name!r} must be a non-empty string")
    if len(value) > limit:
        raise ApiError(413, f"{name!r} is longer than {limit} characters")
    return value


def int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be from {low} to {high}")
    return value


def bearer_token(connection: HTTPConnection, allow_query: bool = False) -> str:
    """The token from ``Authorization: Bearer …``; browsers' WebSockets and EventSource
    cannot set headers, so those may pass ``?token=`` instead."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if allow_query and connection.query_params.get("token"):
        return connection.query_params["token"]
    raise ApiError(
        401,
        "missing API token: send 'Authorization: Bearer <token>' (os1 users add NAME makes one)",
        {"WWW-Authenticate": "Bearer"},
    )
