"""What every module of routes shares: JSON responses, a user's store work on a thread
(holding that user's lock), model work on the generation pool, and turns as JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from os1.mind.events import turn_dict
from os1.server.state import ServerState
from os1.server.tenancy import Tenant

T = TypeVar("T")


def json_response(data: Any, status: int = 200) -> Response:
    # default=str: datetimes in personas and profiles become ISO text.
    body = json.dumps(data, ensure_ascii=False, default=str)
    return Response(body, status_code=status, media_type="application/json")


async def in_tenant(tenant: Tenant, work: Callable[[], T]) -> T:
    """Run blocking store work on a thread, one at a time for this user."""

    def locked() -> T:
        with tenant.lock:
            return work()

    return await run_in_threadpool(locked)


async def run_in_executor(state: ServerState, tenant: Tenant, work: Callable[[], T]) -> T:
    """Model work goes on the generation pool, not the pool the store reads use."""

    def locked() -> T:
        with tenant.lock:
            return work()

    return await asyncio.get_running_loop().run_in_executor(state.pool, locked)


# One JSON form of a turn, the CLI's too.
turn_json = turn_dict
