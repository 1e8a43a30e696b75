"""Commands for talking: setup, chat, ask, history, sleep."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.text import Text

from os1.cli.common import console, errors, friendly_errors, print_error, print_json, runtime
from os1.cli.runtime import Runtime
from os1.domain import Role, TurnStatus
from os1.llm.base import BackendError, preload_in_background
from os1.mind import onboarding
from os1.mind.events import (
    ActionTaken,
    ConfirmationAsked,
    Done,
    Event,
    NoticeDue,
    Token,
    as_dict,
    turn_dict,
)
from os1.mind.onboarding import Answers, OnboardingError
from os1.mind.turn import TurnRunner


def _ask_until_valid(question: str, parse: Any, default: str | None = None) -> Any:
    while True:
        answer = console.input(Text.assemble(("OS1: ", "bold #c0392b"), question, "\n> "))
        if not answer.strip() and default is not None:
            answer = default
        try:
            return parse(answer)
        except OnboardingError as exc:
            console.print(Text(str(exc), style="italic"))


def _interactive_answers() -> Answers:
    parsers = {
        "name": onboarding.clean_user_name,
        "social": onboarding.parse_social,
        "mother": lambda a: " ".join(a.split())[:500],
        "voice": onboarding.parse_voice,
    }
    values = {
        q.key: _ask_until_valid(q.text, parsers[q.key], "feminine" if q.key == "voice" else None)
        for q in onboarding.questions()
    }
    return Answers(**values)


def run_onboarding(rt: Runtime, answers: Answers) -> None:
    with console.status("Thank you. Please wait while I get to know you…"):
        persona, greeting = onboarding.complete(rt.store, rt.backend, rt.builder, answers)
    console.print(Text.assemble((f"{persona.name}: ", "bold #c0392b"), greeting))


@click.command()
@click.option("--name", help="What the OS should call you.")
@click.option("--social", default="", help="Social or anti-social.")
@click.option("--mother", default="", help="Your relationship with your mother, in a few words.")
@click.option(
    "--voice", type=click.Choice(["feminine", "masculine", "neutral"]), help="The OS's voice."
)
@click.option("--yes", is_flag=True, help="Ask nothing; use the options given and defaults.")
@click.pass_context
@friendly_errors
def setup(
    ctx: click.Context, name: str | None, social: str, mother: str, voice: str | None, yes: bool
) -> None:
    """First run: answer a few questions; the OS then chooses its own name."""
    rt = runtime(ctx)
    if yes or name:
        if not name:
            raise OnboardingError("--name is needed with --yes: os1 setup --yes --name YOURNAME")
        answers = Answers(
            name=onboarding.clean_user_name(name),
            social=onboarding.parse_social(social) if social else "",
            mother=" ".join(mother.split())[:500],
            voice=onboarding.parse_voice(voice or "feminine"),
        )
    else:
        answers = _interactive_answers()
    if rt.store.persona() is not None and not yes:
        click.confirm("OS1 is already set up. Start over with a new first meeting?", abort=True)
    run_onboarding(rt, answers)


class Render:
    """Prints a turn's events: the reply as it comes (the name appears with the first
    word, not before), notices in between, and a question when a skill asks for a yes."""

    def __init__(self, name: str, out: Any) -> None:
        self.name = name
        self.out = out
        self.done: Done | None = None
        self.question: ConfirmationAsked | None = None
        self.notices: list[NoticeDue] = []
        self.actions: list[ActionTaken] = []
        self._started = False
        self._ended = False  # this turn's line is written

    def __call__(self, events: Iterator[Event]) -> None:
        self.done, self._ended = None, False
        try:
            for event in events:
                self.event(event)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a Ctrl-C while printing still stores what was said
            self.end_line()

    def event(self, event: Event) -> None:
        if isinstance(event, NoticeDue):
            self.notices.append(event)
            show_notice(event)
        elif isinstance(event, Token):
            if not self._started:
                self.out.write(f"{self.name}: ")
                self._started = True
            self.out.write(event.text)
            self.out.flush()
        elif isinstance(event, ConfirmationAsked):
            self.question = event
        elif isinstance(event, ActionTaken):
            self.actions.append(event)
        elif isinstance(event, Done):
            self.done = event
            self.end_line()

    def end_line(self) -> None:
        """End the reply's line; a turn that said nothing shows "Name: …", once."""
        if self._started:
            self.out.write("\n")
            self.out.flush()
            self._started = False
            self._ended = True
        elif self.done is not None and not self._ended:
            self.out.write(f"{self.name}: …\n")
            self.out.flush()
            self._ended = True


def show_notice(notice: NoticeDue) -> None:
    late = " (late: it was due while OS1 was not running)" if notice.late else ""
    console.print(Text.assemble(("🔔 ", ""), (notice.text, "bold"), (late, "dim")))


def _turn(turns: TurnRunner, text: str, confirmation_id: int | None = None) -> Render:
    render = Render(turns.name, sys.stdout)
    render(turns.run(text, confirmation_id=confirmation_id))
    return render


def _confirm(turns: TurnRunner, asked: ConfirmationAsked) -> None:
    """The one confirmation path, in a terminal: the question was said; ask y/n here."""
    yes = click.confirm(Text(asked.question).plain, default=False)
    _turn(turns, "yes" if yes else "no", asked.id)


