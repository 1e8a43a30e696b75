"""Follow-ups through real turns (``TurnRunner``, a scripted model, a clock the test
moves) on real SQLite and PostgreSQL stores: said on a Tuesday, asked once in the first
conversation after it, never twice, one a session, and off when the user says so.

Sessions end as ``os1 sleep`` ends them (``end_session``); the clock is the skill's,
before the wall clock the store writes turns at, so each turn is read as said at the
clock's time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.domain import Persona, ScheduledStatus, ToolCall, UserProfile
from os1.llm.base import estimate_tokens
from os1.llm.scripted import ScriptedBackend, ScriptedToolBackend
from os1.memory.ingest import Memorizer
from os1.memory.recall.retrieval import KeywordRetriever
from os1.memory.stores import Store
from os1.mind import plugins
from os1.mind.companion import Companion
from os1.mind.events import ConfirmationAsked, NoticeDue, Token
from os1.mind.prompting import Budget, PromptBuilder
from os1.mind.skill import SkillContext
from os1.mind.turn import TurnRunner
from os1.skills.followups import items
from tests.support.reminders import Clock

LONDON = ZoneInfo("Europe/London")
TUESDAY = datetime(2026, 3, 10, 10, 0, tzinfo=LONDON)
SKILLS = ("os1.skills.followups", "os1.skills.reminders")


class Talk:
    """Theodore and Samantha on one store, with a clock the test moves."""

    def __init__(
        self,
        store: Store,
        replies: list[str] | None = None,
        backend: ScriptedBackend | None = None,
    ) -> None:
        store.save_profile(UserProfile(name="Theodore"))
        store.save_persona(Persona(name="Samantha", voice="feminine"), "first run")
        self.store = store
        self.clock = Clock(TUESDAY)
        self.backend = backend or ScriptedBackend(replies or ["I'm glad you told me."])
        companion = Companion(
            store,
            self.backend,
            KeywordRetriever(store),
            PromptBuilder(Budget(2048, 64), estimate_tokens),
            memorizer=Memorizer(store, []),
        )
        self.turns = TurnRunner(
            companion,
            plugins.manager(SKILLS, entry_points=False),
            timezone=LONDON,
            clock=self.clock,
        )

    def say(self, text: str) -> tuple[list[str], str]:
        """One turn: the notices it brought, and the reply."""
        found = list(self.turns.run(text))
        notices = [e.text for e in found if isinstance(e, NoticeDue)]
        return notices, "".join(e.text for e in found if isinstance(e, Token))

    def later(self, at: datetime) -> None:
        """The conversation ends; the next one is at ``at``."""
        self.turns.end_session()
        self.clock.now = at

    def context(self) -> SkillContext:
        return self.turns.context()


def test_asked_once_in_the_first_conversation_after_it(any_store: Store) -> None:
    talk = Talk(any_store)
    assert talk.say("I've got a job interview at Harbourside on Thursday.")[0] == []
    [kept] = items.pending(talk.context())
    assert kept.text == "your job interview at Harbourside"
    assert kept.payload["first"] == "2026-03-12"
    assert kept.due_at == datetime(2026, 3, 13, 5, 0, tzinfo=LONDON)
    assert kept.payload["turn"] == any_store.turns()[0].id

    talk.later(TUESDAY + timedelta(days=1, hours=8))  # Wednesday evening
    assert talk.say("Just a quiet evening in.")[0] == []
    talk.later(TUESDAY + timedelta(days=2, hours=10))  # Thursday, 20:00: not yet over
    assert talk.say("Long day.")[0] == []

    talk.later(TUESDAY + timedelta(days=3))  # Friday morning
    notices, _ = talk.say("Morning!")
    assert len(notices) == 1
    assert "how did your job interview at Harbourside go?" in notices[0]
    # The model's prompt that turn knows what was asked, for the answer to come.
    assert "job interview at Harbourside" in talk.backend.prompts[-1].completion
    assert talk.say("It went well, I think.")[0] == []
    [asked] = items.every(talk.context())
    assert asked.status is ScheduledStatus.FIRED

    talk.later(TUESDAY + timedelta(days=4))
    assert talk.say("Hello again.")[0] == []
    assert "Harbourside" not in talk.backend.prompts[-1].completion  # a new conversation
    assert [n.text for n in any_store.agenda.recent_notices()] == notices


def test_one_question_a_session(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I have a date with Sam on Saturday. And my exam is on Monday!")
    talk.clock.now = TUESDAY + timedelta(hours=1)
    talk.say("Also my sister's wedding is on Sunday, I'm so excited.")
    assert sorted(i.text for i in items.pending(talk.context())) == [
        "your date with Sam",
        "your exam",
        "your sister's wedding",
    ]

    talk.later(datetime(2026, 3, 17, 9, 0, tzinfo=LONDON))  # all three are over
    first = talk.say("Hi!")[0]
    assert len(first) == 1
    talk.clock.now += timedelta(hours=4)  # the same conversation, hours on
    assert talk.say("Still here.")[0] == []
    asked = [first[0]]
    for day in (18, 19):
        talk.later(datetime(2026, 3, day, 9, 0, tzinfo=LONDON))
        [notice] = talk.say("Good morning.")[0]
        asked.append(notice)
    assert sorted(asked) == sorted(set(asked))  # three different questions
    assert all(
        any(event in n for n in asked)
        for event in ("your date with Sam", "your exam", "your sister's wedding")
    )
    talk.later(datetime(2026, 3, 20, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []
    assert items.pending(talk.context()) == []


def test_telling_how_it_went_first_leaves_nothing_to_ask(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I've got a job interview at Harbourside on Thursday.")
    talk.later(datetime(2026, 3, 12, 19, 0, tzinfo=LONDON))
    talk.say("The interview went really well!")
    [told] = items.every(talk.context())
    assert told.status is ScheduledStatus.CANCELLED
    talk.later(datetime(2026, 3, 13, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []


def test_turning_them_off_in_words_and_on_again(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I have a date with Sam on Saturday.")
    said = talk.say("Please stop asking me about my plans.")[1]
    assert said.startswith("All right, I won't ask about your plans")
    assert [i.status for i in items.every(talk.context())] == [ScheduledStatus.CANCELLED]
    talk.say("I'm seeing my dad tomorrow.")
    assert items.pending(talk.context()) == []
    talk.later(datetime(2026, 3, 16, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []

    assert talk.say("You can ask me about my plans again.")[1].startswith("I'd love to")
    talk.say("I'm seeing my dad tomorrow.")
    [kept] = items.pending(talk.context())
    assert kept.text == "seeing your dad"
    talk.later(datetime(2026, 3, 18, 9, 0, tzinfo=LONDON))
    [notice] = talk.say("Morning.")[0]
    assert "seeing your dad" in notice


def test_questions_and_the_companions_words_note_nothing(any_store: Store) -> None:
    talk = Talk(any_store, ["You have an interview on Thursday, I'm sure I'll hear all about it."])
    talk.say("Should I go to the interview on Thursday?")
    talk.say("What should I wear to my date on Saturday?")
    talk.say("The date on Saturday went well.")
    assert items.every(talk.context()) == []
    talk.later(datetime(2026, 3, 20, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []


def test_forgetting_the_words_forgets_the_question(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I have a date with Sam on Saturday.")
    any_store.forget_turns([any_store.turns()[0].id])
    talk.later(datetime(2026, 3, 16, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []
    [gone] = items.every(talk.context())
    assert gone.status is ScheduledStatus.CANCELLED


def test_an_old_follow_up_is_dismissed_not_asked(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I have a date with Sam on Saturday.")
    talk.later(datetime(2026, 4, 20, 9, 0, tzinfo=LONDON))  # weeks later
    assert talk.say("I'm back!")[0] == []
    [old] = items.every(talk.context())
    assert old.status is ScheduledStatus.CANCELLED


def test_asked_as_a_chat_opens_counts_for_that_conversation(any_store: Store) -> None:
    """``os1 chat`` (and the server's watcher) gives due notices before the user says
    anything: that question is the conversation's one."""
    talk = Talk(any_store)
    talk.say("I have a date with Sam on Saturday. And my exam is on Monday!")
    talk.later(datetime(2026, 3, 17, 9, 0, tzinfo=LONDON))
    [opening] = [n.text for n in talk.turns.due_notices()]
    assert "your date with Sam" in opening
    assert talk.say("Hi!")[0] == []  # the first turn of the new session: not another
    talk.later(datetime(2026, 3, 18, 9, 0, tzinfo=LONDON))
    [notice] = talk.say("Morning.")[0]
    assert "your exam" in notice


def test_a_capable_model_turns_them_off_after_a_yes(any_store: Store) -> None:
    model = ScriptedToolBackend(["Lovely!", [ToolCall("call_1", "stop_follow_ups", {})], "Done."])
    talk = Talk(any_store, backend=model)
    talk.say("I have a date with Sam on Saturday.")
    found = list(talk.turns.run("Please stop asking me how things went."))
    [asked] = [e for e in found if isinstance(e, ConfirmationAsked)]
    assert asked.question == "Shall I stop asking how your plans went?"
    assert not items.is_off(talk.context())  # nothing before the yes
    assert talk.say("yes")[1].startswith("All right, I won't ask")
    assert items.is_off(talk.context()) and items.pending(talk.context()) == []


def test_a_plan_is_encouraged_once_a_few_days_on(any_store: Store) -> None:
    talk = Talk(any_store)
    talk.say("I really should call my sister. I have a date with Sam on Saturday.")
    kinds = {i.kind: i for i in items.pending(talk.context())}
    assert kinds["nudge"].text == "call your sister"
    assert kinds["nudge"].due_at == datetime(2026, 3, 13, 5, 0, tzinfo=LONDON)
    talk.later(datetime(2026, 3, 13, 9, 0, tzinfo=LONDON))  # Friday: the nudge is due
    [nudge] = talk.say("Morning.")[0]
    assert (
        nudge == "A few days ago you said you'd like to call your sister. Have you had the chance?"
    )
    assert "a plan Theodore mentioned" in talk.backend.prompts[-1].completion
    talk.later(datetime(2026, 3, 15, 9, 0, tzinfo=LONDON))  # Sunday: the date is due
    [date] = talk.say("Morning.")[0]
    assert "your date with Sam" in date
    talk.later(datetime(2026, 3, 16, 9, 0, tzinfo=LONDON))
    assert talk.say("Morning.")[0] == []


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("stop asking me about my plans", "off"),
        ("Please don't ask me how things went", "off"),
        ("turn off follow-ups", "off"),
        ("you can ask me about my plans again", "on"),
        ("switch on the follow ups", "on"),
    ],
)
def test_the_switch_is_one_intent(message: str, intent: str) -> None:
    skills = plugins.manager(entry_points=False)
    matched = [
        (i.skill, i.name) for i in skills.intents if any(p.search(message) for p in i.compiled())
    ]
    assert matched == [("followups", intent)]


@pytest.mark.parametrize(
    "message", ["I have plans on Saturday", "stop the timer", "what are my plans today?"]
)
def test_other_words_are_no_switch(message: str) -> None:
    skills = plugins.manager(entry_points=False)
    assert not [
        i.name
        for i in skills.intents
        if i.skill == "followups" and any(p.search(message) for p in i.compiled())
    ]
