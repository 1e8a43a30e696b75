"""Storage: the SQLite and PostgreSQL stores behind the protocols in ``os1.memory.stores``."""
