"""Presence: when the person asks how many people the OS is talking with, the prompt gets
one line with the true number, counted across every server process (as in the film).

The count comes from the host: a server provides ``TalkingWith``; the command line has
none, and then the skill adds nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from os1.mind.hookspecs import hookimpl
from os1.mind.skill import SkillContext
from os1.mind.templates import fill, load

PACKAGE = "os1.skills.presence"


@dataclass(frozen=True)
class TalkingWith:
    """How many people this OS is talking with now, as the host counts them."""

    count: Callable[[], int]


@cache
def _question() -> re.Pattern[str]:
    asks = load("presence", PACKAGE)["asks"]
    return re.compile("|".join(f"(?:{a})" for a in asks), re.IGNORECASE)


def asks_about_presence(message: str) -> bool:
    """Does the person ask how many people the OS is talking with?"""
    return _question().search(message) is not None


@hookimpl
def os1_context(context: SkillContext, message: str) -> list[str]:
    presence = context.services.get(TalkingWith)
    if presence is None or not asks_about_presence(message):
        return []
    line = load("presence", PACKAGE)["line"]
    return [
        fill(
            line,
            ai=context.persona.name,
            user=context.profile.name,
            count=f"{presence.count():,}",
        )
    ]
