"""How long the web app takes to load on localhost, in headless Chromium.

A server with a scripted model runs on a free loopback port, with one account that is
set up; each run opens a fresh browser context (no cache) and times, from navigation,
the sign-in screen and the talk screen (with the token already stored) until their
content is visible. Prints JSON: the median and max of each over the runs. The target
(under 1 s) is reported, never asserted. Run: ``python -m bench.web_load [--runs 5]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from os1.llm.scripted import ScriptedBackend
from os1.options import load
from os1.server.app import create_app
from os1.server.state import ServerState
from os1.server.tenancy import SharedModels

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def start_server(home: Path) -> tuple[str, str, uvicorn.Server]:
    options = load({"OS1_HOME": str(home), "OS1_MEMORY_EMBEDDERS": ""})
    shared = SharedModels(options, backend=ScriptedBackend(["Hello."]), embedders=[])
    state = ServerState.create(options, shared=shared)
    token = state.accounts.add("bench")[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    httpx.post(f"{base}/v1/setup", json={"name": "Theodore"}, headers=auth).raise_for_status()
    return base, token, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    runs = parser.parse_args()
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {"sign_in_s": [], "talk_s": []}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        base, token, server = start_server(Path(folder))
        browser = playwright.chromium.launch(executable_path=runs.chromium, args=ARGS)
        for _ in range(runs.runs):
            for key, selector, stored in (
                ("sign_in_s", ".wordmark", None),
                ("talk_s", ".composer", token),
            ):
                context = browser.new_context()
                if stored:
                    context.add_init_script(f"localStorage.setItem('os1.token', '{stored}')")
                page = context.new_page()
                started = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_selector(selector)
                timings[key].append(time.perf_counter() - started)
                context.close()
        browser.close()
        server.should_exit = True
    report = {
        key: {"median": round(statistics.median(v), 3), "max": round(max(v), 3)}
        for key, v in timings.items()
    }
    print(json.dumps({"runs": runs.runs, "target_s": 1.0, **report}))


if __name__ == "__main__":
    main()
