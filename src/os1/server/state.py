"""What every route shares, and the one way a route gets a user: ``authenticate``.

``authenticate`` turns the bearer token into that account's ``Tenant``, after the rate
limit. Routes take no user id from the path or the body, so what they can touch is the
authenticated user's tenant and nothing else.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from os1 import config
from os1.mind.skill import Services
from os1.server.accounts import AccountStore, open_accounts
from os1.server.http import ApiError, bearer_token
from os1.server.limits import RateLimiter, retry_after_header
from os1.server.presence import Presence, open_presence
from os1.server.tenancy import SharedModels, Tenant, Tenants
from os1.server.voice_engines import SettingsVoiceEngines, VoiceEngines
from os1.skills.presence import TalkingWith


@dataclass(frozen=True)
class ServerOptions:
    requests_per_minute: float = 120.0
    burst: int = 30
    ws_idle_timeout_s: float = 300.0
    # Largest text message on a WebSocket (audio has the voice protocol's own limit).
    ws_max_text_bytes: int = 100_000
    heartbeat_s: float = 15.0
    # How often each worker looks for reminders due to people listening (os1.server.notices).
    notice_check_s: float = 5.0
    # Threads that run replies (at least the model's slots and a few more, see ServerState).
    reply_threads: int = 8

    @classmethod
    def from_settings(cls, settings: config.Settings) -> ServerOptions:
        get = settings.get
        return cls(
            requests_per_minute=float(get("server.requests_per_minute")),
            burst=int(get("server.burst")),
            ws_idle_timeout_s=float(get("server.ws_idle_timeout_s")),
            reply_threads=int(get("server.reply_threads")),
        )


@dataclass
class ServerState:
    settings: config.Settings
    options: ServerOptions
    accounts: AccountStore
    tenants: Tenants
    limiter: RateLimiter
    voice_engines: VoiceEngines
    presence: Presence
    pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        # Every generation slot gets a thread, with some to spare for indexing: a turn that
        # has a slot never waits for a thread.
        threads = max(self.options.reply_threads, self.tenants.shared.gate.slots + 4)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="os1-reply")

    @classmethod
    def create(
        cls,
        settings: config.Settings,
        options: ServerOptions | None = None,
        shared: SharedModels | None = None,
        voice_engines: VoiceEngines | None = None,
        presence: Presence | None = None,
    ) -> ServerState:
        options = options or ServerOptions.from_settings(settings)
        presence = presence or open_presence(
            str(settings.get("store.url")),
            settings.home / "server" / "presence.db",
            int(settings.get("server.workers")),
            float(settings.get("server.presence_window_s")),
        )
        return cls(
            settings=settings,
            options=options,
            accounts=open_accounts(settings),
            tenants=Tenants(
                settings,
                shared or SharedModels(settings),
                Services({TalkingWith: TalkingWith(presence.count)}),
            ),
            limiter=RateLimiter(options.requests_per_minute, options.burst),
            voice_engines=voice_engines or SettingsVoiceEngines(settings),
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
