"""Skills' own schema changes in a SQLite store: each applied once, in its own
transaction, and recorded in ``skill_schema``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from os1.domain import SkillMigration
from os1.memory.storage.codec import now, to_iso

TABLE = """CREATE TABLE IF NOT EXISTS skill_schema (
    skill TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (skill, version))"""


def apply(db: sqlite3.Connection, migrations: Sequence[SkillMigration]) -> list[str]:
    if not migrations:
        return []  # no skill brings any: not even the table is made
    db.execute(TABLE)
    done = {(str(s), int(v)) for s, v in db.execute("SELECT skill, version FROM skill_schema")}
    applied = []
    for step in sorted(migrations, key=lambda m: (m.skill, m.version)):
        if (step.skill, step.version) in done:
            continue
        # executescript commits on its own, so the transaction is in the script; the
        # record of the step commits with it, or neither does.
        mark = (
            "INSERT INTO skill_schema (skill, version, applied_at) VALUES "
            f"({_quote(step.skill)}, {int(step.version)}, {_quote(to_iso(now()))});"
        )
        try:
            db.executescript(f"BEGIN IMMEDIATE;{step.sqlite};{mark}COMMIT;")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        applied.append(f"{step.skill} {step.version}")
    return applied


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
