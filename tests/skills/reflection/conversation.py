"""Made-up sessions for the reflection tests, written for them (no benchmark data), and
a check that text is made of complete sentences."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from os1.domain import Persona, Role, UserProfile
from os1.memory.extraction import importance
from os1.memory.ingest import Memorizer
from os1.memory.stores import Store

USER = "Marisol"
COMPANION = "Wren"
T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)

# One evening's talk: statements, questions to the companion, a vocative, a request.
EVENING = [
    (USER, "Hi Wren! I had such a long day."),
    (COMPANION, "Oh no, what happened?"),
    (USER, "My brother Tomas called this morning. He's moving to Lisbon in March for a new job."),
    (COMPANION, "That's big news. How do you feel about it?"),
    (
        USER,
        "Honestly I'm happy for him, but I'm going to miss him a lot. "
        "We've never lived more than an hour apart.",
    ),
    (COMPANION, "That makes sense. You two sound close."),
    (USER, "Do you remember what I told you about my pottery class?"),
    (COMPANION, "You said you had just started one."),
    (
        USER,
        "Yes! I finished my first bowl in pottery class tonight. "
        "The pottery teacher said the glaze came out beautifully.",
    ),
    (USER, "What should I name it?"),
    (COMPANION, "Maybe something that reminds you of tonight."),
    (
        USER,
        "Also my manager wants me to lead the spring launch and "
        "I'm nervous about presenting to the whole team",
    ),
    (USER, "Remind me to call Tomas on Sunday."),
]

# A week later: pottery again, the companion's name again, and the same kind of question.
LATER = [
    (USER, "Wren, the kiln at the pottery studio broke again."),
    (COMPANION, "Oh no! Was your bowl inside?"),
    (USER, "No, my bowl is safe. Tomas sent me photos of his flat in Lisbon."),
    (USER, "Do you remember the name of my pottery teacher?"),
    (COMPANION, "I don't think you told me."),
]

# Only questions and greetings: nothing stated.
ASKING = [
    (USER, "Hello Wren."),
    (COMPANION, "Hi Marisol."),
    (USER, "What do you remember about me?"),
    (COMPANION, "A little."),
    (USER, "Where do you keep your memories?"),
]


def set_up(store: Store) -> None:
    store.save_profile(UserProfile(name=USER))
    store.save_persona(Persona(name=COMPANION, voice="feminine"), "first run")


def record(store: Store, lines: list[tuple[str, str]], week: int = 0) -> int:
    """Store a session of these lines, ended, with its facts extracted; its id."""
    start = T0 + timedelta(weeks=week)
    session = store.start_session(at=start)
    for i, (speaker, text) in enumerate(lines):
        role = Role.USER if speaker == USER else Role.COMPANION
        at = start + timedelta(minutes=i)
        store.add_turn(session.id, role, speaker, text, at=at, importance=importance(text))
    store.end_session(session.id, at=start + timedelta(hours=1))
    Memorizer(store, []).index()
    return session.id


SENTENCE = re.compile(r"[A-Z][^.!?]*[.!?]")


def assert_complete_sentences(text: str) -> None:
    """Every sentence starts with a capital and ends in . ! or ?, none is a fragment
    ("…and she said:"), and nothing is left after the last one."""
    assert text and text[-1] in ".!?", text
    found = SENTENCE.findall(text)
    assert " ".join(found) == text, text  # nothing outside a sentence
    for sentence in found:
        assert len(sentence.split()) >= 3, sentence
        assert sentence.count('"') % 2 == 0 and ":" not in sentence, sentence
