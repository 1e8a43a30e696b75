"""The first meeting's questions, and the signed-in user's settings: the model (shown;
the server's operator chooses it), the OS's voice, a new token for this account, and
erasing everything.

Erasing needs the account's name typed back as ``confirm``, so a stray request cannot do
it; the account and its token stay, and the OS1 is new again (the first run follows).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from os1.domain.models import VOICES
from os1.mind import onboarding
from os1.mind.onboarding import OnboardingError
from os1.server.http import ApiError, read_json, text_field
from os1.server.routing import in_tenant, json_response
from os1.server.state import authenticate, server_state
from os1.server.tenancy import Tenant


def settings_json(request: Request, tenant: Tenant) -> dict[str, Any]:
    model = server_state(request).options.model
    persona = tenant.store.persona()
    return {
        "account": {"id": tenant.account.id, "name": tenant.account.name},
        "model": {
            "backend": model.backend,
            "name": model.name or None,
            # One model serves every account: `os1 model use` on the server changes it.
            "changeable": False,
        },
        "voice": persona.voice if persona else None,
        "voices": list(VOICES),
    }


async def first_run_questions(request: Request) -> Response:
    """``GET /v1/setup``: the first meeting's questions, in order (as ``os1`` asks them)."""
    tenant = await authenticate(request)
    asked = [{"key": q.key, "text": q.text} for q in onboarding.questions()]
    return json_response({"account": tenant.account.name, "questions": asked})


async def read_settings(request: Request) -> Response:
    tenant = await authenticate(request)
    return json_response(await in_tenant(tenant, lambda: settings_json(request, tenant)))


async def change_settings(request: Request) -> Response:
    """``PATCH /v1/settings`` ``{"voice": "masculine"}``: the OS's voice, kept as a new
    version of the persona (so its history shows the change)."""
    tenant = await authenticate(request)
    body = await read_json(request)
    if "model" in body:
        raise ApiError(403, "the model is chosen by whoever runs the server (os1 model use)")
    unknown = sorted(set(body) - {"voice"})
    if unknown:
        raise ApiError(400, f"unknown settings: {', '.join(unknown)} (voice can be changed)")
    try:
        voice = onboarding.parse_voice(text_field(body, "voice", 20))
    except OnboardingError as exc:
        raise ApiError(400, str(exc)) from None

    def change() -> dict[str, Any]:
        store = tenant.store
        persona, profile = store.persona(), store.profile()
        if persona is None or profile is None:
            raise ApiError(409, "this OS1 is not set up yet: POST /v1/setup first")
        if persona.voice != voice:
            store.save_persona(replace(persona, voice=voice), f"voice changed to {voice}")
            store.save_profile(replace(profile, voice=voice))
            tenant.reset_recall()  # the companion is rebuilt with the new persona
        return settings_json(request, tenant)

    return json_response(await in_tenant(tenant, change))


async def rotate_token(request: Request) -> Response:
    """``POST /v1/token``: a new token for this account, shown once; the one used for this
    request stops working at once."""
    tenant = await authenticate(request)
    token = server_state(request).accounts.rotate(tenant.account.id)
    return json_response({"token": token, "account": tenant.account.name}, 201)


async def erase(request: Request) -> Response:
    """``POST /v1/erase`` ``{"confirm": "<account name>"}``: delete everything this OS1
    holds for you (turns, memories, persona, profile). Export first if you want a copy."""
    tenant = await authenticate(request)
    confirm = text_field(await read_json(request), "confirm", 200)
    if confirm.strip() != tenant.account.name:
        raise ApiError(400, f"to erase everything, send confirm: {tenant.account.name!r}")
    await in_tenant(tenant, tenant.erase)
    tenant.events.publish({"type": "notice", "message": "Everything was erased."})
    return json_response({"erased": True, "set_up": False})


ROUTES: list[BaseRoute] = [
    Route("/v1/setup", first_run_questions, methods=["GET"]),
    Route("/v1/settings", read_settings, methods=["GET"]),
    Route("/v1/settings", change_settings, methods=["PATCH"]),
    Route("/v1/token", rotate_token, methods=["POST"]),
    Route("/v1/erase", erase, methods=["POST"]),
]
