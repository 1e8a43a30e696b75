"""A small skill for the server's tests: an intent that asks before it acts, the action
behind it, a due job, routes (one refusing bad input) and a CLI command."""

from __future__ import annotations

from typing import Any

import click

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
    Route,
    RouteError,
    SkillContext,
    command_context,
)

SKILL = "notes"
# What the action did, for the tests to read.
DONE: list[str] = []


def _propose(match: IntentMatch, context: SkillContext) -> Outcome:
    note = match.groups["note"]
    question = f"Shall I delete note {note}?"
    return Outcome(question, Proposal(SKILL, "delete", {"note": note}, question))


def _delete(args: dict[str, Any], context: SkillContext) -> str:
    DONE.append(f"deleted {args['note']}")
    return f"I deleted note {args['note']}."


def _due(run: JobRun) -> str | None:
    assert run.item is not None
    return f"Reminder: {run.item.text}" + (" (late)" if run.late else "")


def _list(context: SkillContext, params: dict[str, str], body: Any) -> Any:
    return {"owner": context.profile.name, "query": params.get("q", ""), "done": DONE}


def _add(context: SkillContext, params: dict[str, str], body: Any) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise RouteError(400, 'send {"text": …}')
    return {"added": body["text"], "id": params["id"]}


@click.command("notes")
def _notes_command() -> None:
    """Show whose notes these are."""
    click.echo(f"notes of {command_context().profile.name}")


@hookimpl
def os1_intents() -> list[Intent]:
    return [Intent(SKILL, "delete", _propose, patterns=(r"^delete note (?P<note>\d+)",))]


@hookimpl
def os1_actions() -> list[Action]:
    return [Action(SKILL, "delete", _delete)]


@hookimpl
def os1_jobs() -> list[Job]:
    return [Job(SKILL, "due", JobWhen.DUE, _due, kind="note")]


@hookimpl
def os1_routes() -> list[Route]:
    return [
        Route(SKILL, "GET", "/notes", _list, "Your notes"),
        Route(SKILL, "POST", "/notes/{id}", _add, "Add a note", 201),
    ]


@hookimpl
def os1_commands() -> list[Any]:
    return [_notes_command]
