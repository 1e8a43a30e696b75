"""Prompts live in TOML data files beside this module; this fills their placeholders."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    text = files("os1.mind").joinpath("prompts", f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def word_list(name: str) -> frozenset[str]:
    text = files("os1.mind").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


def fill(template: str, **values: str) -> str:
    # safe_substitute: a "$" typed by the user inside a value is never re-expanded.
    return Template(template).safe_substitute(values)
