"""Follow-ups in the user's agenda, and the few numbers the skill keeps per user.

A follow-up is a scheduled item of kind ``followup``: its text is the event as the
companion says it ("your interview at Harbourside"), due the morning after it happens
(a plan with no day, "call your sister", is of kind ``nudge``, due three days on);
its payload keeps the turn it was heard in, the days it is on and the word that names
it. Its status is the follow-up's: pending (still to ask), fired (asked) or cancelled
(dismissed: the user told how it went first, or turned follow-ups off).

Per user, in ``store.state`` (one row each, on SQLite and PostgreSQL alike): whether
follow-ups are off, and which follow-up was asked last, when, and in which session, for
the one-a-session rule and the prompt's context line.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from os1.domain import Scheduled, ScheduledStatus
from os1.memory.stores import Agenda
from os1.mind.skill import SkillContext
from os1.skills.followups.ahead import ASK_FROM
from os1.skills.followups.mentions import Mention

SKILL = "followups"
KIND = "followup"
NUDGE = "nudge"  # a plan the user mentioned ("I should call my sister"), encouraged once
NUDGE_AFTER = timedelta(days=3)
OFF = "followups.off"
ASKED_ITEM = "followups.asked_item"
ASKED_AT = "followups.asked_at"  # minutes since the epoch, by the skill's clock
ASKED_SESSION = "followups.asked_session"
# One question a session; a conversation just before the first one (notices delivered
# while `os1 chat` opens) counts as part of it, so none comes within this time either.
QUIET = timedelta(hours=3)
STATUS_WORDS = {
    ScheduledStatus.PENDING: "to ask",
    ScheduledStatus.FIRED: "asked",
    ScheduledStatus.CANCELLED: "dismissed",
}


def agenda(context: SkillContext) -> Agenda:
    return context.store.agenda


def is_off(context: SkillContext) -> bool:
    return context.store.state(OFF) == 1


def switch(context: SkillContext, on: bool) -> int:
    """Turn follow-ups on or off; off dismisses those still to ask (how many)."""
    context.store.set_state(OFF, 0 if on else 1)
    if on:
        return 0
    waiting = pending(context)
    for item in waiting:
        agenda(context).cancel_scheduled(item.id)
    return len(waiting)


def pending(context: SkillContext) -> list[Scheduled]:
    """The follow-ups still to ask, soonest first."""
    return agenda(context).scheduled_items(skill=SKILL)


def every(context: SkillContext) -> list[Scheduled]:
    return agenda(context).scheduled_items(skill=SKILL, statuses=tuple(ScheduledStatus))


def own(context: SkillContext, item_id: int) -> Scheduled | None:
    item = agenda(context).get_scheduled(item_id)
    return item if item is not None and item.skill == SKILL else None


def add(
    context: SkillContext, mention: Mention, turn_id: int, kind: str = KIND
) -> Scheduled | None:
    """Keep a follow-up for ``mention`` (or, of kind ``nudge``, a plan to encourage);
    None when the same thing is kept already (the same word on the same days: "the
    interview on Thursday is at ten, by the way"; the same plan)."""
    ahead = mention.ahead
    for item in pending(context):
        same = item.payload.get("last") == str(ahead.last) if kind == KIND else True
        if item.kind == kind and item.payload.get("key") == mention.key and same:
            return None
    if kind == NUDGE:
        due = datetime.combine(ahead.last + NUDGE_AFTER, ASK_FROM, tzinfo=context.timezone)
    else:
        due = ahead.after(context.timezone)
    payload = {"turn": turn_id, "key": mention.key, "first": str(ahead.first)}
    payload |= {"last": str(ahead.last), "said": ahead.words}
    return agenda(context).schedule(
        SKILL, kind, mention.event, due, payload=payload, timezone=context.timezone.key
    )


def days(item: Scheduled) -> tuple[date, date]:
    """The days it happens on; for an item without them (kept by hand, restored from
    elsewhere), the day before it is due."""
    try:
        return date.fromisoformat(item.payload["first"]), date.fromisoformat(item.payload["last"])
    except (KeyError, TypeError, ValueError):
        day = item.due_at.date() - timedelta(days=1)
        return day, day


def minutes(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // 60)


def asked_lately(context: SkillContext, session_id: int) -> bool:
    """Whether a follow-up was asked in this session, or within ``QUIET``."""
    store = context.store
    if session_id and store.state(ASKED_SESSION) == session_id:
        return True
    at = store.state(ASKED_AT)
    return bool(at) and minutes(context.now()) - at < QUIET.total_seconds() // 60


def mark_asked(context: SkillContext, item: Scheduled, session_id: int) -> None:
    store = context.store
    store.set_state(ASKED_ITEM, item.id)
    store.set_state(ASKED_AT, minutes(context.now()))
    store.set_state(ASKED_SESSION, session_id)


def just_asked(context: SkillContext) -> Scheduled | None:
    """The follow-up asked within ``QUIET`` (the conversation it was asked in), if any."""
    store = context.store
    at = store.state(ASKED_AT)
    if not at or minutes(context.now()) - at >= QUIET.total_seconds() // 60:
        return None
    return own(context, store.state(ASKED_ITEM))


def day_words(day: date, today: date) -> str:
    """ "today", "yesterday", "on Thursday", "on 3 March"."""
    ago = (today - day).days
    if ago == 0:
        return "today"
    if ago == 1:
        return "yesterday"
    if 1 < ago < 7:
        return f"on {day:%A}"
    return f"on {day.day} {day:%B}"


def when_words(item: Scheduled, today: date) -> str:
    first, last = days(item)
    if first == last:
        return day_words(first, today)
    return f"between {day_words(first, today).removeprefix('on ')} and " + day_words(
        last, today
    ).removeprefix("on ")


def as_json(item: Scheduled, context: SkillContext) -> dict[str, Any]:
    first, last = days(item)
    return {
        "id": item.id,
        "event": item.text,
        "first": str(first),
        "last": str(last),
        "ask_from": item.due_at.astimezone(context.timezone).isoformat(),
        "kind": item.kind,
        "status": STATUS_WORDS[item.status],
        "turn": item.payload.get("turn"),
    }
