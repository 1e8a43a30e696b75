"""The web app, served at ``/``: plain HTML, CSS and ES modules from ``server/web/``
(package data; no build step).

Only files that ship in that folder are served (the list is read once, so no path from a
request reaches the filesystem). Every page carries a Content-Security-Policy that allows
nothing outside the page's own origin: no CDN fonts or scripts, and no request elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

WEB_ROOT = Path(__file__).parent / "web"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The microphone is for this page only; nothing else is needed.
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    # Small files, always revalidated, so an update is seen on the next load.
    "Cache-Control": "no-cache",
}


@cache
def shipped_files() -> dict[str, Path]:
    """Every file of the web app, by its path under ``/web/``."""
    return {
        path.relative_to(WEB_ROOT).as_posix(): path
        for path in WEB_ROOT.rglob("*")
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def file_response(name: str) -> Response:
    path = shipped_files().get(name)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        path.read_bytes(), media_type=MEDIA_TYPES[path.suffix], headers=SECURITY_HEADERS
    )


async def index(request: Request) -> Response:
    return file_response("index.html")


async def asset(request: Request) -> Response:
    return file_response(str(request.path_params["name"]))


ROUTES: list[BaseRoute] = [
    Route("/", index),
    Route("/web/{name:path}", asset),
]
