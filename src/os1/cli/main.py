"""The ``os1`` command line. Run ``os1 --help``, or read docs/cli.md, generated from it."""

from __future__ import annotations

import click

from os1 import __version__
from os1.cli import db, manage, memory, server, talk, voice
from os1.cli.common import friendly_errors


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="os1")
@click.pass_context
@friendly_errors
def cli(ctx: click.Context) -> None:
    """OS1, a personal AI companion that runs on your own machine.

    With no command, starts a conversation, after the first-run setup if needed.
    Data lives in ~/.os1 (set OS1_HOME to move it).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(talk.chat)


for command in (
    talk.setup,
    talk.chat,
    talk.ask,
    talk.history,
    talk.sleep,
    voice.talk,
    voice.say,
    voice.transcribe_command,
    manage.config_group,
    manage.model_group,
    manage.persona_group,
    memory.memory_group,
    memory.export_command,
    memory.import_command,
    memory.eval_group,
    server.serve,
    server.users_group,
    db.db_group,
):
    cli.add_command(command)


def main() -> None:
    cli()
