"""Prompts live in TOML data files (``prompts/NAME.toml`` beside the module that owns them,
the mind's or a skill's); this reads them and fills their placeholders."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any


@cache
def load(name: str, package: str = "os1.mind") -> dict[str, Any]:
    text = files(package).joinpath("prompts", f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def word_list(name: str, package: str = "os1.mind") -> frozenset[str]:
    text = files(package).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


def one_line(text: str) -> str:
    """A transcript line for a base model: newlines would end the turn early."""
    return " ".join(text.split())


def fill(template: str, **values: str) -> str:
    # safe_substitute: a "$" typed by the user inside a value is never re-expanded.
    return Template(template).safe_substitute(values)


def counted(n: int, noun: str, plural: str = "") -> str:
    """A count that reads naturally: "1 session", "3 sessions"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
