"""``os1 reminders`` and the /v1/reminders routes, on a real SQLite store and its agenda."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from os1.memory.storage.sqlite import SQLiteStore
from os1.mind.skill import Route, RouteError, SkillContext
from os1.skills.reminders import items
from os1.skills.reminders.cli import reminders
from os1.skills.reminders.routes import routes
from tests.support.reminders import Clock, reminders_context

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=LONDON)


@pytest.fixture
def context(store: SQLiteStore) -> SkillContext:
    return reminders_context(store, Clock(NOW))


class Host:
    """What the os1 command line puts in click's context object."""

    def __init__(self, context: SkillContext) -> None:
        self.context = context

    def skill_context(self) -> SkillContext:
        return self.context


def run(context: SkillContext, *args: str, answer: str | None = None) -> Any:
    return CliRunner().invoke(reminders, list(args), obj=Host(context), input=answer)


def test_cli_add_list_and_cancel(context: SkillContext) -> None:
    assert run(context, "list").output.strip() == "You have no reminders."
    added = run(context, "add", "call", "Amy", "--at", "5pm")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "I'll remind you to call Amy at 5 pm today. (reminder 1)"
    weekly = run(context, "add", "water the plants", "--at", "every Monday at 9")
    assert weekly.exit_code == 0, weekly.output
    listed = json.loads(run(context, "list", "--json").output)
    assert [(r["id"], r["text"], r["due"], r["status"]) for r in listed] == [
        (1, "call Amy", "2027-03-24T17:00:00+00:00", "pending"),
        (2, "water the plants", "2027-03-29T09:00:00+01:00", "pending"),
    ]
    assert listed[1]["recurrence"] == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
    assert listed[1]["timezone"] == "Europe/London"
    table = run(context, "list").output
    assert "call Amy" in table and "every Monday at 9 am" in table

    kept = run(context, "cancel", "1", answer="n\n")
    assert kept.exit_code == 1
    assert "Shall I cancel your reminder to call Amy at 5 pm today?" in kept.output
    assert len(items.pending(context)) == 2
    done = run(context, "cancel", "1", answer="y\n")
    assert done.exit_code == 0
    assert done.output.strip().endswith("I've cancelled your reminder to call Amy.")
    assert run(context, "cancel", "2", "--yes").exit_code == 0
    assert run(context, "list", "--json").output.strip() == "[]"
    everything = json.loads(run(context, "list", "--json", "--all").output)
    assert [r["status"] for r in everything] == ["cancelled", "cancelled"]
    assert "cancelled" in run(context, "list", "--all").output


def test_cli_refuses_bad_input(context: SkillContext) -> None:
    vague = run(context, "add", "call Amy", "--at", "whenever")
    assert vague.exit_code == 2
    assert "I couldn't understand the time 'whenever'" in vague.output
    past = run(context, "add", "call Amy", "--at", "2020-01-01T10:00:00Z")
    assert past.exit_code == 2 and "already passed" in past.output
    empty = run(context, "add", " ", "--at", "5pm")
    assert empty.exit_code == 2 and "needs words" in empty.output
    unknown = run(context, "cancel", "7", "--yes")
    assert unknown.exit_code == 1 and "there is no reminder 7 still to come" in unknown.output
    assert items.pending(context) == []


def route(method: str, path: str) -> Route:
    return next(r for r in routes() if (r.method, r.path) == (method, path))


def test_routes_list_add_and_delete(context: SkillContext) -> None:
    listing, adding = route("GET", "/reminders"), route("POST", "/reminders")
    deleting = route("DELETE", "/reminders/{id}")
    assert adding.status == 201
    assert listing.handle(context, {}, None) == {"reminders": []}
    added = adding.handle(context, {}, {"text": "call my mum", "when": "tomorrow at 8"})
    assert added["text"] == "I'll remind you to call your mum at 8 am tomorrow."
    assert added["reminder"]["due"] == "2027-03-25T08:00:00+00:00"
    assert added["reminder"]["when"] == "at 8 am tomorrow"
    [shown] = listing.handle(context, {}, None)["reminders"]
    assert shown == added["reminder"]
    gone = deleting.handle(context, {"id": str(shown["id"])}, None)
    assert gone["text"] == "I've cancelled your reminder to call your mum."
    assert gone["cancelled"]["status"] == "cancelled"
    assert listing.handle(context, {}, None) == {"reminders": []}
    assert len(listing.handle(context, {"all": "1"}, None)["reminders"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (None, 400, "send a JSON object"),
        (["call Amy"], 400, "send a JSON object"),
        ({"when": "at 5"}, 400, "text is missing"),
        ({"text": "call Amy"}, 400, "when is missing"),
        ({"text": "call Amy", "when": "whenever"}, 400, "couldn't understand the time"),
        ({"text": "call Amy", "when": "2020-01-01T10:00:00Z"}, 400, "already passed"),
    ],
)
def test_adding_bad_input_is_a_400(
    context: SkillContext, body: Any, status: int, message: str
) -> None:
    with pytest.raises(RouteError) as raised:
        route("POST", "/reminders").handle(context, {}, body)
    assert raised.value.status == status
    assert message in raised.value.message
    assert items.pending(context) == []


def test_deleting_bad_or_unknown_ids(context: SkillContext) -> None:
    deleting = route("DELETE", "/reminders/{id}")
    for params, status in [({"id": "abc"}, 400), ({"id": "42"}, 404)]:
        with pytest.raises(RouteError) as raised:
            deleting.handle(context, params, None)
        assert raised.value.status == status
    route("POST", "/reminders").handle(context, {}, {"text": "x", "when": "at 5pm"})
    deleting.handle(context, {"id": "1"}, None)
    with pytest.raises(RouteError) as raised:  # already cancelled
        deleting.handle(context, {"id": "1"}, None)
    assert raised.value.status == 404
