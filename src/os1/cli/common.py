"""What every command shares: the consoles, error handling and the runtime."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.text import Text

from os1 import config
from os1.cli.runtime import Runtime
from os1.llm.base import BackendError
from os1.memory.storage.errors import StoreError
from os1.mind.companion import EmptyMessage, NotSetUp
from os1.mind.onboarding import OnboardingError
from os1.voice.errors import VoiceError

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])
EXPECTED = (
    config.ConfigError,
    BackendError,
    StoreError,
    NotSetUp,
    EmptyMessage,
    OnboardingError,
    VoiceError,
)


def friendly_errors(func: F) -> F:
    """Turn every expected failure into one clear line and exit code 1, never a traceback;
    a command given ``--json`` prints it as JSON instead (``{"error": {...}}``, on stdout
    where its answer would be), so a script reads one format either way."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EXPECTED as exc:
            if kwargs.get("as_json"):
                print_json(error_json(exc))
            else:
                print_error(exc)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def print_error(exc: BaseException) -> None:
    errors.print(Text.assemble(("os1: ", "bold red"), str(exc)))


def error_json(exc: BaseException) -> dict[str, object]:
    """An error as the server writes one: ``{"error": {"message", "type"}}``, the type
    the exception's name in snake case (``backend_unavailable``)."""
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    return {"error": {"message": str(exc), "type": kind}}


def runtime(ctx: click.Context) -> Runtime:
    root = ctx.find_root()
    if not isinstance(root.obj, Runtime):
        root.obj = Runtime()
        root.call_on_close(root.obj.close)
    obj: Runtime = root.obj
    return obj


def print_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
