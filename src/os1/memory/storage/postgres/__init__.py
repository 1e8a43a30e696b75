"""The PostgreSQL backend: one database for every user, each store scoped to one user.

The only modules besides the server's account store that talk to PostgreSQL (psycopg).
"""

from os1.memory.storage.postgres.database import (
    close_database,
    is_postgres_url,
    redacted,
    upgrade_database,
)
from os1.memory.storage.postgres.migrations import LATEST, upgrade
from os1.memory.storage.postgres.store import PostgresStore

__all__ = [
    "LATEST",
    "PostgresStore",
    "close_database",
    "is_postgres_url",
    "redacted",
    "upgrade",
    "upgrade_database",
]
