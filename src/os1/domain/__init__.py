"""Plain data shared by every layer. No I/O lives here."""

from os1.domain.agenda import (
    Confirmation,
    ConfirmationStatus,
    Notice,
    Scheduled,
    ScheduledStatus,
)
from os1.domain.memories import Fact, Summary
from os1.domain.models import (
    ChatMessage,
    JournalEntry,
    Persona,
    Prompt,
    Role,
    Session,
    ToolCall,
    ToolSpec,
    Turn,
    TurnStatus,
    UserProfile,
)
from os1.domain.skills import SkillMigration

__all__ = [
    "ChatMessage",
    "Confirmation",
    "ConfirmationStatus",
    "Fact",
    "JournalEntry",
    "Notice",
    "Persona",
    "Prompt",
    "Role",
    "Scheduled",
    "ScheduledStatus",
    "Session",
    "SkillMigration",
    "Summary",
    "ToolCall",
    "ToolSpec",
    "Turn",
    "TurnStatus",
    "UserProfile",
]
