"""The agenda (``Store.agenda``): scheduled items, notices and confirmations, on SQLite and
on PostgreSQL, and its promises under several processes at once: a due item is claimed by
exactly one claimer, a confirmation is answered once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from os1.config import load
from os1.domain import ConfirmationStatus, Role, ScheduledStatus
from os1.memory import agenda_records, exporting, transfer
from os1.memory.storage.postgres import PostgresStore, close_database, upgrade
from os1.memory.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from os1.memory.stores import Store
from tests.support.postgres import PostgresDatabases

OpenStore = Callable[[], Store]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(any_store: Store) -> Store:
    """The tests that take ``store`` run on SQLite and on PostgreSQL."""
    return any_store


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, home: Path) -> Iterator[OpenStore]:
    """Opens another store (another connection) onto the same database and user, as
    another process would."""
    opened: list[Store] = []

    def new() -> Store:
        if request.param == "sqlite":
            made: Store = SQLiteStore(load().db_path)
        else:
            made = PostgresStore(request.getfixturevalue("postgres_url"), user_id=1)
        opened.append(made)
        return made

    yield new
    for made in opened:
        made.close()


def test_schedule_list_cancel_and_reschedule(store: Store) -> None:
    agenda = store.agenda
    later = agenda.schedule("reminders", "reminder", "Call Amy", T0 + timedelta(hours=2))
    sooner = agenda.schedule(
        "calendar", "warning", "Meeting in 10 minutes", T0, payload={"event": "e1", "n": [1, 2]}
    )
    assert later.id != sooner.id and later.status is ScheduledStatus.PENDING
    assert [i.id for i in agenda.scheduled_items()] == [sooner.id, later.id]  # by due time
    assert [i.id for i in agenda.scheduled_items(skill="reminders")] == [later.id]
    assert agenda.get_scheduled(sooner.id) == sooner
    assert agenda.next_due_at() == T0

    cancelled = agenda.cancel_scheduled(sooner.id)
    assert cancelled is not None and cancelled.status is ScheduledStatus.CANCELLED
    assert agenda.cancel_scheduled(sooner.id) is None  # only a pending item
    assert agenda.reschedule(sooner.id, T0 + timedelta(days=1)) is None  # stays cancelled
    assert [i.id for i in agenda.scheduled_items()] == [later.id]
    assert agenda.next_due_at() == later.due_at
    everything = (ScheduledStatus.PENDING, ScheduledStatus.CANCELLED)
    assert [i.id for i in agenda.scheduled_items(statuses=everything)] == [sooner.id, later.id]

    # A recurring item fires, then goes back to pending at its next occurrence.
    weekly = agenda.schedule(
        "reminders", "reminder", "Stand-up", T0, recurrence="FREQ=WEEKLY", timezone="Europe/Paris"
    )
    assert [i.id for i in agenda.claim_due(T0)] == [weekly.id]
    assert agenda.claim_due(T0) == []
    fired = agenda.get_scheduled(weekly.id)
    assert fired is not None and fired.status is ScheduledStatus.FIRED and fired.fired_at == T0
    moved = agenda.reschedule(weekly.id, T0 + timedelta(weeks=1))
    assert moved is not None and moved.status is ScheduledStatus.PENDING
    assert moved.due_at == T0 + timedelta(weeks=1)
    assert (moved.recurrence, moved.timezone) == ("FREQ=WEEKLY", "Europe/Paris")
    assert [i.id for i in agenda.claim_due(T0 + timedelta(days=6))] == [later.id]
    assert agenda.reschedule(999, T0) is None and agenda.get_scheduled(999) is None


def test_claim_due_takes_only_what_is_due_soonest_first(store: Store) -> None:
    agenda = store.agenda
    due = [agenda.schedule("s", "k", f"item {n}", T0 - timedelta(minutes=n)) for n in range(5)]
    future = agenda.schedule("s", "k", "not yet", T0 + timedelta(seconds=1))
    first = agenda.claim_due(T0, limit=3)
    assert [i.id for i in first] == [due[4].id, due[3].id, due[2].id]
    assert all(i.status is ScheduledStatus.FIRED and i.fired_at == T0 for i in first)
    assert [i.id for i in agenda.claim_due(T0)] == [due[1].id, due[0].id]
    assert agenda.claim_due(T0) == [] and agenda.next_due_at() == future.due_at
    assert [i.id for i in agenda.claim_due(future.due_at)] == [future.id]
    assert agenda.next_due_at() is None


def test_each_due_item_is_claimed_by_exactly_one_of_several_claimers(
    open_store: OpenStore,
) -> None:
    writer = open_store()
    ids = {
        writer.agenda.schedule("s", "k", f"{n}", T0 - timedelta(seconds=n)).id for n in range(200)
    }
    writer.agenda.schedule("s", "k", "later", T0 + timedelta(hours=1))
    claimers = [open_store() for _ in range(4)]
    start = threading.Barrier(len(claimers))
    claimed: list[list[int]] = [[] for _ in claimers]
    errors: list[BaseException] = []

    def claim(index: int) -> None:
        store = claimers[index]
        try:
            with store.one_connection():  # PostgreSQL: this thread's own connection
                start.wait()
                while batch := store.agenda.claim_due(T0, limit=7):
                    claimed[index] += [item.id for item in batch]
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [item for batch in claimed for item in batch]
    assert sorted(every) == sorted(ids)  # every due item once, none twice, none not due
    assert [i.text for i in writer.agenda.scheduled_items()] == ["later"]


def test_a_confirmation_answered_twice_runs_once(open_store: OpenStore) -> None:
    agenda = open_store().agenda
    asked = agenda.ask_confirmation(
        "calendar", "cancel_event", {"event": "e1"}, "Shall I cancel lunch with Amy?"
    )
    assert agenda.waiting_confirmation() == asked and asked.status is ConfirmationStatus.WAITING
    answerers = [open_store() for _ in range(6)]
    start = threading.Barrier(len(answerers))
    answers: list[object] = []

    def answer(store: Store) -> None:
        start.wait()
        answers.append(store.agenda.answer_confirmation(asked.id, ConfirmationStatus.CONFIRMED))

    threads = [threading.Thread(target=answer, args=(s,)) for s in answerers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [a for a in answers if a is not None]
    assert len(answers) == 6 and len(won) == 1  # so the action runs once
    assert agenda.answer_confirmation(asked.id, ConfirmationStatus.DECLINED) is None
    agenda.set_confirmation_result(asked.id, "cancelled")
    done = agenda.get_confirmation(asked.id)
    assert done is not None and done.status is ConfirmationStatus.CONFIRMED
    assert done.answered_at is not None and done.answered_at >= asked.asked_at
    assert done.result == "cancelled" and done.args == {"event": "e1"}
    assert agenda.waiting_confirmation() is None


def test_a_new_question_expires_the_one_still_waiting(store: Store) -> None:
    agenda = store.agenda
    first = agenda.ask_confirmation("mail", "send", {"to": "amy"}, "Send it?")
    second = agenda.ask_confirmation("mail", "delete", {"id": 3}, "Delete it?")
    assert agenda.waiting_confirmation() == second
    expired = agenda.get_confirmation(first.id)
    assert expired is not None and expired.status is ConfirmationStatus.EXPIRED
    assert agenda.answer_confirmation(first.id, ConfirmationStatus.CONFIRMED) is None
    with pytest.raises(ValueError, match="not waiting"):
        agenda.answer_confirmation(second.id, ConfirmationStatus.WAITING)
    declined = agenda.answer_confirmation(second.id, ConfirmationStatus.DECLINED, "kept it")
    assert declined is not None and declined.result == "kept it"
    assert [c.id for c in agenda.confirmations()] == [first.id, second.id]
    assert agenda.get_confirmation(999) is None


def test_notices_are_delivered_once_oldest_first(store: Store) -> None:
    agenda = store.agenda
    item = agenda.schedule("reminders", "reminder", "Call Amy", T0)
    first = agenda.add_notice("Call Amy", "reminders", due_at=T0, late=True, scheduled_id=item.id)
    second = agenda.add_notice("Lunch in 10 minutes", "calendar")
    third = agenda.add_notice("Your timer is done", "timers")
    assert agenda.pending_notices() == [first, second, third]
    assert agenda.pending_notices(limit=1) == [first]
    assert first.late and first.scheduled_id == item.id and first.due_at == T0

    agenda.mark_delivered([first.id, second.id])
    assert agenda.pending_notices() == [third]
    delivered = {n.id: n.delivered_at for n in agenda.recent_notices()}
    assert delivered[first.id] is not None and delivered[third.id] is None
    agenda.mark_delivered([first.id, third.id])  # the first keeps its first delivery
    again = {n.id: n.delivered_at for n in agenda.recent_notices()}
    assert again[first.id] == delivered[first.id] and again[third.id] is not None
    assert agenda.pending_notices() == [] and agenda.mark_delivered([]) is None
    assert [n.id for n in agenda.recent_notices(limit=2)] == [second.id, third.id]


def test_times_are_timezone_aware_and_bad_input_is_refused(store: Store) -> None:
    agenda = store.agenda
    pacific = timezone(timedelta(hours=-7))
    due = datetime(2026, 3, 1, 17, 30, 15, 123456, tzinfo=pacific)
    item = agenda.schedule("reminders", "reminder", "Dinner", due, payload={"ünï": "cödé"})
    stored = agenda.get_scheduled(item.id)
    assert stored is not None and stored.due_at == due  # the same instant
    assert stored.due_at.utcoffset() == timedelta(0)  # kept in UTC, as every time is
    assert stored.created_at.tzinfo is not None and stored.payload == {"ünï": "cödé"}
    # Claiming at the same instant, written in another zone, finds it due.
    assert [i.id for i in agenda.claim_due(due.astimezone(UTC))] == [item.id]

    with pytest.raises(ValueError, match="timezone-aware"):
        agenda.schedule("reminders", "reminder", "Naive", datetime(2026, 3, 1, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        agenda.claim_due(datetime(2026, 3, 1, 9))
    with pytest.raises(ValueError, match="JSON object"):
        agenda.schedule("s", "k", "list payload", T0, payload=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not JSON"):
        agenda.ask_confirmation("s", "a", {"when": T0}, "Really?")
    assert [i.id for i in agenda.scheduled_items(statuses=tuple(ScheduledStatus))] == [item.id]
    assert agenda.waiting_confirmation() is None  # nothing half-written


def test_erasing_removes_the_agenda(store: Store) -> None:
    agenda = store.agenda
    agenda.schedule("reminders", "reminder", "Call Amy", T0)
    agenda.add_notice("Hello", "reminders")
    agenda.ask_confirmation("mail", "send", {}, "Send it?")
    erased = store.erase()
    assert (erased["scheduled"], erased["notices"], erased["confirmations"]) == (1, 1, 1)
    assert agenda.scheduled_items(statuses=tuple(ScheduledStatus)) == []
    assert agenda.recent_notices() == [] and agenda.confirmations() == []
    assert agenda.next_due_at() is None and agenda.waiting_confirmation() is None


def test_each_postgres_user_has_an_agenda_of_their_own(postgres_url: str) -> None:
    seven, eight = PostgresStore(postgres_url, 7), PostgresStore(postgres_url, 8)
    sevens = seven.agenda.schedule("s", "k", "seven's", T0)
    eights = eight.agenda.schedule("s", "k", "eight's", T0)
    assert sevens.id == eights.id == 1  # numbered per user
    assert [i.text for i in seven.agenda.claim_due(T0)] == ["seven's"]
    assert [i.text for i in eight.agenda.scheduled_items()] == ["eight's"]
    asked = eight.agenda.ask_confirmation("mail", "send", {}, "Send it?")
    assert seven.agenda.answer_confirmation(asked.id, ConfirmationStatus.CONFIRMED) is None
    seven.agenda.add_notice("for seven", "s")
    assert eight.agenda.pending_notices() == []
    seven.erase()
    assert eight.agenda.waiting_confirmation() == asked
    assert [i.text for i in eight.agenda.claim_due(T0)] == ["eight's"]


def test_an_older_sqlite_file_gains_the_agenda(home: Path) -> None:
    path = load().db_path
    old = SQLiteStore(path)
    session = old.start_session()
    old.add_turn(session.id, Role.USER, "Theodore", "Kept across upgrades.")
    old.close()
    # Schema 2 is schema 3 without the agenda's tables.
    with sqlite3.connect(path) as db:
        db.executescript(
            "DROP TABLE scheduled; DROP TABLE notices; DROP TABLE confirmations; "
            "PRAGMA user_version=2;"
        )
    upgraded = SQLiteStore(path)
    assert SCHEMA_VERSION == 3 and upgraded.schema_version == 3
    assert upgraded.turns()[0].text == "Kept across upgrades."
    item = upgraded.agenda.schedule("reminders", "reminder", "Call Amy", T0)
    assert upgraded.agenda.claim_due(T0)[0].id == item.id
    upgraded.close()


def test_a_postgres_database_at_schema_3_gains_the_agenda(
    postgres_databases: PostgresDatabases,
) -> None:
    name, url = postgres_databases.create_empty()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            assert upgrade(conn, target=3) == (0, 3)
        store = PostgresStore(url, 3)  # the first use upgrades
        assert store.schema_version == 4
        item = store.agenda.schedule("reminders", "reminder", "Call Amy", T0)
        assert store.agenda.claim_due(T0)[0].id == item.id
    finally:
        close_database(url)
        postgres_databases.drop(name)


def fill_agenda(store: Store) -> None:
    """An agenda with every status: fired and pending items, a delivered notice of an
    item, an answered and a waiting confirmation."""
    agenda = store.agenda
    fired = agenda.schedule("reminders", "reminder", "Call Amy", T0, payload={"who": "Amy"})
    agenda.schedule(
        "reminders", "reminder", "Stand-up", T0 + timedelta(days=1), recurrence="FREQ=DAILY"
    )
    agenda.claim_due(T0)
    notice = agenda.add_notice("Call Amy", "reminders", due_at=T0, scheduled_id=fired.id)
    agenda.mark_delivered([notice.id])
    agenda.add_notice("Welcome back", "system", late=True)
    done = agenda.ask_confirmation("calendar", "cancel_event", {"event": "e1"}, "Cancel lunch?")
    agenda.answer_confirmation(done.id, ConfirmationStatus.CONFIRMED, "cancelled")
    agenda.ask_confirmation("mail", "send", {"to": ["amy"]}, "Send the draft?")


def test_export_and_import_carry_the_agenda(store: Store, tmp_path: Path) -> None:
    fill_agenda(store)
    first, readable = tmp_path / "a.jsonl", tmp_path / "a.md"
    exporting.export(store, first, readable)
    assert "## Scheduled" in readable.read_text() and "Cancel lunch?" in readable.read_text()
    copy: Store = (
        PostgresStore(store.url, store.user_id + 1)
        if isinstance(store, PostgresStore)
        else SQLiteStore(tmp_path / "copy.db")
    )
    counts = exporting.import_file(copy, first)
    assert (counts["scheduled"], counts["notices"], counts["confirmations"]) == (2, 2, 2)
    second = tmp_path / "b.jsonl"
    exporting.export(copy, second)
    assert first.read_text() == second.read_text()  # every id, status and time kept
    waiting = copy.agenda.waiting_confirmation()
    assert waiting is not None and waiting.args == {"to": ["amy"]}

    # Into a store that holds an agenda already, ids are renumbered, references follow.
    exporting.import_file(copy, first)
    items = sorted(copy.agenda.scheduled_items(statuses=tuple(ScheduledStatus)), key=lambda i: i.id)
    assert [i.id for i in items] == [1, 2, 3, 4] and items[2].text == "Call Amy"
    assert [n.scheduled_id for n in copy.agenda.recent_notices()] == [1, None, 3, None]
    copy.close()


def test_a_move_to_postgres_carries_the_agenda(postgres_url: str, home: Path) -> None:
    local = SQLiteStore(load().db_path)
    fill_agenda(local)
    target = PostgresStore(postgres_url, 5)
    assert transfer.move(local, target).counts["confirmations"] == 2
    assert list(agenda_records.records(target.agenda)) == list(agenda_records.records(local.agenda))
    assert transfer.move(local, target).already  # the counts include the agenda
    local.close()


def test_taking_notices_gives_each_to_one_taker(open_store: OpenStore) -> None:
    """Several workers deliver notices to the same user: each notice reaches the user once."""
    first = open_store()
    for n in range(120):
        first.agenda.add_notice(f"notice {n}", "reminders")
    takers = [open_store() for _ in range(4)]
    taken: list[list[int]] = [[] for _ in takers]

    def take(index: int) -> None:
        while batch := takers[index].agenda.take_pending_notices(limit=7):
            taken[index].extend(n.id for n in batch)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(takers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for found in taken for i in found]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 120
    assert first.agenda.pending_notices() == []
    assert all(n.delivered_at is not None for n in first.agenda.recent_notices(limit=200))


def test_a_skills_own_tables_are_made_once(open_store: OpenStore) -> None:
    from os1.domain import SkillMigration

    steps = [
        SkillMigration(
            "notes",
            2,
            "ALTER TABLE skill_notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE skill_notes ADD COLUMN pinned integer NOT NULL DEFAULT 0",
        ),
        SkillMigration(
            "notes",
            1,
            "CREATE TABLE skill_notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
            "CREATE TABLE skill_notes (user_id integer NOT NULL, id integer NOT NULL, "
            "body text NOT NULL, PRIMARY KEY (user_id, id))",
        ),
    ]
    first, second = open_store(), open_store()
    assert first.apply_skill_migrations(steps) == ["notes 1", "notes 2"]  # in order
    assert second.apply_skill_migrations(steps) == []  # another process: already there
    assert first.apply_skill_migrations([]) == []
    broken = SkillMigration("notes", 3, "NOT SQL AT ALL", "NOT SQL AT ALL")
    with pytest.raises(Exception, match=r"(?i)syntax"):
        first.apply_skill_migrations([*steps, broken])
    # The failed step left no mark: it is tried again next time.
    with pytest.raises(Exception, match=r"(?i)syntax"):
        second.apply_skill_migrations([*steps, broken])
