"""Setting, listing and cancelling reminders by saying so, without the model.

Setting one happens at once: the user asked for it in their own words. Cancelling is a
side effect the user confirms first, so it comes back as a proposal."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from os1.domain import Scheduled
from os1.mind.skill import Intent, IntentMatch, Outcome, Proposal, SkillContext
from os1.mind.templates import fill
from os1.skills.reminders import items
from os1.skills.reminders.requests import Request, cancel_about, prompts, split_request
from os1.skills.reminders.speech import clock, describe, duration_words, join, spoken
from os1.skills.reminders.when import When

SPOKEN_AT_MOST = 5  # a list read aloud stops there: "… and 3 more"


def reply(name: str, **values: str) -> str:
    """A reply from the skill's data file, filled; an empty value leaves no gap."""
    text = fill(prompts()["replies"][name], **values)
    return re.sub(r"\s+([,.!?])", r"\1", " ".join(text.split()))


def _what(request: Request) -> str:
    if request.timer:
        return request.text
    return f"{request.link} {spoken(request.text)}" if request.text else ""


def set_reminder(request: Request, context: SkillContext) -> Outcome:
    """Keep the reminder asked for, or ask for what is missing (nothing is kept then)."""
    now = context.now()
    when = request.when
    if when is None:
        return Outcome(reply("timer_no_time" if request.timer else "no_time", what=_what(request)))
    if not request.text:
        return Outcome(reply("no_text", when=describe(when.due, now)))
    if not when.recurrence and when.due.astimezone(UTC) <= now.astimezone(UTC):
        return Outcome(reply("passed", what=_what(request)))
    item = items.add(context, request.text, when, request.link, request.timer)
    return Outcome(confirmation(item, when, context), data={"reminder": items.as_json(item, now)})


def confirmation(item: Scheduled, when: When | None, context: SkillContext) -> str:
    """ "I'll remind you to call Amy at 5 pm today." """
    now = context.now()
    due = item.due_at.astimezone(context.timezone)
    if items.is_timer(item):
        return reply("timer", what=item.text, time=clock(due))
    if item.recurrence:
        return reply("set_recurring", what=items.what(item), rule=items.when_words(item, now))
    if when is not None and when.delta is not None and when.delta < timedelta(days=1):
        delta = duration_words(when.delta)
        return reply("set_in", what=items.what(item), delta=delta, time=clock(due))
    return reply("set", what=items.what(item), when=describe(due, now))


def listing(context: SkillContext) -> Outcome:
    """ "You have 2 reminders: call Amy at 5 pm today and …" """
    now = context.now()
    found = items.pending(context)
    if not found:
        return Outcome(reply("none"), data={"reminders": []})
    said = [items.listed(i, now) for i in found[:SPOKEN_AT_MOST]]
    if len(found) > SPOKEN_AT_MOST:
        said.append(f"{len(found) - SPOKEN_AT_MOST} more")
    count = "one reminder" if len(found) == 1 else f"{len(found)} reminders"
    return Outcome(
        reply("list", count=count, items=join(said)),
        data={"reminders": [items.as_json(i, now) for i in found]},
    )


def propose_cancel(context: SkillContext, about: str) -> Outcome:
    """A proposal to cancel the reminder ``about`` names, or a question: which one?"""
    now = context.now()
    found = items.matching(context, about)
    if not found:
        if not items.pending(context):
            return Outcome(reply("none"))
        return Outcome(reply("not_found", about=spoken(about) or "that"))
    if len(found) > 1:
        choices = [items.listed(i, now) for i in found[:SPOKEN_AT_MOST]]
        return Outcome(
            reply("which", items=join(choices, "or")), data={"choices": [i.id for i in found]}
        )
    item = found[0]
    question = reply("ask_cancel", subject=items.subject(item), when=items.when_words(item, now))
    proposal = Proposal(items.SKILL, "cancel", {"id": item.id}, question)
    return Outcome(question, proposal, data={"reminder": items.as_json(item, now)})


def _handle_set(match: IntentMatch, context: SkillContext) -> Outcome:
    return set_reminder(split_request(match.text, context.now()), context)


def _handle_list(match: IntentMatch, context: SkillContext) -> Outcome:
    return listing(context)


def _handle_cancel(match: IntentMatch, context: SkillContext) -> Outcome:
    return propose_cancel(context, match.groups.get("about") or cancel_about(match.text))


def intents() -> list[Intent]:
    handlers = {"set": _handle_set, "list": _handle_list, "cancel": _handle_cancel}
    return [
        Intent(
            items.SKILL,
            name,
            handle,
            patterns=tuple(prompts()[name]["patterns"]),
            examples=tuple(prompts()[name]["examples"]),
        )
        for name, handle in handlers.items()
    ]
