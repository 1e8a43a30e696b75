"""A FAKE of the store's agenda (``store.agenda``), only its scheduled items: the real
one (os1.memory, protocol ``Agenda``) is being written on another branch; until it is
merged the reminders tests keep their items here, in memory. ``reminders_context``
is the one place it is attached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from os1.domain import Persona, Scheduled, ScheduledStatus, UserProfile
from os1.memory.protocol import Store
from os1.mind.skill import SkillContext


class FakeAgenda:
    """FAKE: scheduled items in a dict, with the real agenda's method names."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.items: dict[int, Scheduled] = {}

    def schedule(
        self,
        skill: str,
        kind: str,
        text: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        recurrence: str = "",
        timezone: str = "UTC",
    ) -> Scheduled:
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        item = Scheduled(
            id=len(self.items) + 1,
            skill=skill,
            kind=kind,
            text=text,
            due_at=due_at.astimezone(UTC),
            created_at=self.clock().astimezone(UTC),
            payload=dict(payload or {}),
            recurrence=recurrence,
            timezone=timezone,
        )
        self.items[item.id] = item
        return item

    def scheduled_items(
        self,
        skill: str | None = None,
        statuses: Sequence[ScheduledStatus] = (ScheduledStatus.PENDING,),
    ) -> list[Scheduled]:
        found = [
            i
            for i in self.items.values()
            if (skill is None or i.skill == skill) and i.status in statuses
        ]
        return sorted(found, key=lambda i: (i.due_at, i.id))

    def get_scheduled(self, item_id: int) -> Scheduled | None:
        return self.items.get(item_id)

    def cancel_scheduled(self, item_id: int) -> Scheduled | None:
        item = self.items.get(item_id)
        if item is None or item.status is not ScheduledStatus.PENDING:
            return None
        self.items[item_id] = replace(item, status=ScheduledStatus.CANCELLED)
        return self.items[item_id]

    def reschedule(self, item_id: int, due_at: datetime) -> Scheduled | None:
        item = self.items.get(item_id)
        if item is None or item.status is ScheduledStatus.CANCELLED:
            return None
        moved = replace(
            item, due_at=due_at.astimezone(UTC), status=ScheduledStatus.PENDING, fired_at=None
        )
        self.items[item_id] = moved
        return moved

    def fire(self, item_id: int) -> Scheduled:
        """What the scheduler's claim does to an item that fell due."""
        fired = replace(self.items[item_id], status=ScheduledStatus.FIRED, fired_at=self.clock())
        self.items[item_id] = fired
        return fired


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def reminders_context(store: Store, clock: Clock) -> SkillContext:
    """Theodore's world (Europe/London) on a real SQLite store, with the FAKE agenda."""
    store.agenda = FakeAgenda(clock)  # type: ignore[attr-defined]
    return SkillContext(
        store=store,
        profile=UserProfile("Theodore"),
        persona=Persona("Samantha", "feminine"),
        timezone=ZoneInfo("Europe/London"),
        clock=clock,
    )
