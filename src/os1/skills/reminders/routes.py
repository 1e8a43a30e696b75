"""Reminders over the API (mounted under /v1 by the server): list, add, cancel.

A DELETE counts as confirmed: the web app (or any client) asks the user in its own
dialog before it sends one."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from os1.mind.skill import Route, RouteError, SkillContext
from os1.skills.reminders import items
from os1.skills.reminders.intents import confirmation, reply
from os1.skills.reminders.when import parse_when

TRUE = ("1", "true", "yes")


def _list(context: SkillContext, params: dict[str, str], body: Any) -> Any:
    now = context.now()
    every = params.get("all", "").lower() in TRUE
    found = items.every(context) if every else items.pending(context)
    return {"reminders": [items.as_json(i, now) for i in found]}


def _add(context: SkillContext, params: dict[str, str], body: Any) -> Any:
    if not isinstance(body, dict):
        raise RouteError(400, 'send a JSON object: {"text": "call Amy", "when": "at 5 pm"}')
    text, words = body.get("text"), body.get("when")
    if not isinstance(text, str) or not text.strip():
        raise RouteError(400, "text is missing: what shall I remind you of?")
    if not isinstance(words, str) or not words.strip():
        raise RouteError(400, "when is missing: say when, or give an ISO 8601 time")
    now = context.now()
    when = parse_when(words, now)
    if when is None:
        raise RouteError(400, f"I couldn't understand the time {words!r}")
    if not when.recurrence and when.due.astimezone(UTC) <= now.astimezone(UTC):
        raise RouteError(400, f"{words!r} has already passed")
    item = items.add(context, text, when)
    return {"reminder": items.as_json(item, now), "text": confirmation(item, when, context)}


def _delete(context: SkillContext, params: dict[str, str], body: Any) -> Any:
    raw = params.get("id", "")
    if not raw.isdigit():
        raise RouteError(400, f"a reminder's id is a number, not {raw!r}")
    item = items.cancel(context, int(raw))
    if item is None:
        raise RouteError(404, f"there is no reminder {raw} still to come")
    return {
        "cancelled": items.as_json(item, context.now()),
        "text": reply("cancelled", subject=items.subject(item)),
    }


def routes() -> list[Route]:
    return [
        Route(items.SKILL, "GET", "/reminders", _list, "Your reminders (?all=1: every one)"),
        Route(items.SKILL, "POST", "/reminders", _add, "Add a reminder: {text, when}", 201),
        Route(items.SKILL, "DELETE", "/reminders/{id}", _delete, "Cancel a reminder"),
    ]
