"""What the companion derives from turns and keeps: facts and summaries.

Every one names the turns it came from, so forgetting a turn can take them too. A fact
has a validity interval: when a single-valued fact changes ("I moved to Berlin"), the old
one gets ``valid_to`` and a pointer to its successor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Fact:
    id: int
    kind: str
    subject: str
    predicate: str
    value: str
    importance: float
    valid_from: datetime
    valid_to: datetime | None
    superseded_by: int | None
    source_turn_ids: tuple[int, ...]

    @property
    def text(self) -> str:
        return f"{self.subject} {self.predicate}: {self.value}"

    @property
    def current(self) -> bool:
        return self.valid_to is None


@dataclass(frozen=True)
class Summary:
    id: int
    kind: str
    session_id: int | None
    text: str
    created_at: datetime
    source_turn_ids: tuple[int, ...]
