"""What every route shares, and the one way a route gets a user: ``authenticate``.

``authenticate`` turns the bearer token into that account's ``Tenant``, after the rate
limit. Routes take no user id from the path or the body, so what they can touch is the
authenticated user's tenant and nothing else.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from starlette.requests import HTTPConnection

from os1.mind.skill import Services
from os1.options import Options, ServerOptions
from os1.server.accounts import AccountStore, open_accounts
from os1.server.http import ApiError, bearer_token
from os1.server.limits import RateLimiter, retry_after_header
from os1.server.presence import Presence, open_presence
from os1.server.tenancy import SharedModels, Tenant, Tenants
from os1.server.voice_engines import ConfiguredVoiceEngines, VoiceEngines
from os1.skills.presence import TalkingWith


@dataclass
class ServerState:
    # Every option; ``options.server`` is the server's own.
    options: Options
    accounts: AccountStore
    tenants: Tenants
    limiter: RateLimiter
    voice_engines: VoiceEngines
    presence: Presence
    pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        # Every generation slot gets a thread, with some to spare for indexing: a turn that
        # has a slot never waits for a thread.
        threads = max(self.options.server.reply_threads, self.tenants.shared.gate.slots + 4)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="os1-reply")

    @classmethod
    def create(
        cls,
        options: Options,
        server: ServerOptions | None = None,
        shared: SharedModels | None = None,
        voice_engines: VoiceEngines | None = None,
        presence: Presence | None = None,
    ) -> ServerState:
        """The server's parts from ``options``; ``server`` replaces ``options.server``
        (tests: rate limits, heartbeats), the others replace what would be built."""
        if server is not None:
            options = replace(options, server=server)
        presence = presence or open_presence(
            options.store.url,
            options.home / "server" / "presence.db",
            options.server.workers,
            options.server.presence_window_s,
        )
        return cls(
            options=options,
            accounts=open_accounts(options),
            tenants=Tenants(
                options,
                shared or SharedModels(options),
                Services({TalkingWith: TalkingWith(presence.count)}),
            ),
            limiter=RateLimiter(options.server.requests_per_minute, options.server.burst),
            voice_engines=voice_engines or ConfiguredVoiceEngines(options.voice),
            presence=presence,
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.presence.close()
        self.tenants.close()
        self.tenants.shared.close()
        self.accounts.close()


def server_state(connection: HTTPConnection) -> ServerState:
    state: ServerState = connection.app.state.os1
    return state


async def authenticate(connection: HTTPConnection, allow_query_token: bool = False) -> Tenant:
    """The authenticated user's tenant: 401 for a missing or bad token, 429 when the
    user's rate limit is spent. The accounts are read on a thread: with PostgreSQL that is
    a round trip, perhaps a wait for a pooled connection, and the event loop streams every
    other reply of this process meanwhile."""
    state = server_state(connection)
    token = bearer_token(connection, allow_query_token)
    account = await asyncio.to_thread(state.accounts.authenticate, token)
    if account is None:
        raise ApiError(
            401,
            "invalid or revoked API token",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    rate_limit(state, account.id)
    return state.tenants.for_account(account)


def rate_limit(state: ServerState, user_id: int) -> None:
    wait = state.limiter.take(user_id)
    if wait > 0:
        raise ApiError(
            429,
            f"too many requests: try again in {wait:.1f} s",
            {"Retry-After": retry_after_header(wait)},
        )
