"""Reminders for capable models (tools) and the side effects the user confirms (actions).

A model's ``set_reminder`` or ``cancel_reminder`` only proposes: what the model read
(a mail, a web page) may have talked it into the call, so the user says yes first. The
``add`` and ``cancel`` actions then do it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from os1.domain import ToolSpec
from os1.mind.skill import Action, Outcome, Proposal, SkillContext, Tool
from os1.skills.reminders import items
from os1.skills.reminders.intents import confirmation, propose_cancel, reply
from os1.skills.reminders.recurrence import Rule, local
from os1.skills.reminders.speech import describe, describe_rule, spoken
from os1.skills.reminders.when import When, parse_when

LIST = ToolSpec(
    "list_reminders",
    "List the user's reminders and timers still to come, soonest first, as JSON.",
    {"type": "object", "properties": {}, "required": []},
)
SET = ToolSpec(
    "set_reminder",
    "Propose a reminder; the user is asked to confirm before it is kept.",
    {
        "type": "object",
        "properties": {
            "text": {
                "type": "string",
                "description": "What to remind the user of, in their words: 'call Amy'.",
            },
            "when": {
                "type": "string",
                "description": "When: natural words ('tomorrow at 8', 'in 20 minutes', "
                "'every Monday at 9') or ISO 8601 ('2027-03-03T17:00:00+00:00').",
            },
        },
        "required": ["text", "when"],
    },
)
CANCEL = ToolSpec(
    "cancel_reminder",
    "Propose cancelling a reminder, by its id or by words from its text; the user is "
    "asked to confirm. Give id or about.",
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "description": "The reminder's id (list_reminders)."},
            "about": {"type": "string", "description": "Words from the reminder: 'Amy'."},
        },
        "required": [],
    },
)


def _list(arguments: dict[str, Any], context: SkillContext) -> Outcome:
    now = context.now()
    found = [items.as_json(i, now) for i in items.pending(context)]
    return Outcome(json.dumps({"reminders": found}), data={"reminders": found})


def _set(arguments: dict[str, Any], context: SkillContext) -> Outcome:
    text = str(arguments.get("text") or "").strip()
    words = str(arguments.get("when") or "").strip()
    if not text or not words:
        return Outcome("Error: set_reminder needs both text and when.")
    now = context.now()
    when = parse_when(words, now)
    if when is None:
        return Outcome(f"Error: could not understand the time {words!r}; ask the user when.")
    if not when.recurrence and when.due.astimezone(UTC) <= now.astimezone(UTC):
        return Outcome(f"Error: {words!r} has already passed; ask the user when.")
    args: dict[str, Any] = {"text": text, "due": when.due.isoformat()}
    if when.recurrence:
        args["recurrence"] = when.recurrence
        said = describe_rule(when.recurrence, context.timezone, first=when.due)
    else:
        said = describe(when.due, now)
    question = reply("ask_set", what=f"to {spoken(text)}", when=said)
    return Outcome(
        f"Proposed; waiting for {context.profile.name}'s answer to: {question}",
        Proposal(items.SKILL, "add", args, question),
    )


def _cancel(arguments: dict[str, Any], context: SkillContext) -> Outcome:
    given = arguments.get("id")
    by_id = isinstance(given, int) and not isinstance(given, bool)
    about = str(given) if by_id else str(arguments.get("about") or "")
    if not about.strip():
        return Outcome("Error: cancel_reminder needs id or about.")
    outcome = propose_cancel(context, about)
    if outcome.proposal is None:
        return Outcome(f"Not proposed: {outcome.text}", data=outcome.data)
    return Outcome(
        f"Proposed; waiting for {context.profile.name}'s answer to: {outcome.text}",
        outcome.proposal,
        outcome.data,
    )


def tools() -> list[Tool]:
    return [
        Tool(items.SKILL, LIST, _list),
        Tool(items.SKILL, SET, _set),
        Tool(items.SKILL, CANCEL, _cancel),
    ]


def due_from(value: object, context: SkillContext) -> datetime:
    """An ISO 8601 time (without an offset: the user's zone); ValueError if it is not."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("due must be an ISO 8601 time, such as 2027-03-03T17:00:00+00:00")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"due is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        return local(moment.date(), moment.time(), context.timezone)
    return moment.astimezone(context.timezone)


def _add_action(args: dict[str, Any], context: SkillContext) -> str:
    text = str(args.get("text") or "").strip()
    if not text:
        raise ValueError("a reminder needs text: what to remind you of")
    due = due_from(args.get("due"), context)
    recurrence = str(args.get("recurrence") or "")
    if recurrence:
        Rule.parse(recurrence)
    link = str(args.get("link") or "to")
    item = items.add(context, text, When(due, recurrence), link, bool(args.get("timer")))
    return confirmation(item, None, context)


def _cancel_action(args: dict[str, Any], context: SkillContext) -> str:
    item_id = args.get("id")
    if not isinstance(item_id, int) or isinstance(item_id, bool):
        raise ValueError("cancel needs the reminder's id (an integer)")
    item = items.cancel(context, item_id)
    if item is None:
        return reply("gone")
    return reply("cancelled", subject=items.subject(item))


def actions() -> list[Action]:
    return [
        Action(items.SKILL, "add", _add_action),
        Action(items.SKILL, "cancel", _cancel_action),
    ]
