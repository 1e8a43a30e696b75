"""``os1 followups``: what the companion means to ask about, and the switch."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from os1.domain import ScheduledStatus
from os1.mind.skill import command_context
from os1.skills.followups import items


@click.group("followups")
def followups() -> None:
    """Asking how the things you mentioned went (a date, an interview)."""


@followups.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Asked and dismissed ones too.")
def list_followups(as_json: bool, show_all: bool) -> None:
    """The follow-ups still to ask, soonest first."""
    context = command_context()
    found = items.every(context) if show_all else items.pending(context)
    if as_json:
        click.echo(json.dumps([items.as_json(i, context) for i in found], indent=2))
        return
    state = "off" if items.is_off(context) else "on"
    if not found:
        click.echo(f"Nothing to ask about. (Follow-ups are {state}.)")
        return
    today = context.now().date()
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "when", "event", "status"):
        table.add_column(column)
    for item in found:
        status = items.STATUS_WORDS[item.status]
        table.add_row(str(item.id), items.when_words(item, today), item.text, status)
    Console().print(table)
    click.echo(f"Follow-ups are {state}.")


@followups.command("off")
def off() -> None:
    """Stop asking; the follow-ups still to ask are dismissed."""
    dropped = items.switch(command_context(), on=False)
    click.echo(f"Follow-ups are off ({dropped} dismissed).")


@followups.command("on")
def on() -> None:
    """Ask again how the things you mention went."""
    items.switch(command_context(), on=True)
    click.echo("Follow-ups are on.")


@followups.command("dismiss")
@click.argument("item_id", metavar="ID", type=int)
def dismiss(item_id: int) -> None:
    """Never ask about this one (os1 followups list shows the ids)."""
    context = command_context()
    item = items.own(context, item_id)
    if item is None or item.status is not ScheduledStatus.PENDING:
        raise click.ClickException(f"there is no follow-up {item_id} still to ask")
    items.agenda(context).cancel_scheduled(item_id)
    click.echo(f"I won't ask about {item.text}.")
