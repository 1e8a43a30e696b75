"""Skills' own schema changes in a PostgreSQL database: once per database (every user's
rows share its tables), under an advisory lock so that servers starting at once apply
each step once, recorded in ``os1_skill_schema``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from os1.domain import SkillMigration
from os1.memory.storage.postgres.migrations import MIGRATION_LOCK

# pg_advisory_xact_lock(class, key): the class of OS1's own migrations, another key.
SKILL_MIGRATION_LOCK = (MIGRATION_LOCK[0], 1)


def apply(conn: psycopg.Connection[Any], migrations: Sequence[SkillMigration]) -> list[str]:
    if not migrations:
        return []
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", SKILL_MIGRATION_LOCK)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS os1_skill_schema (skill text NOT NULL, "
            "version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
            "PRIMARY KEY (skill, version))"
        )
        done = {
            (str(s), int(v)) for s, v in conn.execute("SELECT skill, version FROM os1_skill_schema")
        }
        for step in sorted(migrations, key=lambda m: (m.skill, m.version)):
            if (step.skill, step.version) in done:
                continue
            conn.execute(step.postgres.encode())
            conn.execute(
                "INSERT INTO os1_skill_schema (skill, version) VALUES (%s, %s)",
                (step.skill, step.version),
            )
            applied.append(f"{step.skill} {step.version}")
    return applied
