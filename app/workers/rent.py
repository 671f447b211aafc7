"""The rent worker. Once a UTC day, by one worker process of all (the first to mark the day in
`worker_runs`): RENT_DUE notifications and late fees, each a read of what that day makes due
(an indexed date). Every ANJU_RENT_WORKER_INTERVAL_S (less often if a pass is slow:
app/workers/pacing.py): autopay's charges and the payments a crash or a lost answer left
unfinished, each a read of the few that are due (an autopay's `next_run_at`, a payment's
follow-up). An idle pass reads nothing that grows with the city."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from app import metrics
from app.clock import now, today
from app.deps import Deps
from app.services import autopay_charges, late_fees, payment_events, rent_reminders
from app.workers.pacing import Pace

log = logging.getLogger("anju.rent")

DAY_MARK_KEPT = dt.timedelta(days=3)


async def once_today(deps: Deps, name: str, work: Callable[[], Awaitable[object]]) -> None:
    """Today's `name` pass, by this process if it is the first to mark the day. A pass that
    fails gives the day back, so the next pass (of any process) does it again; each pass is
    idempotent (what it did is marked on each invoice). A process that dies half-way keeps
    the day: the next day's window still holds what was missed, and each tenant's own look
    at their notifications tells them too."""
    key = f"{name}:{today().isoformat()}"
    mark = {"_id": key, "at": now(), "expires_at": now() + DAY_MARK_KEPT}
    if not await deps.store.insert_once("worker_runs", mark):
        return
    try:
        await work()
    except Exception:
        await deps.store.worker_runs.delete_one({"_id": key})
        raise


async def _late_fees(deps: Deps) -> None:
    while await late_fees.accrue_due(deps.store) >= late_fees.PASS_LIMIT:
        pass  # more than one pass's worth changed: the rest


async def daily(deps: Deps) -> None:
    """Today's RENT_DUE and late fees, unless another worker process has taken them."""
    await once_today(deps, "rent_due", lambda: rent_reminders.send_rent_due(deps.store))
    await once_today(deps, "late_fees", lambda: _late_fees(deps))


async def run(deps: Deps, interval: float | None = None) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(interval or deps.settings.rent_worker_interval_s)
    passed_on: dt.date | None = None
    while True:
        started = loop.time()
        with metrics.background_pass("rent"):
            day = today()
            if passed_on != day and await _step(daily(deps)):
                passed_on = day  # a failed day is tried again at the next pass
            await _step(autopay_charges.run_due(deps))
            await _step(payment_events.reconcile(deps))
        await asyncio.sleep(pace.ran(started, loop.time()))


async def _step(work: Awaitable[object]) -> bool:
    """One step of a pass; whether it succeeded (a database hiccup must not end the worker)."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("rent worker step failed")
        return False
    return True
