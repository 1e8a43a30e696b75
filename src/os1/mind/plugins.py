"""Loading skills: the built-in ones and those installed under the ``os1.skills`` entry
point, through one plugin manager (as simonw/llm loads its default plugins)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from functools import cache
from typing import Any

import pluggy

from os1.mind import hookspecs
from os1.mind.skill import Action, Intent, Job, JobWhen, Migration, Route, SkillContext, Tool

logger = logging.getLogger(__name__)

# Built-in skills, loaded like any plugin.
DEFAULT_SKILLS = (
    "os1.skills.followups",
    "os1.skills.presence",
    "os1.skills.reflection",
    "os1.skills.reminders",
    "os1.skills.recollection",
)
ENTRY_POINT = "os1.skills"


class Skills:
    """Every loaded skill's contributions, flattened and typed."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        hook = manager.hook
        self.intents: list[Intent] = _flat(hook.os1_intents())
        self.tools: list[Tool] = _flat(hook.os1_tools())
        self.actions: dict[tuple[str, str], Action] = {
            (a.skill, a.name): a for a in _flat(hook.os1_actions())
        }
        self.jobs: list[Job] = _flat(hook.os1_jobs())
        self.routes: list[Route] = _flat(hook.os1_routes())
        self.migrations: list[Migration] = _flat(hook.os1_migrations())

    @property
    def names(self) -> list[str]:
        return sorted(self.manager.get_name(p) or "?" for p in self.manager.get_plugins())

    def context(self, context: SkillContext, message: str) -> list[str]:
        lines: list[str] = []
        for found in self.manager.hook.os1_context(context=context, message=message):
            lines.extend(line for line in found if line)
        return lines

    def commands(self) -> list[Any]:
        return _flat(self.manager.hook.os1_commands())

    def jobs_for(self, when: JobWhen, kind: str = "") -> list[Job]:
        return [j for j in self.jobs if j.when is when and (not kind or j.kind == kind)]


def _flat(results: Iterable[list[Any] | None]) -> list[Any]:
    return [item for found in results if found for item in found]


def manager(modules: Iterable[str] = DEFAULT_SKILLS, entry_points: bool = True) -> Skills:
    pm = pluggy.PluginManager("os1")
    pm.add_hookspecs(hookspecs)
    for name in modules:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT)
        except Exception:  # a broken third-party skill must not stop OS1
            logger.exception("loading a skill from the %s entry point failed", ENTRY_POINT)
    return Skills(pm)


@cache
def skills() -> Skills:
    """The skills of this process: built-in and installed, loaded once."""
    return manager()
