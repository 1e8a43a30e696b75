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
from typing import Any

from starlette.concurrency import run_in_threadpool

from os1.memory.storage.codec import now
from os1.mind.companion import NotSetUp
from os1.mind.events import as_dict
from os1.server.tenancy import Tenant, Tenants

logger = logging.getLogger(__name__)


def due_notices(
    tenant: Tenant, wait: bool = True, only_if_due: bool = False
) -> list[dict[str, Any]]:
    """The notices due for this user, as events, claimed now (run on a thread). Without
    ``wait``, a user busy with a turn is skipped: that turn delivers them itself. With
    ``only_if_due``, one cheap look at the next due time comes first, so a pass over
    thousands of listeners costs one query each (a notice is taken by whoever claims
    its item, at once, so none waits untaken)."""
    if not tenant.lock.acquire(blocking=wait):
        return []
    try:
        if tenant.closed:
            return []
        if only_if_due:
            next_due = tenant.store.agenda.next_due_at()
            if next_due is None or next_due > now():
                return []
        return [as_dict(n) for n in tenant.turns().due_notices()]
    except NotSetUp:  # no one to remind before the first meeting
        return []
    finally:
        tenant.lock.release()


async def deliver_once(tenants: Tenants) -> int:
    """One pass over the accounts listened to in this process; how many notices went out."""
    sent = 0
    for account in tenants.listened():
        tenant = tenants.for_account(account)
        try:
            # Holding the user's lock (on the thread) keeps the tenant open meanwhile.
            events = await run_in_threadpool(due_notices, tenant, False, True)
        except Exception:  # one user's failing store must not stop the others' reminders
            logger.exception("delivering notices for account %s failed", account.id)
            continue
        for event in events:
            tenant.events.publish(event)
        sent += len(events)
    return sent


async def watch(tenants: Tenants, interval_s: float) -> None:
    """``deliver_once`` every ``interval_s``, until cancelled (the app's shutdown)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await deliver_once(tenants)
        except Exception:
            logger.exception("delivering notices failed")
