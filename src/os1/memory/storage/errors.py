"""What a store raises, whichever database holds it."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class StoreBusy(StoreError):
    """Another process holds the database for longer than the busy timeout."""
