"""Reminders in the user's agenda: adding, finding and cancelling them, and how each one
is said. Every face (intents, tools, actions, the CLI, routes) goes through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from os1.domain import Scheduled, ScheduledStatus
from os1.memory.stores import Agenda
from os1.mind.skill import SkillContext
from os1.skills.reminders.recurrence import Rule
from os1.skills.reminders.requests import content_words
from os1.skills.reminders.speech import describe, describe_rule, spoken
from os1.skills.reminders.when import When, find_when

SKILL = "reminders"
KIND = "reminder"


def agenda(context: SkillContext) -> Agenda:
    """The user's agenda, where reminders are kept."""
    return context.store.agenda


def add(
    context: SkillContext, text: str, when: When, link: str = "to", timer: bool = False
) -> Scheduled:
    """Keep a reminder (in the user's words). Empty words or a bad rule raise ValueError."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("a reminder needs words: what to remind you of")
    if when.recurrence:
        Rule.parse(when.recurrence)
    payload: dict[str, Any] = {}
    if link != "to":
        payload["link"] = link
    if timer:
        payload["timer"] = True
    return agenda(context).schedule(
        SKILL,
        KIND,
        text,
        when.due,
        payload=payload or None,
        recurrence=when.recurrence,
        timezone=context.timezone.key,
    )


def pending(context: SkillContext) -> list[Scheduled]:
    """The reminders still to come, soonest first."""
    return agenda(context).scheduled_items(skill=SKILL)


def every(context: SkillContext) -> list[Scheduled]:
    """Every reminder, fired and cancelled ones too."""
    return agenda(context).scheduled_items(skill=SKILL, statuses=tuple(ScheduledStatus))


def own(context: SkillContext, item_id: int) -> Scheduled | None:
    """A reminder by id; another skill's item is not one."""
    item = agenda(context).get_scheduled(item_id)
    return item if item is not None and item.skill == SKILL else None


def cancel(context: SkillContext, item_id: int) -> Scheduled | None:
    """Cancel a pending reminder; None when there is no such reminder still to come."""
    item = own(context, item_id)
    if item is None or item.status is not ScheduledStatus.PENDING:
        return None
    return agenda(context).cancel_scheduled(item_id)


def matching(context: SkillContext, about: str) -> list[Scheduled]:
    """The pending reminders ``about`` names best: an id, words from the text ("the
    one about Amy"), a time ("the 5 pm one"); all of them when it names nothing."""
    items = pending(context)
    about = about.strip().lstrip("#")
    if about.isdigit():
        return [i for i in items if i.id == int(about)]
    now = context.now()
    when = find_when(about, now)
    if when is not None:
        for start, end in sorted(when.spans, reverse=True):
            about = about[:start] + " " + about[end:]
        wall = (when.due.hour, when.due.minute)
        at_that_time = [i for i in items if _wall(i, now) == wall]
        items = at_that_time or items
    wanted = content_words(about)
    if not wanted:
        return items
    scored = [(len(wanted & content_words(i.text)), i) for i in items]
    best = max((score for score, _ in scored), default=0)
    return [i for score, i in scored if best and score == best]


def _wall(item: Scheduled, now: datetime) -> tuple[int, int]:
    due = item.due_at.astimezone(now.tzinfo)
    return due.hour, due.minute


def is_timer(item: Scheduled) -> bool:
    return bool(item.payload.get("timer"))


def link(item: Scheduled) -> str:
    return str(item.payload.get("link", "to"))


def what(item: Scheduled) -> str:
    """What to remind of, as the companion says it: "to call your mum", "10-minute timer"."""
    return item.text if is_timer(item) else f"{link(item)} {spoken(item.text)}"


def subject(item: Scheduled) -> str:
    """ "your reminder to call your mum", "your 10-minute timer"."""
    return f"your {item.text}" if is_timer(item) else f"your reminder {what(item)}"


def zone_of(item: Scheduled, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(item.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def when_words(item: Scheduled, now: datetime) -> str:
    """ "at 5 pm today", "every Monday at 9 am"."""
    if item.recurrence:
        zone = zone_of(item, ZoneInfo("UTC"))
        return describe_rule(item.recurrence, zone, first=item.due_at)
    return describe(item.due_at, now)


def listed(item: Scheduled, now: datetime) -> str:
    """One reminder in a list: "call your mum at 5 pm today"."""
    if is_timer(item):
        return f"your {item.text} {when_words(item, now)}"
    lead = "" if link(item) == "to" else f"{link(item)} "
    return f"{lead}{spoken(item.text)} {when_words(item, now)}"


def as_json(item: Scheduled, now: datetime) -> dict[str, Any]:
    """A reminder for the CLI, the API and tools: ``due`` is ISO 8601 with its offset."""
    return {
        "id": item.id,
        "text": item.text,
        "due": item.due_at.astimezone(now.tzinfo).isoformat(),
        "status": str(item.status),
        "recurrence": item.recurrence,
        "timezone": item.timezone,
        "timer": is_timer(item),
        "when": when_words(item, now),
    }
