"""A small skill for the turn tests: an intent that acts at once, one that proposes a side
effect, the action behind it, a read-only tool and a tool that would act."""

from __future__ import annotations

from typing import Any

from os1.domain import ToolSpec
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

# What the action and the jobs did, for the tests to read.
DONE: list[str] = []


def _wave(match: IntentMatch, context: SkillContext) -> Outcome:
    DONE.append(f"waved at {match.groups['who']}")
    return Outcome(f"I waved at {match.groups['who']}.")


def _propose(match: IntentMatch, context: SkillContext) -> Outcome:
    note = match.groups["note"]
    question = f"Shall I delete note {note}?"
    return Outcome(question, Proposal("fixture", "delete", {"note": note}, question))


def _delete(args: dict[str, Any], context: SkillContext) -> str:
    DONE.append(f"deleted {args['note']}")
    return f"I deleted note {args['note']}."


def _peek(args: dict[str, Any], context: SkillContext) -> Outcome:
    DONE.append("peeked")
    return Outcome('{"notes": [1, 2]}')


def _erase(args: dict[str, Any], context: SkillContext) -> Outcome:
    question = f"Shall I delete note {args.get('note')}?"
    return Outcome(question, Proposal("fixture", "delete", {"note": args.get("note")}, question))


def _after(run: JobRun) -> str | None:
    DONE.append("after turn")
    return None


@hookimpl
def os1_intents() -> list[Intent]:
    return [
        Intent("fixture", "wave", _wave, patterns=(r"\bwave at (?P<who>\w+)",)),
        Intent("fixture", "delete", _propose, patterns=(r"^delete note (?P<note>\d+)",)),
    ]


@hookimpl
def os1_actions() -> list[Action]:
    return [Action("fixture", "delete", _delete)]


@hookimpl
def os1_tools() -> list[Tool]:
    return [
        Tool("fixture", ToolSpec("peek", "List the notes."), _peek),
        Tool(
            "fixture",
            ToolSpec(
                "erase",
                "Delete a note.",
                {"type": "object", "properties": {"note": {"type": "string"}}},
            ),
            _erase,
        ),
    ]


@hookimpl
def os1_jobs() -> list[Job]:
    return [Job("fixture", "after", JobWhen.AFTER_TURN, _after)]
