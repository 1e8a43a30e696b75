"""Reminders and timers: "remind me to call Amy at five", "set a timer for 10 minutes",
"every Monday at 9", "what are my reminders?", "cancel the one about Amy".

Reminders live in the user's agenda (``store.agenda``) as scheduled items of kind
``reminder``; when one falls due the scheduler runs this skill's due job, which words
the notice and, for a recurring reminder, puts it back at its next time. The pieces:
``when`` (time in words), ``recurrence`` (RRULEs), ``requests`` (what and when),
``speech`` (saying it back), ``items`` (the agenda), ``intents``, ``tools`` (and
actions), ``cli`` and ``routes``.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

from os1.domain import Scheduled
from os1.mind.hookspecs import hookimpl
from os1.mind.skill import Action, Intent, Job, JobRun, JobWhen, Route, SkillContext, Tool
from os1.skills.reminders import items
from os1.skills.reminders.intents import intents, reply
from os1.skills.reminders.recurrence import next_occurrence
from os1.skills.reminders.requests import prompts
from os1.skills.reminders.routes import routes
from os1.skills.reminders.speech import clock_exact, day_name, join, spoken
from os1.skills.reminders.tools import actions, tools

logger = logging.getLogger(__name__)
CONTEXT_AT_MOST = 3


def notice(item: Scheduled, context: SkillContext, late: bool = False) -> str:
    """What to tell the user when ``item`` falls due: "Reminder: call your mum." """
    what = item.text if items.is_timer(item) else spoken(item.text)
    kind = "notice_timer" if items.is_timer(item) else "notice"
    if not late:
        return reply(kind, what=what)
    now = context.now()
    due = item.due_at.astimezone(context.timezone)
    at = clock_exact(due)
    ago = (now.date() - due.date()).days
    if ago == 1:
        at += " yesterday"
    elif ago > 1:
        at += f" on {day_name(due, now)}"
    return reply(f"{kind}_late", what=what, time=at)


def due(run: JobRun) -> str | None:
    """A reminder fell due: its notice; a recurring one goes back to pending at its next
    time (computed from now, so occurrences missed while OS1 was off are skipped)."""
    item = run.item
    if item is None or item.skill != items.SKILL:
        return None
    context = run.context
    if item.recurrence:
        zone = items.zone_of(item, context.timezone)
        try:
            following = next_occurrence(item.recurrence, context.now(), zone, item.due_at)
        except ValueError:
            logger.exception("reminder %s has a recurrence it cannot repeat", item.id)
        else:
            items.agenda(context).reschedule(item.id, following)
    return notice(item, context, run.late)


@cache
def _plans() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in prompts()["context"]["asks"]), re.IGNORECASE)


def asks_about_plans(message: str) -> bool:
    """Does the message talk about reminders, plans or the day?"""
    return _plans().search(message) is not None


@hookimpl
def os1_context(context: SkillContext, message: str) -> list[str]:
    if not asks_about_plans(message):
        return []
    now = context.now()
    upcoming = items.pending(context)[:CONTEXT_AT_MOST]
    if not upcoming:
        return []
    said = [f"{i.text} {items.when_words(i, now)}" for i in upcoming]
    return [reply("context", user=context.profile.name, items=join(said))]


@hookimpl
def os1_intents() -> list[Intent]:
    return intents()


@hookimpl
def os1_tools() -> list[Tool]:
    return tools()


@hookimpl
def os1_actions() -> list[Action]:
    return actions()


@hookimpl
def os1_jobs() -> list[Job]:
    return [Job(items.SKILL, "notice", JobWhen.DUE, due, kind=items.KIND)]


@hookimpl
def os1_commands() -> list[Any]:
    from os1.skills.reminders.cli import reminders  # click, only for the command line

    return [reminders]


@hookimpl
def os1_routes() -> list[Route]:
    return routes()
