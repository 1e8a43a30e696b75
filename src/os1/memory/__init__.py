"""Where OS1 keeps what happened: turns, sessions, the profile, persona versions, memories."""

from os1.memory.recall.retrieval import KeywordRetriever, Recollection, Retriever
from os1.memory.storage.errors import StoreBusy, StoreError
from os1.memory.storage.sqlite import SQLiteStore

__all__ = [
    "KeywordRetriever",
    "Recollection",
    "Retriever",
    "SQLiteStore",
    "StoreBusy",
    "StoreError",
]
