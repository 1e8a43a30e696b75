"""What a skill brings to a store: its own schema changes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SkillMigration:
    """A skill's own schema change, numbered per skill, applied once per database, in
    order of ``version``. ``sqlite`` runs in each person's SQLite file; ``postgres`` once
    in a PostgreSQL database, whose tables then hold every user's rows (key them by
    ``user_id``, as OS1's own tables are)."""

    skill: str
    version: int
    sqlite: str
    postgres: str
