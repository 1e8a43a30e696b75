"""Theodore's world for the reminders tests: a real store, a clock the test moves."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from os1.domain import Persona, UserProfile
from os1.memory.stores import Store
from os1.mind.skill import SkillContext


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def reminders_context(store: Store, clock: Clock) -> SkillContext:
    """Theodore's world (Europe/London) on a real store."""
    return SkillContext(
        store=store,
        profile=UserProfile("Theodore"),
        persona=Persona("Samantha", "feminine"),
        timezone=ZoneInfo("Europe/London"),
        clock=clock,
    )
