"""The load benchmark's users: accounts made in bulk, each with an OS1 that is set up and
holds a few memories of its own (a pet's name, a job, a city), so every turn's recall has
that user's own turns to search, and questions that ask about them.

Seeding writes through OS1's own store and indexing code (``assembly.open_store``,
``Memorizer``), not through the server, so making thousands of users takes minutes, not
hours; the server then reads what it finds, like any other process would.
"""

from __future__ import annotations

import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from os1.domain import Role, UserProfile
from os1.llm.scripted import ScriptedBackend
from os1.memory.storage.codec import now
from os1.mind import assembly
from os1.mind.onboarding import Answers, initial_persona
from os1.options import load as load_options
from os1.server.accounts import open_accounts

PETS = ("dog", "cat", "parrot", "tortoise", "rabbit", "goldfish")
JOBS = ("nurse", "carpenter", "teacher", "pilot", "baker", "architect", "gardener")
CITIES = ("Lisbon", "Osaka", "Denver", "Tallinn", "Accra", "Hobart", "Quito")


def pet_name(user_index: int) -> str:
    """A word only this user ever said: recall must find it in this user's memories."""
    return f"zephyr{user_index:05d}"


def seed_lines(user_index: int, name: str) -> list[tuple[Role, str, str]]:
    rng = random.Random(user_index)
    pet, job, city = rng.choice(PETS), rng.choice(JOBS), rng.choice(CITIES)
    return [
        (Role.USER, name, f"My {pet} is called {pet_name(user_index)} and she snores."),
        (Role.COMPANION, "Samantha", f"{pet_name(user_index)} sounds adorable."),
        (Role.USER, name, f"I work as a {job} in {city}, mostly night shifts."),
        (Role.COMPANION, "Samantha", "Night shifts must change how a city feels."),
    ]


def questions(user_index: int) -> list[str]:
    rng = random.Random(user_index)
    pet = rng.choice(PETS)
    return [
        f"Do you remember what my {pet} is called?",
        "What do I do for work again?",
        "Which city did I say I live in?",
        f"I was thinking about {pet_name(user_index)} today.",
        "Tell me something you find beautiful.",
    ]


def create_accounts(home: Path, environ: dict[str, str], count: int) -> list[tuple[int, str]]:
    """``count`` accounts in one transaction, where the server will look for them (SQLite
    in the home, or ``store.url``'s PostgreSQL): (id, token) each."""
    accounts = open_accounts(load_options({**environ, "OS1_HOME": str(home)}))
    try:
        made = accounts.add_many([f"load{i:05d}" for i in range(count)])
    finally:
        accounts.close()
    return [(account.id, token) for account, token in made]


def _seed_some(home: str, environ: dict[str, str], users: list[tuple[int, int]]) -> int:
    options = load_options({**environ, "OS1_HOME": home})
    for index, user_id in users:
        user_home = Path(home) / "users" / str(user_id)
        store = assembly.open_store(options.for_home(user_home).store, user_id=user_id)
        try:
            name = f"Person{index}"
            answers = Answers(name=name, social="social")
            store.save_profile(UserProfile(name=name, social="social", voice="feminine"))
            store.save_persona(initial_persona("Samantha", answers), "load benchmark seed")
            # An earlier conversation, ended and reflected on: today's turns recall it.
            began = now() - timedelta(days=2)
            session = store.start_session(began)
            for step, (role, speaker, text) in enumerate(seed_lines(index, name)):
                at = began + timedelta(minutes=step)
                store.add_turn(session.id, role, speaker, text, at=at)
            store.end_session(session.id, began + timedelta(minutes=10))
            store.mark_reflected(session.id)
            assembly.memorizer(options.memory, store, [], ScriptedBackend).index()
        finally:
            store.close()
    return len(users)


def seed_users(home: Path, environ: dict[str, str], user_ids: list[int], processes: int) -> None:
    """Set up every user's OS1 with its memories, on ``processes`` processes."""
    indexed = list(enumerate(user_ids))
    chunks = [indexed[i::processes] for i in range(processes)]
    # Spawned, not forked: a forked child would share this process's PostgreSQL pool.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        done = pool.map(_seed_some, [str(home)] * processes, [environ] * processes, chunks)
        assert sum(done) == len(user_ids)


def store_kind(home: Path, environ: dict[str, str], user_id: int) -> str:
    """Which store the users' data is in (the class ``assembly.open_store`` chose)."""
    options = load_options({**environ, "OS1_HOME": str(home)}).for_home(
        home / "users" / str(user_id)
    )
    store = assembly.open_store(options.store, user_id)
    try:
        return type(store).__name__
    finally:
        store.close()
