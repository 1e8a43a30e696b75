"""Reflection and consolidation, as jobs: when a session has ended, the companion
consolidates what was said (summaries, profile, recurring topics) and reflects on it
(a journal entry, a persona that grows). See ``consolidation`` and ``journal``."""

from __future__ import annotations

from os1.mind.hookspecs import hookimpl
from os1.mind.skill import Job, JobRun, JobWhen
from os1.skills.reflection.consolidation import consolidate
from os1.skills.reflection.journal import reflect


def _consolidate(run: JobRun) -> str | None:
    assert run.session_id is not None  # a session-end job always has its session
    consolidate(run.context.store, run.session_id)
    return None


def _reflect(run: JobRun) -> str | None:
    assert run.session_id is not None
    if run.context.model is not None:
        reflect(run.context.store, run.context.model, run.session_id)
    return None


@hookimpl
def os1_jobs() -> list[Job]:
    # Consolidation first: reflection reads the profile it updates.
    return [
        Job("reflection", "consolidate", JobWhen.SESSION_END, _consolidate),
        Job("reflection", "reflect", JobWhen.SESSION_END, _reflect),
    ]
