"""Commands for talking: setup, chat, ask, history, sleep."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from os1.cli.common import console, errors, friendly_errors, print_json, runtime
from os1.cli.runtime import Runtime
from os1.domain import Role, TurnStatus
from os1.llm.base import CancelToken
from os1.mind import onboarding
from os1.mind.companion import Companion, Reply
from os1.mind.onboarding import Answers, OnboardingError


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


def _stream(reply: Reply, name: str, out: Any) -> None:
    """Print the reply as it comes; the name appears with the first word, not before."""
    started = False
    try:
        for piece in reply:
            if not started:
                out.write(f"{name}: ")
                started = True
            out.write(piece)
            out.flush()
    finally:
        reply.close()  # a Ctrl-C while printing still stores what was said
    if not started:
        out.write(f"{name}: …")
    out.write("\n")
    out.flush()


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
        companion = rt.companion()
    user = companion.profile.name
    console.print(Text("Ctrl-C stops a reply. /bye or Ctrl-D ends the conversation.", "dim"))
    try:
        while True:
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
            reply = companion.respond(message)
            try:
                _stream(reply, companion.persona.name, sys.stdout)
            except KeyboardInterrupt:
                sys.stdout.write(" —\n")
                console.print(Text("(stopped)", style="dim"))
            _remember(companion)
    except EOFError:
        console.print()
    _close_session(companion)


def _remember(companion: Companion) -> None:
    """Index the last turns. A Ctrl-C here only postpones it: indexing resumes later."""
    try:
        companion.remember()
    except KeyboardInterrupt:
        console.print(Text("(indexing postponed)", style="dim"))


def _close_session(companion: Companion) -> None:
    companion.end_session()
    try:
        with console.status(f"{companion.persona.name} is reflecting on your conversation…"):
            grown = companion.reflect_pending()
    except KeyboardInterrupt:
        # Everything said is stored; the reflection runs at the next start or os1 sleep.
        console.print(Text("Reflection postponed until next time.", style="dim"))
        return
    if grown:
        console.print(Text(f"{companion.persona.name} wrote in the journal.", style="dim"))


@click.command()
@click.argument("text", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
@friendly_errors
def ask(ctx: click.Context, text: tuple[str, ...], as_json: bool) -> None:
    """Say one thing and print the reply; for scripts."""
    rt = runtime(ctx)
    message = " ".join(text)
    if message == "-":
        message = sys.stdin.read()
    companion = rt.companion()
    reply = companion.respond(message, CancelToken())
    if as_json:
        for _ in reply:
            pass
    else:
        try:
            _stream(reply, companion.persona.name, sys.stdout)
        except KeyboardInterrupt:
            sys.stdout.write("\n")
    if as_json:
        print_json(
            {
                "name": companion.persona.name,
                "reply": reply.text,
                "status": reply.status.value,
                "session_id": reply.user_turn.session_id,
                "user_turn_id": reply.user_turn.id,
                "turn_id": reply.turn.id if reply.turn else None,
                "backend": rt.backend.name,
                "first_token_s": reply.first_token_s,
            }
        )
    # Indexing, and reflecting on a session that ended in silence, wait until after the
    # answer is out.
    companion.remember()
    companion.reflect_pending()
    if reply.status is TurnStatus.FAILED:
        errors.print("os1: the model gave no reply.")
        sys.exit(1)


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
        print_json(
            [
                {
                    "id": t.id,
                    "session_id": t.session_id,
                    "role": t.role.value,
                    "speaker": t.speaker,
                    "text": t.text,
                    "created_at": t.created_at.isoformat(),
                    "status": t.status.value,
                }
                for t in turns
            ]
        )
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
        console.print(Text.assemble((f"{turn.speaker}: ", style), turn.text, (note, "dim")))


@click.command()
@click.pass_context
@friendly_errors
def sleep(ctx: click.Context) -> None:
    """End the current session and reflect on it now."""
    rt = runtime(ctx)
    companion = rt.companion()
    for session in rt.store.open_sessions():
        rt.store.end_session(session.id, rt.store.last_turn_at(session.id))
    _close_session(companion)
