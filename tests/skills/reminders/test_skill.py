"""The reminders skill through the skill API: intents, tools, actions, the due job and
the context line, on a real SQLite store and its agenda."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.domain import Scheduled, ScheduledStatus
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind.plugins import Skills, manager
from os1.mind.skill import IntentMatch, JobRun, JobWhen, Outcome, SkillContext
from os1.skills.reminders import items
from tests.support.reminders import Clock, reminders_context

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=LONDON)  # Wednesday, 10:00 GMT


@pytest.fixture(scope="module")
def skills() -> Skills:
    return manager(entry_points=False)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def context(store: SQLiteStore, clock: Clock) -> SkillContext:
    return reminders_context(store, clock)


def ask(skills: Skills, context: SkillContext, message: str) -> tuple[str, Outcome]:
    """The one reminders intent whose patterns match ``message``, and its outcome."""
    matched = [
        intent
        for intent in skills.intents
        if intent.skill == "reminders" and any(p.search(message) for p in intent.compiled())
    ]
    assert len(matched) == 1, (message, [i.name for i in matched])
    intent = matched[0]
    return intent.name, intent.handle(IntentMatch(intent.name, message, {}, 1.0), context)


def fire(context: SkillContext, item_id: int) -> Scheduled:
    """What the scheduler does when the item falls due: claims it, in the real store."""
    [claimed] = [i for i in context.store.agenda.claim_due(context.now()) if i.id == item_id]
    return claimed


def test_the_skill_loads_with_the_others(skills: Skills) -> None:
    assert "os1.skills.reminders" in skills.names
    assert {i.name for i in skills.intents if i.skill == "reminders"} == {"set", "list", "cancel"}
    assert all(i.examples for i in skills.intents if i.skill == "reminders")
    assert {("reminders", "add"), ("reminders", "cancel")} <= set(skills.actions)
    due_jobs = skills.jobs_for(JobWhen.DUE, "reminder")
    assert [j.name for j in due_jobs] == ["notice"]
    specs = {t.spec.name: t.spec for t in skills.tools if t.skill == "reminders"}
    assert set(specs) == {"list_reminders", "set_reminder", "cancel_reminder"}
    assert specs["set_reminder"].parameters["required"] == ["text", "when"]
    assert {r.method for r in skills.routes if r.skill == "reminders"} == {"GET", "POST", "DELETE"}
    assert "reminders" in [c.name for c in skills.commands()]


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("remind me to cancel the dentist at 5", "set"),
        ("set a reminder to cancel my gym membership tomorrow", "set"),
        ("what time is my reminder to call Amy?", "list"),
        ("remind me what my reminders are", "list"),
        ("don't remind me about the dentist", "cancel"),
        ("cancel all my reminders", "cancel"),
        ("stop the timer", "cancel"),
        ("set a timer for 10 minutes", "set"),
    ],
)
def test_each_request_matches_one_intent(
    skills: Skills, context: SkillContext, message: str, intent: str
) -> None:
    assert ask(skills, context, message)[0] == intent


def test_setting_a_reminder_keeps_it_at_once(skills: Skills, context: SkillContext) -> None:
    name, outcome = ask(skills, context, "remind me to call Amy at five")
    assert name == "set"
    assert outcome.text == "I'll remind you to call Amy at 5 pm today."
    assert outcome.proposal is None
    [item] = items.pending(context)
    assert (item.skill, item.kind, item.text) == ("reminders", "reminder", "call Amy")
    assert item.due_at == datetime(2027, 3, 24, 17, tzinfo=UTC)
    assert item.timezone == "Europe/London"
    assert outcome.data["reminder"]["id"] == item.id


def test_replies_for_each_kind_of_time(skills: Skills, context: SkillContext) -> None:
    said = {
        "remind me in twenty minutes to take the pizza out": (
            "I'll remind you to take the pizza out in 20 minutes, at 10:20 am."
        ),
        "remind me to call my mum tomorrow at 8": (
            "I'll remind you to call your mum at 8 am tomorrow."
        ),
        "remind me every Monday at 9 to water the plants": (
            "I'll remind you to water the plants every Monday at 9 am."
        ),
        "set a timer for 10 minutes": "Your 10-minute timer is set: it goes off at 10:10 am.",
        "remind me about the dentist on Friday at 10": (
            "I'll remind you about the dentist on Friday at 10 am."
        ),
    }
    for message, reply in said.items():
        assert ask(skills, context, message)[1].text == reply
    kept = {i.text: i for i in items.pending(context)}
    assert kept["call my mum"].text == "call my mum"  # the user's words, as said
    assert kept["water the plants"].recurrence == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
    assert kept["10-minute timer"].payload == {"timer": True}
    assert kept["the dentist"].payload == {"link": "about"}


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("remind me to call Amy", "When shall I remind you to call Amy?"),
        ("remind me to call Amy later", "When shall I remind you to call Amy?"),
        ("remind me at 5", "What shall I remind you about at 5 pm today?"),
        ("start a timer", "How long shall I set the timer for?"),
        (
            "remind me today at 9 am to buy milk",
            "That time has already passed. When shall I remind you to buy milk?",
        ),
    ],
)
def test_nothing_is_kept_without_a_time_and_a_text(
    skills: Skills, context: SkillContext, message: str, reply: str
) -> None:
    assert ask(skills, context, message)[1].text == reply
    assert items.pending(context) == []


def test_listing(skills: Skills, context: SkillContext) -> None:
    for message in ("what are my reminders?", "do I have any reminders", "show me my timers"):
        name, outcome = ask(skills, context, message)
        assert (name, outcome.text) == ("list", "You have no reminders.")
    ask(skills, context, "remind me to call Amy at five")
    assert ask(skills, context, "what are my reminders?")[1].text == (
        "You have one reminder: call Amy at 5 pm today."
    )
    ask(skills, context, "remind me every Monday at 9 to water the plants")
    outcome = ask(skills, context, "remind me what my reminders are")[1]
    assert outcome.text == (
        "You have 2 reminders: call Amy at 5 pm today and water the plants every Monday at 9 am."
    )
    assert [r["text"] for r in outcome.data["reminders"]] == ["call Amy", "water the plants"]


def test_cancelling_is_proposed_then_confirmed(skills: Skills, context: SkillContext) -> None:
    ask(skills, context, "remind me to call Amy at five")
    ask(skills, context, "remind me to stretch every weekday at 3")
    for message in ("cancel the one about Amy", "cancel my reminder to call Amy"):
        name, outcome = ask(skills, context, message)
        assert name == "cancel"
        assert outcome.text == "Shall I cancel your reminder to call Amy at 5 pm today?"
        assert outcome.proposal is not None
        assert outcome.proposal.question == outcome.text
        assert (outcome.proposal.skill, outcome.proposal.action) == ("reminders", "cancel")
    assert len(items.pending(context)) == 2  # proposing changed nothing
    proposal = outcome.proposal
    action = skills.actions[(proposal.skill, proposal.action)]
    assert action.run(proposal.args, context) == "I've cancelled your reminder to call Amy."
    assert [i.text for i in items.pending(context)] == ["stretch"]
    assert action.run(proposal.args, context) == "That reminder is already gone."
    outcome = ask(skills, context, "delete the stretching reminder")[1]
    assert outcome.text == "Shall I cancel your reminder to stretch every weekday at 3 pm?"


def test_cancelling_asks_which_when_several_match(skills: Skills, context: SkillContext) -> None:
    ask(skills, context, "remind me to call Amy at five")
    ask(skills, context, "remind me to call Amy's mum tomorrow at 8")
    outcome = ask(skills, context, "cancel my reminder to call Amy")[1]
    assert outcome.proposal is None
    assert outcome.text == (
        "Which one shall I cancel: call Amy at 5 pm today or call Amy's mum at 8 am tomorrow?"
    )
    outcome = ask(skills, context, "cancel the one about her mum")[1]
    assert outcome.proposal is not None and outcome.proposal.args["id"] == 2
    outcome = ask(skills, context, "cancel my 5 pm reminder")[1]
    assert outcome.proposal is not None and outcome.proposal.args["id"] == 1
    assert ask(skills, context, "cancel the one about Bob")[1].text == (
        "I couldn't find a reminder about Bob."
    )


def test_cancelling_with_nothing_to_cancel(skills: Skills, context: SkillContext) -> None:
    assert ask(skills, context, "cancel my reminder")[1].text == "You have no reminders."
    ask(skills, context, "set a timer for 10 minutes")
    outcome = ask(skills, context, "stop the timer")[1]
    assert outcome.text == "Shall I cancel your 10-minute timer at 10:10 am today?"


def tool(skills: Skills, name: str):  # type: ignore[no-untyped-def]
    return next(t for t in skills.tools if t.spec.name == name)


def test_tools_propose_and_actions_do(skills: Skills, context: SkillContext) -> None:
    listed = tool(skills, "list_reminders").call({}, context)
    assert json.loads(listed.text) == {"reminders": []}
    outcome = tool(skills, "set_reminder").call(
        {"text": "call my mum", "when": "tomorrow at 8"}, context
    )
    assert outcome.proposal is not None
    assert outcome.proposal.question == "Shall I remind you to call your mum at 8 am tomorrow?"
    assert outcome.proposal.args == {"text": "call my mum", "due": "2027-03-25T08:00:00+00:00"}
    assert items.pending(context) == []  # a model's call waits for the user's yes
    add = skills.actions[("reminders", "add")]
    assert add.run(outcome.proposal.args, context) == (
        "I'll remind you to call your mum at 8 am tomorrow."
    )
    listed = json.loads(tool(skills, "list_reminders").call({}, context).text)["reminders"]
    assert [(r["text"], r["due"], r["status"]) for r in listed] == [
        ("call my mum", "2027-03-25T08:00:00+00:00", "pending")
    ]
    weekly = tool(skills, "set_reminder").call(
        {"text": "water the plants", "when": "every Monday at 9"}, context
    )
    assert weekly.proposal is not None
    assert weekly.proposal.args["recurrence"] == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
    cancel = tool(skills, "cancel_reminder").call({"id": listed[0]["id"]}, context)
    assert cancel.proposal is not None
    assert (
        cancel.proposal.question
        == "Shall I cancel your reminder to call your mum at 8 am tomorrow?"
    )
    by_words = tool(skills, "cancel_reminder").call({"about": "mum"}, context)
    assert by_words.proposal == cancel.proposal


def test_tool_errors_propose_nothing(skills: Skills, context: SkillContext) -> None:
    set_reminder = tool(skills, "set_reminder")
    for arguments in ({"text": "x", "when": "whenever"}, {"text": "", "when": "at 5"}, {}):
        outcome = set_reminder.call(arguments, context)
        assert outcome.proposal is None
        assert outcome.text.startswith("Error:")
    past = set_reminder.call({"text": "x", "when": "2020-01-01T10:00:00Z"}, context)
    assert past.proposal is None and "already passed" in past.text
    assert tool(skills, "cancel_reminder").call({}, context).text.startswith("Error:")
    assert tool(skills, "cancel_reminder").call({"id": 9}, context).proposal is None


def test_the_add_action_checks_its_arguments(skills: Skills, context: SkillContext) -> None:
    add = skills.actions[("reminders", "add")]
    for args, why in [
        ({"due": "2027-03-25T08:00:00Z"}, "needs text"),
        ({"text": "x", "due": "tomorrow"}, "ISO 8601"),
        ({"text": "x"}, "ISO 8601"),
        ({"text": "x", "due": "2027-03-25T08:00", "recurrence": "FREQ=YEARLY"}, "FREQ"),
    ]:
        with pytest.raises(ValueError, match=why):
            add.run(args, context)
    assert items.pending(context) == []
    with pytest.raises(ValueError, match="integer"):
        skills.actions[("reminders", "cancel")].run({"id": "1"}, context)


def due_job(skills: Skills, item: Scheduled, context: SkillContext, late: bool = False) -> str:
    [job] = skills.jobs_for(JobWhen.DUE, item.kind)
    said = job.run(JobRun(context, item=item, late=late))
    assert said is not None
    return said


def test_a_due_reminder_becomes_a_notice(
    skills: Skills, context: SkillContext, clock: Clock
) -> None:
    ask(skills, context, "remind me to call my mum at five")
    ask(skills, context, "set a timer for 10 minutes")
    timer, mum = items.pending(context)
    clock.now = NOW + timedelta(minutes=10)
    assert due_job(skills, fire(context, timer.id), context) == ("Your 10-minute timer is up.")
    clock.now = datetime(2027, 3, 24, 17, tzinfo=LONDON)
    assert due_job(skills, fire(context, mum.id), context) == "Reminder: call your mum."
    assert items.pending(context) == []  # one-off items stay fired


def test_a_late_notice_says_when_it_was_due(
    skills: Skills, context: SkillContext, clock: Clock
) -> None:
    ask(skills, context, "remind me to call Amy at five")
    [item] = items.pending(context)
    clock.now = datetime(2027, 3, 24, 19, tzinfo=LONDON)
    assert due_job(skills, fire(context, item.id), context, late=True) == (
        "Reminder: call Amy (this was due at 5:00 pm while I was away)."
    )
    clock.now = datetime(2027, 3, 25, 8, tzinfo=LONDON)
    assert due_job(skills, item, context, late=True) == (
        "Reminder: call Amy (this was due at 5:00 pm yesterday while I was away)."
    )


def test_a_recurring_reminder_comes_back_at_its_next_time(
    skills: Skills, context: SkillContext, clock: Clock
) -> None:
    ask(skills, context, "remind me every day at 9 to take my pills")
    [item] = items.pending(context)
    assert item.due_at.astimezone(LONDON) == datetime(2027, 3, 25, 9, tzinfo=LONDON)
    # Fired on the Saturday before the clocks change, and three days later (OS1 was off).
    for fired_at, following in [
        (datetime(2027, 3, 27, 9, tzinfo=LONDON), datetime(2027, 3, 28, 9, tzinfo=LONDON)),
        (datetime(2027, 3, 31, 12, tzinfo=LONDON), datetime(2027, 4, 1, 9, tzinfo=LONDON)),
    ]:
        clock.now = fired_at
        item = fire(context, item.id)
        assert due_job(skills, item, context) == "Reminder: take your pills."
        [item] = items.pending(context)
        assert item.status is ScheduledStatus.PENDING
        assert item.due_at == following.astimezone(UTC)
        assert item.due_at.astimezone(LONDON).hour == 9


def test_the_context_line_lists_the_next_three(skills: Skills, context: SkillContext) -> None:
    assert skills.context(context, "what's on today?") == []  # none yet
    for message in (
        "remind me to call Amy at five",
        "remind me to buy milk tomorrow at 8",
        "remind me every Monday at 9 to water the plants",
        "remind me on 3 April at noon to pay the rent",
    ):
        ask(skills, context, message)
    assert skills.context(context, "what are my plans today?") == [
        "Theodore's next reminders: call Amy at 5 pm today, buy milk at 8 am tomorrow and "
        "water the plants every Monday at 9 am."
    ]
    assert skills.context(context, "I love the sea") == []
