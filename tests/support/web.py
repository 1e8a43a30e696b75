"""What the browser suite needs: a real OS1 server on loopback (scripted model, real voice
engines), headless Chromium through Playwright, screenshots, and the axe-core check.

Screenshots go to ``artifacts/screenshots/`` (gitignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from os1.llm.scripted import ScriptedBackend
from os1.options import load
from os1.server.state import ServerState
from os1.server.tenancy import SharedModels
from os1.server.voice_engines import ConfiguredVoiceEngines
from tests.server.test_server import Server
from tests.support.paths import ROOT

CHROMIUM = Path(os.environ.get("OS1_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
USERS = ("alice", "bob")
REPLY = "I'm here with you, and I'm listening."


def require_browser() -> None:
    """Skip when Chromium or Playwright is missing, except in CI, where scripts/test.sh
    installs both and a missing one is a failure."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[dev]')")
    if missing and os.environ.get("CI"):
        pytest.fail("the browser suite needs " + ", ".join(missing))
    if missing:
        pytest.skip("the browser suite needs " + ", ".join(missing))


def make_web_server(home: Path) -> Server:
    """Two accounts on a scripted model that streams slowly enough to be seen streaming."""
    # Room for both users' replies at once, as tests/test_server.py's make_server.
    options = load(
        {"OS1_HOME": str(home), "OS1_MEMORY_EMBEDDERS": "", "OS1_SERVER_MODEL_CONCURRENCY": "4"}
    )
    backend = ScriptedBackend([REPLY], token_delay_s=0.01)
    state = ServerState.create(
        options,
        replace(options.server, requests_per_minute=6000, burst=1000, heartbeat_s=1.0),
        SharedModels(options, backend=backend, embedders=[]),
        ConfiguredVoiceEngines(options.voice),
    )
    tokens = {name: state.accounts.add(name)[1] for name in USERS}
    return Server(state, backend, tokens)


@dataclass
class Visit:
    """One browser page on the app, recording every request it makes."""

    page: Any
    base: str
    requests: list[str] = field(default_factory=list)
    socket_frames: list[dict[str, Any]] = field(default_factory=list)
    audio_frames: int = 0
    sent_audio_frames: int = 0
    errors: list[str] = field(default_factory=list)

    def outside_origin(self) -> list[str]:
        origin = urlsplit(self.base).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != origin
        ]

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.socket_frames if f.get("type") == kind]


def watch(page: Any, base: str) -> Visit:
    visit = Visit(page, base)
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("pageerror", lambda error: visit.errors.append(str(error)))

    def on_socket(socket: Any) -> None:
        visit.requests.append(socket.url)

        def received(payload: Any) -> None:
            if isinstance(payload, bytes):
                visit.audio_frames += 1
                return
            with contextlib.suppress(ValueError):
                visit.socket_frames.append(json.loads(payload))

        def sent(payload: Any) -> None:
            if isinstance(payload, bytes):
                visit.sent_audio_frames += 1

        socket.on("framereceived", received)
        socket.on("framesent", sent)

    page.on("websocket", on_socket)
    return visit


def sign_in(visit: Visit, token: str) -> None:
    """The token as the page keeps it, so a test can start past the sign-in screen."""
    visit.page.goto(visit.base + "/")
    visit.page.evaluate("token => localStorage.setItem('os1.token', token)", token)
    visit.page.goto(visit.base + "/")


def screenshot(visit: Visit, size: str, screen: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{size}-{screen}.png"
    visit.page.screenshot(path=str(path), full_page=True)
    return path


def axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def serious_violations(visit: Visit) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not visit.page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the page's CSP allows only its own scripts.
        visit.page.evaluate(axe_script())
    results = visit.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@contextlib.contextmanager
def browser(extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield launched
        finally:
            launched.close()