@click.command()
@click.pass_context
@friendly_errors
def chat(ctx: click.Context) -> None:
    """Talk with your OS. Ctrl-C stops a reply; Ctrl-D or /bye ends the session."""
    rt = runtime(ctx)
    if rt.store.persona() is None:
        if not sys.stdin.isatty():
            raise OnboardingError("First run needs answers: os1 setup --yes --name YOURNAME")
        run_onboarding(rt, _interactive_answers())
    with console.status("Waking up…"):
        turns = rt.turns()
    preload_in_background(turns.companion.backend)  # while the user types
    user = turns.companion.profile.name
    console.print(Text("Ctrl-C stops a reply. /bye or Ctrl-D ends the conversation.", "dim"))
    try:
        while True:
            for notice in turns.due_notices():  # between turns
                show_notice(notice)
            try:
                message = console.input(Text(f"{user}: ", style="bold"))
            except KeyboardInterrupt:
                # Ctrl-C stops replies, never the conversation: that is /bye or Ctrl-D.
                console.print(
                    Text("\n(nothing to stop; /bye or Ctrl-D ends the conversation)", style="dim")
                )
                continue
            if message.strip().lower() in {"/bye", "/quit", "/exit"}:
                break
            if not message.strip():
                continue
            try:
                render = _turn(turns, message)
                if render.question is not None and sys.stdin.isatty():
                    _confirm(turns, render.question)
            except KeyboardInterrupt:
                sys.stdout.write(" —\n")
                console.print(Text("(stopped)", style="dim"))
            except BackendError as exc:
                # The conversation goes on: the words are stored, marked unanswered, and
                # the next message may find the model back (or on another: os1 model use).
                print_error(exc)
                console.print(Text("(no reply; what you said is kept)", style="dim"))
    except EOFError:
        console.print()
    try:
        _close_session(turns)
    except BackendError as exc:  # the model is still away: the reflection waits for it
        print_error(exc)
        console.print(Text("Reflection postponed until next time.", style="dim"))


def _close_session(turns: TurnRunner) -> None:
    name = turns.name
    try:
        with console.status(f"{name} is reflecting on your conversation…"):
            reflected = turns.end_session()
    except KeyboardInterrupt:
        # Everything said is stored; the reflection runs at the next start or os1 sleep.
        console.print(Text("Reflection postponed until next time.", style="dim"))
        return
    if reflected:
        console.print(Text(f"{turns.name} wrote in the journal.", style="dim"))


@click.command()
@click.argument("text", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--yes", "assume_yes", is_flag=True, help="Answer yes if a skill asks to act.")
@click.pass_context
@friendly_errors
def ask(ctx: click.Context, text: tuple[str, ...], as_json: bool, assume_yes: bool) -> None:
    """Say one thing and print the reply; for scripts.

    If the OS asks before acting ("Shall I cancel …?"), answer with another
    ``os1 ask yes`` (or pass --yes to answer at once)."""
    rt = runtime(ctx)
    message = " ".join(text)
    if message == "-":
        message = sys.stdin.read()
    turns = rt.turns()
    render = Render(turns.name, _Quiet() if as_json else sys.stdout)
    try:
        render(turns.run(message))
        asked = render.question
        if asked is not None and assume_yes:
            render.question = None
            render(turns.run("yes", confirmation_id=asked.id))
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    done = render.done
    if as_json:
        print_json(
            {
                **(as_dict(done) if done is not None else {"type": "done", "status": "failed"}),
                "backend": rt.backend.name,
                "notices": [as_dict(n) for n in render.notices],
                "actions": [as_dict(a) for a in render.actions],
                "confirm": as_dict(render.question) if render.question else None,
            }
        )
    if done is None or done.status == TurnStatus.FAILED:
        errors.print("os1: the model gave no reply.")
        sys.exit(1)


class _Quiet:
    """Where the text goes with --json: nowhere (the JSON says it)."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


@click.command()
@click.option("--limit", default=50, show_default=True, help="How many turns, newest last.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Show the conversation so far, with sessions and times."""
    store = runtime(ctx).store
    turns = store.recent_turns(limit)
    if as_json:
        print_json([turn_dict(t) for t in turns])
        return
    if not turns:
        console.print("No conversation yet. Start one: os1 chat")
        return
    session = None
    for turn in turns:
        if turn.session_id != session:
            session = turn.session_id
            when = turn.created_at.astimezone().strftime("%a %d %b %Y, %H:%M")
            console.rule(Text(f"session {session} · {when}", style="dim"))
        style = "bold #c0392b" if turn.role is Role.COMPANION else "bold"
        note = "" if turn.status is TurnStatus.COMPLETE else f" ({turn.status.value})"
        if turn.role is Role.USER and turn.status is TurnStatus.FAILED:
            note = " (no reply: the model failed)"
        console.print(Text.assemble((f"{turn.speaker}: ", style), turn.text, (note, "dim")))


@click.command()
@click.pass_context
@friendly_errors
def sleep(ctx: click.Context) -> None:
    """End the current session and reflect on it now."""
    rt = runtime(ctx)
    turns = rt.turns()
    for session in rt.store.open_sessions():
        rt.store.end_session(session.id, rt.store.last_turn_at(session.id))
    _close_session(turns)
