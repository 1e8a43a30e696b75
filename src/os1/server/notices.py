"""Notices (reminders that fell due) for people who are not in the middle of a turn.

A turn delivers what fell due at its start (``os1.mind.turn``); between turns, each worker
process runs ``watch``: every few seconds, for every account with an open ``/v1/events``
stream or chat socket in this process, it asks the turn owner for due notices and
publishes each as a ``notice`` event on that user's ``EventHub``. Due items are claimed
atomically in the store, so with several workers (or a CLI on the same store) each notice
is given once. An events stream that connects gets the notices pending first, so a
reminder due while the server was stopped arrives, marked late, when the user is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from os1.memory.storage.codec import now
from os1.mind.companion import NotSetUp
from os1.mind.events import as_dict
from os1.server.accounts import Account
from os1.server.tenancy import Tenant, Tenants

logger = logging.getLogger(__name__)


# How long a user's next due time, once read, is trusted. Another process (a CLI on the
# same store, another worker's route) may schedule something sooner meanwhile, and is
# heard within this time (the user's own next turn hears it at once); this process's own
# turns that acted, and its skill routes, make it read again at once. At 8,316 listeners
# a look every pass (5 s) was 1,663 queries and thread hops a second for nothing.
RECHECK_S = 300.0


def due_notices(
    tenant: Tenant, wait: bool = True, only_if_due: bool = False
) -> list[dict[str, Any]]:
    """The notices due for this user, as events, claimed now (run on a thread). Without
    ``wait``, a user busy with a turn is skipped: that turn delivers them itself. With
    ``only_if_due``, a look at the next due time comes first (kept for ``RECHECK_S`` on
    the user's hub), and nothing is claimed before it (a notice is taken by whoever
    claims its item, at once, so none waits untaken)."""
    if not tenant.lock.acquire(blocking=wait):
        return []
    try:
        if tenant.closed:
            return []
        if only_if_due:
            next_due = tenant.store.agenda.next_due_at()
            tenant.events.next_due = (time.monotonic(), next_due)
            if next_due is None or next_due > now():
                return []
        found = [as_dict(n) for n in tenant.turns().due_notices()]
        tenant.events.next_due = None  # claimed: the next one is read again
        return found
    except NotSetUp:  # no one to remind before the first meeting
        return []
    finally:
        tenant.lock.release()


async def deliver_once(tenants: Tenants) -> int:
    """One pass over the accounts listened to in this process; how many notices went out.
    The users whose next due time must be read are looked at in one trip to a thread (a
    trip each cost more than the query)."""
    moment, wall = time.monotonic(), now()
    stale = []
    for account in tenants.listened():
        known = tenants.hub(account).next_due
        fresh = known is not None and moment - known[0] < RECHECK_S
        if known is not None and fresh and (known[1] is None or known[1] > wall):
            continue  # nothing due yet, as far as this process knows
        stale.append(account)
    if not stale:
        return 0
    found = await run_in_threadpool(_look, tenants, stale)
    for tenant, events in found:
        for event in events:
            tenant.events.publish(event)
    return sum(len(events) for _, events in found)


def _look(tenants: Tenants, accounts: list[Account]) -> list[tuple[Tenant, list[dict[str, Any]]]]:
    """For each account, its due notices. A user whose tenant is closed (the process keeps
    only so many open) is looked at through a connection of its own, and the tenant is
    opened only when something is due: at 8,316 listeners and 4,744 open tenants, opening
    them for a look pushed out the ones in use, which then rebuilt on their next turn."""
    found = []
    for account in accounts:
        try:
            tenant = tenants.peek(account)
            if tenant is None:
                next_due = tenants.next_due_at(account)
                tenants.hub(account).next_due = (time.monotonic(), next_due)
                if next_due is None or next_due > now():
                    continue
                tenant = tenants.for_account(account)
            # Holding the user's lock keeps the tenant open meanwhile.
            events = due_notices(tenant, False, True)
        except Exception:  # one user's failing store must not stop the others' reminders
            logger.exception("delivering notices for account %s failed", account.id)
            continue
        if events:
            found.append((tenant, events))
    return found


async def watch(tenants: Tenants, interval_s: float) -> None:
    """``deliver_once`` every ``interval_s``, until cancelled (the app's shutdown)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await deliver_once(tenants)
        except Exception:
            logger.exception("delivering notices failed")
