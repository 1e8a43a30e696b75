"""``os1 followups``: list, off, on and dismiss, on a real SQLite store's agenda."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from os1.domain import Scheduled
from os1.memory.storage.sqlite import SQLiteStore
from os1.mind.skill import SkillContext
from os1.skills.followups import items
from os1.skills.followups.cli import followups
from os1.skills.followups.mentions import find_mentions
from tests.support.reminders import Clock, reminders_context

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/London"))


class Host:
    """What the os1 command line puts in click's context object."""

    def __init__(self, context: SkillContext) -> None:
        self.context = context

    def skill_context(self) -> SkillContext:
        return self.context


@pytest.fixture
def context(store: SQLiteStore) -> SkillContext:
    return reminders_context(store, Clock(NOW))


def run(context: SkillContext, *args: str) -> Any:
    return CliRunner().invoke(followups, list(args), obj=Host(context))


def keep(context: SkillContext, message: str) -> Scheduled:
    [mention] = find_mentions(message, context.now())
    kept = items.add(context, mention, turn_id=7)
    assert kept is not None
    return kept


def test_list_off_on_and_dismiss(context: SkillContext) -> None:
    assert run(context, "list").output.strip() == "Nothing to ask about. (Follow-ups are on.)"
    date = keep(context, "I have a date with Sam on Saturday.")
    keep(context, "I'm signing the divorce papers next week.")
    assert items.add(context, find_mentions("My date is on Saturday.", NOW)[0], 8) is None
    listed = json.loads(run(context, "list", "--json").output)
    assert [(r["event"], r["first"], r["status"], r["turn"]) for r in listed] == [
        ("your date with Sam", "2026-03-14", "to ask", 7),
        ("signing the divorce papers", "2026-03-16", "to ask", 7),
    ]
    assert listed[0]["ask_from"] == "2026-03-15T05:00:00+00:00"
    table = run(context, "list").output
    assert "your date with Sam" in table and "Follow-ups are on." in table

    dismissed = run(context, "dismiss", str(date.id))
    assert dismissed.output.strip() == "I won't ask about your date with Sam."
    again = run(context, "dismiss", str(date.id))
    assert again.exit_code == 1 and f"no follow-up {date.id} still to ask" in again.output

    off = run(context, "off")
    assert off.output.strip() == "Follow-ups are off (1 dismissed)."
    assert items.is_off(context) and items.pending(context) == []
    every = json.loads(run(context, "list", "--json", "--all").output)
    assert [r["status"] for r in every] == ["dismissed", "dismissed"]
    assert run(context, "list").output.strip() == "Nothing to ask about. (Follow-ups are off.)"
    assert run(context, "on").output.strip() == "Follow-ups are on."
    assert not items.is_off(context)
