"""Cold start of the real CLI: launch of ``os1 ask`` to its first reply token, and peak RSS.

What is measured
    ``python -m os1 ask QUESTION`` is launched as a new process (a cold Python interpreter
    every run: imports, settings, SQLite store, model load, prompt building, prefill and
    the first sampled token). ``os1 ask`` writes ``Name: `` together with the first piece
    of the reply and flushes, so the first byte on its stdout is the first token. Two
    questions, each launched every run:

    * ``model``: small talk ("I had a long day at work."), which the model answers: the
      cold path with the model loaded, prefilled and sampled. The headline figures.
    * ``intent``: "Hello, who are you?", which a local intent answers from the persona;
      the model is never loaded (it loads on first use), so this is the floor.

    Per run:

    * ``first_token_s``: from just before the process is spawned to the first byte read
      from its stdout (read unbuffered with ``os.read`` on the pipe).
    * ``total_s``: from spawn to exit (the whole reply plus any reflection afterwards).
    * peak RSS: the child's own ``ru_maxrss`` from ``os.wait4`` (kilobytes on Linux).

How
    A throwaway ``OS1_HOME`` is made in a temporary folder, with ``OS1_MODEL_BACKEND=embedded``
    so a local Ollama never takes over and every other ``OS1_*`` variable removed. The
    bundled model is assembled once under ``--models-dir`` (default
    ``~/.cache/os1-bench/models``) and hard-linked (or copied) into the home's ``models``
    folder. ``os1 setup --yes --name Theodore --voice feminine`` runs once, untimed, and
    the home is snapshotted; before each timed run the snapshot is restored, so every run
    asks the same question of the same freshly set-up companion (no growing history).
    The model file stays in the OS page cache between runs, as it would on a machine
    that has used OS1 before.

    Reported: median and p95 (nearest-rank over the runs, so the max for few runs) of
    ``first_token_s``, max peak RSS, and every run's numbers. Targets are reported next to
    the measurements, never asserted.

Run from the repository root: ``python -m bench.startup [--runs 5]``. Progress goes to
stderr; stdout carries exactly one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import add_models_dir, log
from os1.llm.embedded import BUNDLED_MODEL_FILE, bundled_model_path

QUESTIONS = {"model": "I had a long day at work.", "intent": "Hello, who are you?"}
TARGET_FIRST_TOKEN_S = 2.0
TARGET_PEAK_RSS_MB = 1024
OS1 = [sys.executable, "-m", "os1"]


@dataclass(frozen=True)
class Launch:
    first_token_s: float | None
    total_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def bench_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env["OS1_HOME"] = str(home)
    env["OS1_MODEL_BACKEND"] = "embedded"
    return env


def place_model(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def snapshot(home: Path, into: Path) -> None:
    """Copy everything in the home but the model into ``into``."""
    shutil.copytree(home, into, ignore=shutil.ignore_patterns("models"))


def restore(saved: Path, home: Path) -> None:
    for entry in home.iterdir():
        if entry.name == "models":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(saved, home, dirs_exist_ok=True)


def launch(args: list[str], env: dict[str, str]) -> Launch:
    """Run one command; time its first stdout byte and exit; read its own peak RSS."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        first: float | None = None
        chunks: list[bytes] = []
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            if first is None:
                first = time.perf_counter()
            chunks.append(data)
        _, status, usage = os.wait4(proc.pid, 0)
        end = time.perf_counter()
        # wait4 reaped the child; tell Popen so it does not try again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Launch(
        first_token_s=None if first is None else first - start,
        total_s=end - start,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        stdout=b"".join(chunks).decode("utf-8", "replace"),
        stderr=stderr,
    )


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed launches (default 5)")
    add_models_dir(parser)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def measure(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    log(f"model: assembling or finding it under {args.models_dir}")
    model = bundled_model_path(args.models_dir)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="os1-bench-startup-") as tmp:
        home = Path(tmp) / "home"
        place_model(model, home / "models" / BUNDLED_MODEL_FILE)
        env = bench_env(home)
        log(f"setup: OS1_HOME={home} (untimed)")
        setup = launch([*OS1, "setup", "--yes", "--name", "Theodore", "--voice", "feminine"], env)
        log(setup.stdout.strip())
        if setup.returncode != 0:
            raise SystemExit(f"os1 setup failed ({setup.returncode}):\n{setup.stderr}")
        saved = Path(tmp) / "snapshot"
        snapshot(home, saved)

        launches: dict[str, list[Launch]] = {kind: [] for kind in QUESTIONS}
        for i in range(args.runs):
            for kind, question in QUESTIONS.items():
                restore(saved, home)
                run = launch([*OS1, "ask", question], env)
                launches[kind].append(run)
                first = "none" if run.first_token_s is None else f"{run.first_token_s:.3f}s"
                log(
                    f"run {i + 1}/{args.runs} ({kind}): first token {first}, exit after "
                    f"{run.total_s:.3f}s, peak RSS {run.peak_rss_mb:.0f} MB, rc {run.returncode}"
                )
                if run.returncode != 0:
                    log(run.stderr.strip())

    result: dict[str, Any] = {"benchmark": "startup"}
    result.update(summary(launches["model"]))
    result.update(
        {
            "target_first_token_s": TARGET_FIRST_TOKEN_S,
            "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
            "runs": args.runs,
            "command": ["python", "-m", "os1", "ask", QUESTIONS["model"]],
            "intent": {
                **summary(launches["intent"]),
                "command": ["python", "-m", "os1", "ask", QUESTIONS["intent"]],
            },
            "backend": "embedded",
            "model": model.name,
            "cpu_count": os.cpu_count(),
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    )
    failed = sum(
        r.returncode != 0 or r.first_token_s is None for rs in launches.values() for r in rs
    )
    return result, failed == 0


def summary(launches: list[Launch]) -> dict[str, Any]:
    ok = [r for r in launches if r.returncode == 0 and r.first_token_s is not None]
    firsts = [r.first_token_s for r in ok if r.first_token_s is not None]
    return {
        "first_token_s": rounded(statistics.median(firsts)) if firsts else None,
        "first_token_s_p95": rounded(nearest_rank(firsts, 0.95)) if firsts else None,
        "first_token_s_max": rounded(max(firsts)) if firsts else None,
        "peak_rss_mb": rounded(max(r.peak_rss_mb for r in launches), 1),
        "total_s": rounded(statistics.median(r.total_s for r in launches)),
        "failed_runs": len(launches) - len(ok),
        "all_first_token_s": [rounded(r.first_token_s) for r in launches],
        "all_total_s": [rounded(r.total_s) for r in launches],
        "all_peak_rss_mb": [rounded(r.peak_rss_mb, 1) for r in launches],
        "sample_reply": launches[0].stdout.strip()[:200],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result, ok = measure(args)
    print(json.dumps(result))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
