"""Helpers the benchmarks share."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the one JSON result."""
    print(message, file=sys.stderr, flush=True)


def default_models_dir() -> Path:
    """Where the bundled model is assembled once and reused across benchmark runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "os1-bench" / "models"


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=default_models_dir(),
        help="where the bundled model is assembled once (default ~/.cache/os1-bench/models)",
    )
