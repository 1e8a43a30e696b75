"""The user's words retold in the third person: statements only, complete clauses."""

from __future__ import annotations

from os1.memory.storage.sqlite import SQLiteStore
from os1.skills.reflection.retelling import (
    complete_sentences,
    is_question,
    salient,
    sentences,
    statements,
    third_person,
)
from tests.skills.reflection.conversation import COMPANION, EVENING, USER, record, set_up


def test_first_person_becomes_third_person() -> None:
    assert third_person("I'm nervous about my talk") == "they're nervous about their talk"
    assert third_person("I am tired and I was late") == "they are tired and they were late"
    assert third_person("I really was happy for him") == "they really were happy for him"
    assert (
        third_person("My boss told me I wasn't ready") == "their boss told them they weren't ready"
    )
    assert third_person("Amy and I went hiking") == "they and Amy went hiking"
    assert third_person("my sister and I cooked for ourselves") == (
        "they and their sister cooked for themselves"
    )
    assert third_person("We moved to the US with our dog") == "they moved to the US with their dog"
    assert third_person("i've been busy, it's mine") == "they've been busy, it's theirs"
    assert third_person("Me and my dad went fishing") == "they and their dad went fishing"
    assert third_person("my roommate and i cooked") == "they and their roommate cooked"
    assert third_person("I guess I just miss home") == "they just miss home"


def test_questions_are_told_apart_from_statements() -> None:
    for question in ("Do you remember my sister?", "what did I say yesterday", "Is it late"):
        assert is_question(question), question
    for statement in ("I did it.", "No, it did not hurt.", "Whatever happens, I'm ready."):
        assert not is_question(statement), statement


def test_sentences_split_but_not_after_titles() -> None:
    assert sentences("I saw Dr. Patel today. It went well!\nThen home") == [
        "I saw Dr. Patel today.",
        "It went well!",
        "Then home",
    ]


def test_model_text_is_kept_up_to_its_last_complete_sentence() -> None:
    assert complete_sentences("I felt glad. We talked about Tomas and she said:") == "I felt glad."
    assert complete_sentences('She told me "it is over. And then') == ""
    assert complete_sentences('"I felt calm today."') == "I felt calm today."
    assert complete_sentences("One. Two. Three. Four. Five.", limit=2) == ""  # too short
    many = "I felt glad. I felt calm. I felt warm."
    assert complete_sentences(many, limit=2) == "I felt glad. I felt calm."


def test_statements_leave_out_questions_requests_and_the_companion(store: SQLiteStore) -> None:
    set_up(store)
    session = record(store, EVENING)
    found = statements(store.turns(session), COMPANION, USER)
    told = [s.text for s in found]
    assert "their brother Tomas called this morning" in told
    assert "they're happy for him, but they're going to miss him a lot" in told
    assert any(t.startswith("their manager wants them to lead the spring launch") for t in told)
    for text in told:
        assert "?" not in text and COMPANION not in text
        assert not {"i", "my", "me", "i'm", "we"} & {w.lower() for w in text.split()}
    said = {t.text for t in store.turns(session) if t.speaker == COMPANION}
    assert not any(s.said in said for s in found)  # the companion's replies are not retold
    assert not any("remind" in t.lower() or "name it" in t for t in told)
    picked = salient(found, 3)
    assert len(picked) == 3 and [p.turn_id for p in picked] == sorted(p.turn_id for p in picked)


def test_a_long_sentence_is_cut_only_between_clauses(store: SQLiteStore) -> None:
    set_up(store)
    long = (
        "We drove for nine hours through the mountains and the rain was so heavy that we had "
        "to stop twice, but the cabin was worth it and I slept for ten hours straight."
    )
    rambling = " ".join(["I kept thinking about the old house on the hill"] * 4) + "."
    session = record(store, [(USER, long), (USER, rambling)])
    told = [s.text for s in statements(store.turns(session), COMPANION, USER)]
    assert told == [
        "they drove for nine hours through the mountains and the rain was so heavy that they "
        "had to stop twice",
        "the cabin was worth it",
        "they slept for ten hours straight",
    ]  # the rambling sentence has no clause short enough: left out, not cut
