"""Which statement answers a memory question: kinds (WordNet), in-laws, names in lower
case, what holds "these days", titles that end no sentence. Made-up sentences, written
for these rules, not taken from any benchmark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from os1.domain import Role, Turn
from os1.memory.storage.codec import replayed_time
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind import assembly
from os1.skills.recollection import evidence, kinds
from os1.skills.recollection.questions import memory_question

needs_wordnet = pytest.mark.skipif(
    kinds.wordnet() is None, reason="WordNet (Debian wordnet-base) is not installed"
)


# What else a life holds: recall ranks among many turns, as it does in a real store.
OTHER_DAYS = [
    "The bus was late again and I missed the start of the meeting.",
    "Made soup with the last of the leeks.",
    "Long walk by the canal, the herons were out.",
    "My knee aches when it rains, which is always.",
    "Finished the crossword for once.",
    "The neighbours are painting their fence green.",
    "I should call the bank about that letter.",
    "Watched an old film, fell asleep halfway.",
    "The market had cheap tomatoes so I bought too many.",
    "Fixed the wobbly shelf in the hall.",
]


def said(store: SQLiteStore, *texts: str) -> list[Turn]:
    """The user's turns, a day apart, after ten other days, stored as a conversation is."""
    at = datetime(2030, 1, 1, 9, tzinfo=UTC)
    turns = []
    with replayed_time(lambda: at):
        session = store.start_session(at)
        for text in [*OTHER_DAYS, *texts]:
            turns.append(store.add_turn(session.id, Role.USER, "Ana", text))
            at += timedelta(days=1)
    return turns


def answer(question: str, store: SQLiteStore) -> str | None:
    """What recall and the evidence tell back, as the recollection intent reads it."""
    asked = memory_question(question)
    assert asked is not None, question
    recalled = assembly.retriever(store, []).recall(asked.text, evidence.CANDIDATES, floor=False)
    found = evidence.find(asked, [r.turn for r in recalled], ["Ana", "Sam"])
    return None if found is None else " ".join(c.text for c in found.clauses)


@needs_wordnet
def test_a_kind_answers_for_the_word_never_said(store: SQLiteStore) -> None:
    said(
        store,
        "Work was long today and the bus was late again.",
        "Mr. Marmalade slept on my keyboard all morning. He's a ginger tabby with no manners.",
        "We walked by the river after dinner.",
    )
    told = answer("What is my cat called?", store)
    assert told is not None and "Marmalade" in told


@needs_wordnet
def test_a_kind_does_not_make_a_dog_a_cat(store: SQLiteStore) -> None:
    said(store, "My neighbour's beagle Rufus barked all night.", "The bakery closed early.")
    assert answer("What is my cat called?", store) is None


def test_an_in_law_is_someone_elses_relation(store: SQLiteStore) -> None:
    said(
        store,
        "My mum phoned from Porto this morning.",
        "Tomas's mother, Irene, is staying with us until Friday. She reorganised the kitchen.",
    )
    told = answer("What's my mother-in-law's name?", store)
    assert told is not None and "Irene" in told and "Porto" not in told


def test_a_name_given_in_words_is_seen_in_lower_case_writing(store: SQLiteStore) -> None:
    said(
        store,
        "work was fine, boss was grumpy",
        "my little brother finally got a hamster lol. tiny and angry. he named it pretzel",
        "rain all day, stayed in",
    )
    told = answer("whats my brothers hamster called", store)
    assert told is not None and "pretzel" in told


def test_a_name_question_without_a_name_in_the_evidence_is_not_answered(store: SQLiteStore) -> None:
    said(store, "My landlord is putting the rent up in May.", "Rain all week in Leeds.")
    assert answer("What's my landlord's name?", store) is None


def test_these_days_tells_what_changed_not_what_was(store: SQLiteStore) -> None:
    said(
        store,
        "Choir rehearsals were all Fauré this spring.",
        "The choir rehearsed the Fauré until June, and now we've started the Brahms.",
    )
    told = answer("What is my choir rehearsing these days?", store)
    assert told is not None and "Brahms" in told and "Fauré" not in told


def test_of_the_latest_turn_its_best_clause(store: SQLiteStore) -> None:
    said(
        store,
        "I drink coffee every morning.",
        "Mornings are slow. I drink green tea every morning now.",
    )
    told = answer("What do I drink in the mornings these days?", store)
    assert told is not None and "green tea" in told


def test_liking_need_not_be_said(store: SQLiteStore) -> None:
    said(store, "Made leek soup again. Leek is the only soup worth making, honestly.")
    told = answer("What kind of soup do I like best?", store)
    assert told is not None and "leek" in told.lower()


def test_these_days_passes_over_what_says_nothing_of_the_question(store: SQLiteStore) -> None:
    said(
        store,
        "Pottery class is on Mondays now.",
        "Pottery on Monday again. How long does clay take to dry? Honestly.",
    )
    told = answer("Which night is pottery class these days?", store)
    assert told is not None and "Monday" in told and "Honestly" not in told


def test_a_title_ends_no_sentence(store: SQLiteStore) -> None:
    turn = said(store, "Dr. Okafor moved to Leeds. Mrs. Reyes took over.")[-1]
    assert [c.text for c in evidence.clauses(turn)] == [
        "Dr. Okafor moved to Leeds.",
        "Mrs. Reyes took over.",
    ]


def test_without_wordnet_nothing_is_a_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OS1_WORDNET", str(tmp_path / "missing"))
    kinds.wordnet.cache_clear()
    kinds._above.cache_clear()
    kinds._kind.cache_clear()
    try:
        assert kinds.wordnet() is None
        assert not kinds.is_kind_of("tabby", "cat")
    finally:
        monkeypatch.delenv("OS1_WORDNET")
        kinds.wordnet.cache_clear()
        kinds._above.cache_clear()
        kinds._kind.cache_clear()


@needs_wordnet
def test_wordnet_kinds() -> None:
    assert kinds.is_kind_of("tabby", "cat")
    assert kinds.is_kind_of("drums", "instrument")  # filed under "musical_instrument"
    assert kinds.is_kind_of("boleros", "music")
    assert kinds.is_kind_of("novel", "book")
    assert not kinds.is_kind_of("dog", "cat")
    assert not kinds.is_kind_of("cat", "cat")
    assert not kinds.is_kind_of("tabby", "thing")  # too general to tell anything
    net = kinds.wordnet()
    assert net is not None and net.lemma("children") == "child" and net.lemma("cats") == "cat"
