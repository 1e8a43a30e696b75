"""The ``os1`` command line. Run ``os1 --help``, or read docs/cli.md, generated from it."""

from __future__ import annotations

import click

from os1 import __version__
from os1.cli import db, evaluation, manage, memory, server, talk, voice
from os1.cli.common import friendly_errors, runtime
from os1.mind import plugins


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
    elif ctx.invoked_subcommand in SKILL_COMMANDS:
        # A skill's command finds the person's world through click's root object
        # (os1.mind.skill.command_context): it must be the Runtime.
        runtime(ctx)


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
    evaluation.eval_group,
    server.serve,
    server.users_group,
    db.db_group,
):
    cli.add_command(command)


def _friendly(command: click.Command) -> click.Command:
    """A skill's command, and its subcommands, fail like the others: one clear line."""
    if command.callback is not None:
        command.callback = friendly_errors(command.callback)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _friendly(sub)
    return command


# Commands the installed skills add (os1 reminders …), after the built-in ones: a skill
# cannot replace a built-in command.
SKILL_COMMANDS: set[str] = set()
for command in plugins.skills().commands():
    if isinstance(command, click.Command) and command.name and command.name not in cli.commands:
        cli.add_command(_friendly(command))
        SKILL_COMMANDS.add(command.name)


def main() -> None:
    cli()
