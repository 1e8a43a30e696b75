"""The routes skills add (``os1.mind.skill.Route``), mounted under ``/v1``.

A skill's route is framework-neutral: it gets the authenticated user's ``SkillContext``,
the path and query parameters and the JSON body, and returns what to send as JSON. Here it
becomes a Starlette route like every other: the caller is authenticated (and rate-limited)
first, the handler runs on a thread holding the user's lock (it uses their store), and a
``RouteError`` becomes that status with the usual error body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from os1.mind import plugins
from os1.mind.skill import Route as SkillRoute
from os1.mind.skill import RouteError
from os1.server.http import ApiError, read_body
from os1.server.routing import in_tenant, json_response
from os1.server.state import authenticate

WITH_BODY = ("POST", "PUT", "PATCH")


def full_path(route: SkillRoute) -> str:
    """Where a skill's route is served: its path under ``/v1``."""
    path = "/" + route.path.lstrip("/")
    return path if path == "/v1" or path.startswith("/v1/") else "/v1" + path


def routes(skill_routes: list[SkillRoute] | None = None) -> list[BaseRoute]:
    """The installed skills' routes (or those given), as Starlette routes."""
    found = plugins.skills().routes if skill_routes is None else skill_routes
    return [Route(full_path(r), endpoint(r), methods=[r.method.upper()]) for r in found]


def endpoint(route: SkillRoute) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        tenant = await authenticate(request)
        params = {**request.query_params, **{k: str(v) for k, v in request.path_params.items()}}
        body = await _body(request) if request.method in WITH_BODY else None

        def run() -> Any:
            try:
                # NotSetUp (409) before the first meeting: a skill works in a user's world.
                return route.handle(tenant.turns().context(), params, body)
            except RouteError as exc:
                raise ApiError(exc.status, exc.message) from None
            finally:
                tenant.events.next_due = None  # it may have scheduled something: look again

        return json_response(await in_tenant(tenant, run), route.status)

    handle.__name__ = f"{route.skill}_{route.method.lower()}"
    return handle


async def _body(request: Request) -> Any:
    """The JSON body, any JSON value; None when there is none."""
    raw = await read_body(request)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the request body is not JSON: {exc}") from None
