"""Plain data shared by every layer. No I/O lives here."""

from os1.domain.models import (
    ChatMessage,
    JournalEntry,
    Persona,
    Prompt,
    Role,
    Session,
    Turn,
    TurnStatus,
    UserProfile,
)

__all__ = [
    "ChatMessage",
    "JournalEntry",
    "Persona",
    "Prompt",
    "Role",
    "Session",
    "Turn",
    "TurnStatus",
    "UserProfile",
]
