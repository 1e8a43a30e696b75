"""Follow-ups: when the user mentions something ahead ("I've got an interview at
Harbourside on Thursday"), the companion asks how it went in the first conversation
after it, once ("How did your interview at Harbourside go?").

- After each turn a job reads the user's newest words (``mentions``: statements only,
  never questions, never the companion's) and keeps a follow-up in the agenda, due the
  morning after the day it happens (``ahead``, in the user's zone, from when it was said).
- When one falls due, the turn that finds it (the user's next words, or the notices
  watcher between turns) runs this skill's due job, which gives the question as a
  notice: a notice reaches the user in every face, where a prompt's instruction would be
  lost on the embedded base model. At most one a session: another due in the same
  session waits for a later one. For a capable model, the prompt of the conversation it
  was asked in gets a line saying what was asked.
- A plan with no day ("I should call my sister") is encouraged once, three days on ("A
  few days ago you said you'd like to call your sister. Have you had the chance?"),
  under the same one-a-session rule.
- Turning them off: "stop asking me about my plans", ``os1 followups off``, or a capable
  model's tool (which asks for a yes). Off dismisses those still to ask.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from functools import cache
from typing import Any

from os1.domain import Role, Scheduled, ScheduledStatus, ToolSpec
from os1.mind.hookspecs import hookimpl
from os1.mind.skill import (
    Action,
    Intent,
    IntentMatch,
    Job,
    JobRun,
    JobWhen,
    Outcome,
    Proposal,
    SkillContext,
    Tool,
)
from os1.mind.templates import fill, load
from os1.skills.followups import items
from os1.skills.followups.mentions import PACKAGE, find_mentions, find_plans, past_mention

logger = logging.getLogger(__name__)
NOTED_AT_MOST = 2  # follow-ups kept from one turn: a list of plans is not a diary
# Asked later than this after it happened, "how did it go?" would come out of nowhere.
STALE = timedelta(days=10)
PAST = re.compile(r"\b(?:went|was|were|had|did|got|gave)\b", re.IGNORECASE)


@cache
def prompts() -> dict[str, Any]:
    return load("followups", PACKAGE)


def reply(name: str) -> str:
    text: str = prompts()["replies"][name]
    return text


def question(item: Scheduled) -> str:
    """ "How did your interview at Harbourside go?", gentler for a heavy day."""
    ask = prompts()["ask"]
    if item.kind == items.NUDGE:
        return fill(ask["nudge"], event=item.text)
    heavy = set(prompts()["mention"]["heavy"])
    if heavy & set(re.findall(r"[a-z]+", item.text.lower())):
        return fill(ask["heavy"], event=item.text)
    return fill(ask["questions"][item.id % len(ask["questions"])], event=item.text)


def note(run: JobRun) -> str | None:
    """After a turn: keep what the user's newest words put ahead, and dismiss what they
    have already told how it went. About 60 µs a turn on SQLite (measured at 4,000
    turns, on words with "was" in them: the turns read, the follow-ups read, the
    patterns); a turn with none of the past words reads only the turns."""
    context = run.context
    store = context.store
    said = [t for t in store.recent_turns(2) if t.role is Role.USER]
    if not said:
        return None
    turn = said[-1]
    # From when it was said: the turn's own time (never later than the skill's clock).
    at = min(turn.created_at, context.now()).astimezone(context.timezone)
    if PAST.search(turn.text):
        for item in items.pending(context):
            first, _ = items.days(item)
            key = str(item.payload.get("key", ""))
            if key and first <= at.date() and past_mention(turn.text, key):
                items.agenda(context).cancel_scheduled(item.id)
    found = [(m, items.KIND) for m in find_mentions(turn.text, at)]
    found += [(m, items.NUDGE) for m in find_plans(turn.text, at)]
    if found and not items.is_off(context):
        for mention, kind in found[:NOTED_AT_MOST]:
            items.add(context, mention, turn.id, kind)
    return None


def ask(run: JobRun) -> str | None:
    """A follow-up fell due: its question, as a notice, unless one was asked in this
    session already (then it waits), follow-ups are off, it is too old to ask, or the
    words it came from were forgotten (then it is dismissed)."""
    item, context = run.item, run.context
    if item is None or item.skill != items.SKILL:
        return None
    agenda = items.agenda(context)
    now = context.now()
    _, last = items.days(item)
    said_in = item.payload.get("turn")
    # The user took back the words it came from (os1 forget): so is the question.
    forgotten = not isinstance(said_in, int) or not context.store.turns_by_ids([said_in])
    if items.is_off(context) or now.date() - last > STALE or forgotten:
        agenda.reschedule(item.id, item.due_at)  # claimed: back to pending, to dismiss it
        agenda.cancel_scheduled(item.id)
        return None
    sessions = context.store.open_sessions()
    session_id = sessions[-1].id if sessions else 0
    if items.asked_lately(context, session_id):
        agenda.reschedule(item.id, now + items.QUIET)  # for a later conversation
        return None
    items.mark_asked(context, item, session_id)
    # Added here rather than returned: the turn would mark a notice claimed after its
    # time "late" ("it was due while OS1 was not running"), and a follow-up is never
    # late, it waits for the user to come back.
    agenda.add_notice(question(item), items.SKILL, now, False, item.id)
    return None


@hookimpl
def os1_context(context: SkillContext, message: str) -> list[str]:
    item = items.just_asked(context)
    if item is None or item.status is not ScheduledStatus.FIRED:
        return []
    when = items.when_words(item, context.now().date())
    line = fill(
        prompts()["ask"]["context_nudge" if item.kind == items.NUDGE else "context"],
        ai=context.persona.name,
        user=context.profile.name,
        when=when,
        question=question(item),
    )
    return [line]


def _switch(on: bool, context: SkillContext) -> str:
    dropped = items.switch(context, on)
    logger.info("follow-ups turned %s (%d dismissed)", "on" if on else "off", dropped)
    return reply("on" if on else "off")


def _off(match: IntentMatch, context: SkillContext) -> Outcome:
    return Outcome(_switch(False, context))


def _on(match: IntentMatch, context: SkillContext) -> Outcome:
    return Outcome(_switch(True, context))


@hookimpl
def os1_intents() -> list[Intent]:
    switch = prompts()["switch"]
    return [
        Intent(items.SKILL, "off", _off, patterns=tuple(switch["off"])),
        Intent(items.SKILL, "on", _on, patterns=tuple(switch["on"])),
    ]


OFF_TOOL = ToolSpec(
    "stop_follow_ups",
    "Stop asking the user how the things they mentioned went (a date, an interview, a "
    "trip). Use only when the user asks you to stop; they are asked to confirm.",
)
ON_TOOL = ToolSpec(
    "start_follow_ups",
    "Ask the user again, now and then, how the things they mentioned went. Use only when "
    "the user asks for it; they are asked to confirm.",
)


def _propose(on: bool) -> Outcome:
    text = reply("ask_on" if on else "ask_off")
    return Outcome(text, Proposal(items.SKILL, "on" if on else "off", {}, text))


@hookimpl
def os1_tools() -> list[Tool]:
    return [
        Tool(items.SKILL, OFF_TOOL, lambda args, context: _propose(False)),
        Tool(items.SKILL, ON_TOOL, lambda args, context: _propose(True)),
    ]


@hookimpl
def os1_actions() -> list[Action]:
    return [
        Action(items.SKILL, "off", lambda args, context: _switch(False, context)),
        Action(items.SKILL, "on", lambda args, context: _switch(True, context)),
    ]


@hookimpl
def os1_jobs() -> list[Job]:
    return [
        Job(items.SKILL, "note", JobWhen.AFTER_TURN, note),
        Job(items.SKILL, "ask", JobWhen.DUE, ask, kind=items.KIND),
        Job(items.SKILL, "encourage", JobWhen.DUE, ask, kind=items.NUDGE),
    ]


@hookimpl
def os1_commands() -> list[Any]:
    from os1.skills.followups.cli import followups  # click, only for the command line

    return [followups]
