"""The hooks a skill implements (pluggy). Each is optional; each returns a list."""

from __future__ import annotations

from typing import Any

import pluggy

from os1.mind.skill import Action, Intent, Job, Migration, Route, SkillContext, Tool

hookspec = pluggy.HookspecMarker("os1")
hookimpl = pluggy.HookimplMarker("os1")


@hookspec
def os1_context(context: SkillContext, message: str) -> list[str]:  # type: ignore[empty-body]
    """Lines for the prompt: facts the companion should know now ("you have a call at 3")."""


@hookspec
def os1_intents() -> list[Intent]:  # type: ignore[empty-body]
    """Requests handled without the model (small models cannot call tools)."""


@hookspec
def os1_tools() -> list[Tool]:  # type: ignore[empty-body]
    """Tools offered to capable models."""


@hookspec
def os1_actions() -> list[Action]:  # type: ignore[empty-body]
    """Side effects, run only after the user's yes."""


@hookspec
def os1_jobs() -> list[Job]:  # type: ignore[empty-body]
    """Work after a turn, when a session ends, or when a scheduled item falls due."""


@hookspec
def os1_commands() -> list[Any]:  # type: ignore[empty-body]
    """Click commands added to ``os1`` (Any: the mind does not import click)."""


@hookspec
def os1_routes() -> list[Route]:  # type: ignore[empty-body]
    """Server routes, under /v1."""


@hookspec
def os1_migrations() -> list[Migration]:  # type: ignore[empty-body]
    """The skill's own schema changes."""
