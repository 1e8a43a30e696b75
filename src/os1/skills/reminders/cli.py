"""``os1 reminders``: list, add and cancel reminders from the command line."""

from __future__ import annotations

import json
from datetime import UTC

import click
from rich.console import Console
from rich.table import Table

from os1.domain import ScheduledStatus
from os1.mind.skill import command_context
from os1.skills.reminders import items
from os1.skills.reminders.intents import confirmation, reply
from os1.skills.reminders.when import parse_when


@click.group("reminders")
def reminders() -> None:
    """Your reminders and timers."""


@reminders.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (due in ISO 8601).")
@click.option("--all", "show_all", is_flag=True, help="Fired and cancelled ones too.")
def list_reminders(as_json: bool, show_all: bool) -> None:
    """The reminders still to come, soonest first."""
    context = command_context()
    now = context.now()
    found = items.every(context) if show_all else items.pending(context)
    if as_json:
        click.echo(json.dumps([items.as_json(i, now) for i in found], indent=2))
        return
    if not found:
        click.echo(reply("none"))
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "when", "reminder", *(["status"] if show_all else [])):
        table.add_column(column)
    for item in found:
        row = [str(item.id), items.when_words(item, now), item.text]
        table.add_row(*row, *([str(item.status)] if show_all else []))
    Console().print(table)


@reminders.command("add")
@click.argument("text", nargs=-1, required=True)
@click.option(
    "--at",
    "at",
    required=True,
    help='When: "tomorrow at 8", "in 20 minutes", "every Monday at 9", or ISO 8601.',
)
def add_reminder(text: tuple[str, ...], at: str) -> None:
    """Add a reminder: os1 reminders add call Amy --at 5pm"""
    context = command_context()
    now = context.now()
    when = parse_when(at, now)
    if when is None:
        raise click.BadParameter(f"I couldn't understand the time {at!r}", param_hint="--at")
    if not when.recurrence and when.due.astimezone(UTC) <= now.astimezone(UTC):
        raise click.BadParameter(f"{at!r} has already passed", param_hint="--at")
    try:
        item = items.add(context, " ".join(text), when)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TEXT") from None
    click.echo(f"{confirmation(item, when, context)} (reminder {item.id})")


@reminders.command("cancel")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--yes", is_flag=True, help="Do not ask first.")
def cancel_reminder(item_id: int, yes: bool) -> None:
    """Cancel a reminder by its id (os1 reminders list shows them)."""
    context = command_context()
    item = items.own(context, item_id)
    if item is None or item.status is not ScheduledStatus.PENDING:
        raise click.ClickException(f"there is no reminder {item_id} still to come")
    if not yes:
        question = reply(
            "ask_cancel", subject=items.subject(item), when=items.when_words(item, context.now())
        )
        click.confirm(question, abort=True)
    cancelled = items.cancel(context, item_id)
    if cancelled is None:
        raise click.ClickException(f"there is no reminder {item_id} still to come")
    click.echo(reply("cancelled", subject=items.subject(cancelled)))
